//! Fuzz target for the contacts CSV importer (bolero's test engine under `cargo test`: the
//! committed corpus in `tests/__fuzz__/csv_import/corpus/`, then random files for a bounded
//! time). Whatever the file, the import never panics, never half-imports, and reports
//! exactly the rows it did not take.

use std::time::Duration;

use bouquet_client::LocalStore;

#[test]
fn csv_import() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    bolero::check!().with_test_time(Duration::from_secs(3)).for_each(|bytes: &[u8]| {
        let before = store.contacts().unwrap().len();
        match store.import_contacts_csv(bytes) {
            Ok(report) => {
                let after = store.contacts().unwrap().len();
                assert_eq!(after, before + report.imported, "the report counts what was imported");
                assert!(report.problems.iter().all(|p| !p.reason.is_empty()), "every refused row says why");
            }
            // A file without a header naming the columns is refused whole.
            Err(e) => {
                assert!(!e.to_string().is_empty());
                assert_eq!(store.contacts().unwrap().len(), before, "a refused file imports nothing");
            }
        }
    });
}
