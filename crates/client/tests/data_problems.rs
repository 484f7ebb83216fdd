//! A data file the app cannot use — damaged, not a database, or from a newer Bouquet — is
//! told apart from a passing failure, so the app offers its way out (keep a copy and start
//! fresh) instead of failing; the copy keeps the file as it was.

use bouquet_client::store::{DATABASE_FILE, set_aside_data};
use bouquet_client::{ClientError, DataProblem, LocalStore};

fn problem_of(dir: &std::path::Path) -> (DataProblem, String) {
    match LocalStore::open(dir) {
        Err(ClientError::Unusable { problem, message }) => (problem, message),
        Err(other) => panic!("expected an unusable data file, got {other:?}"),
        Ok(_) => panic!("the file opened"),
    }
}

#[test]
fn a_damaged_file_is_named_and_kept_aside_for_a_fresh_start() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = b"these bytes were a spreadsheet once, not a database at all; ".repeat(100);
    std::fs::write(dir.path().join(DATABASE_FILE), &garbage).unwrap();
    let (problem, message) = problem_of(dir.path());
    assert_eq!(problem, DataProblem::Damaged);
    assert!(message.contains("damaged") && message.contains(DATABASE_FILE), "{message}");
    let Err(error) = LocalStore::open(dir.path()) else { panic!("the damaged file opened") };
    assert_eq!(error.code(), "data_damaged");

    let kept = set_aside_data(dir.path(), true).unwrap().expect("a copy is kept");
    assert_eq!(std::fs::read(&kept).unwrap(), garbage, "the copy is the file as it was");
    assert!(kept.file_name().unwrap().to_string_lossy().starts_with("bouquet.db.unreadable-"));
    let fresh = LocalStore::open(dir.path()).expect("a fresh start opens");
    assert!(fresh.contacts().unwrap().is_empty());
}

#[test]
fn a_file_from_a_newer_bouquet_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    drop(LocalStore::open(dir.path()).unwrap());
    let path = dir.path().join(DATABASE_FILE);
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 999).unwrap();
    let before = std::fs::read(&path).unwrap();
    let (problem, message) = problem_of(dir.path());
    assert_eq!(problem, DataProblem::Newer);
    assert!(message.contains("newer version"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "a newer file is not migrated or changed");
    let version: i64 = rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 999);
}
