//! A large CSV handed over in pieces (as the app's window sends it) and imported from the
//! staging file with progress, on real files.

mod common;

use std::time::{Duration, SystemTime};

use bouquet_client::ClientError;
use bouquet_client::store::csv_io::{ImportPhase, ImportProgress};
use bouquet_client::store::uploads::MAX_UPLOAD_BYTES;

use common::store;

fn crm_export(rows: usize) -> String {
    let mut csv = String::from("Names,Email,Phone,Wedding Date,Location,Budget,Tags\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "Couple {i} & Partner,couple{i}@example.com,07700 9{:05},2027-06-12,\"Bath, UK\",\"2,500.00\",fair;summer\n",
            i % 100_000
        ));
    }
    csv
}

fn staged_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("uploads")).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn a_large_file_sent_in_pieces_imports_whole_with_progress_in_order() {
    let (dir, store) = store();
    let csv = crm_export(20_000);
    let id = store.begin_upload().unwrap();
    let mut held = 0;
    for piece in csv.as_bytes().chunks(64 * 1024) {
        held = store.append_upload(id, held, piece).unwrap();
    }
    assert_eq!(held, csv.len() as u64);

    let mut seen: Vec<ImportProgress> = Vec::new();
    let report = store.import_upload_as_contacts(id, &mut |p| seen.push(p)).unwrap();
    assert_eq!((report.imported, report.problems.len()), (20_000, 0));
    assert_eq!(store.contacts().unwrap().len(), 20_000);
    // A screen asks for a page: the first by name, and how many there are.
    let page = store.contact_page("", Some(200)).unwrap();
    assert_eq!((page.contacts.len(), page.total), (200, 20_000));
    assert_eq!(page.contacts[0].names, "Couple 0 & Partner");
    let page = store.contact_page("couple12345", Some(200)).unwrap();
    assert_eq!((page.contacts.len(), page.total), (1, 1));
    let page = store.contact_page("bath", Some(50)).unwrap();
    assert_eq!((page.contacts.len(), page.total), (50, 20_000));
    assert_eq!(store.pending_changes().unwrap(), 20_000);

    // Reading, then saving, then checking; each phase counts up and ends at its total.
    let phases: Vec<ImportPhase> = seen.iter().map(|p| p.phase).collect::<Vec<_>>().into_iter().fold(Vec::new(), |mut v, p| {
        if v.last() != Some(&p) {
            v.push(p);
        }
        v
    });
    assert_eq!(phases, [ImportPhase::Reading, ImportPhase::Saving, ImportPhase::Checking]);
    for phase in phases {
        let of: Vec<&ImportProgress> = seen.iter().filter(|p| p.phase == phase).collect();
        assert!(of.len() >= 10, "{phase:?} reported {} times for 20,000 rows", of.len());
        assert!(of.windows(2).all(|w| w[0].done <= w[1].done), "{phase:?} went backwards");
        let last = of.last().unwrap();
        let total = if phase == ImportPhase::Reading { csv.len() as u64 } else { 20_000 };
        assert_eq!((last.done, last.total), (total, total), "{phase:?}");
        assert!(of[0].done < total / 5, "{phase:?} first reported at {} of {total}", of[0].done);
    }
    // The staging copy of couples' details is gone.
    assert_eq!(staged_files(dir.path()), 0);
    let err = store.import_upload_as_contacts(id, &mut |_| {}).unwrap_err();
    assert!(matches!(err, ClientError::NotFound(_)), "{err:?}");
}

#[test]
fn a_piece_sent_twice_or_out_of_order_is_refused_and_the_file_stays_whole() {
    let (_dir, store) = store();
    let csv = crm_export(300);
    let pieces: Vec<&[u8]> = csv.as_bytes().chunks(1000).collect();
    let id = store.begin_upload().unwrap();
    let mut held = store.append_upload(id, 0, pieces[0]).unwrap();
    // The same piece again (a retried call): refused, saying where to go on from.
    let err = store.append_upload(id, 0, pieces[0]).unwrap_err();
    assert!(err.to_string().contains(&format!("send from byte {held}")), "{err}");
    // A piece skipped ahead: refused too.
    let err = store.append_upload(id, held + 1000, pieces[2]).unwrap_err();
    assert!(matches!(err, ClientError::Invalid(_)), "{err:?}");
    for piece in &pieces[1..] {
        held = store.append_upload(id, held, piece).unwrap();
    }
    let report = store.import_upload_as_contacts(id, &mut |_| {}).unwrap();
    assert_eq!((report.imported, report.problems.len()), (300, 0), "{:?}", report.problems.first());
}

#[test]
fn a_bad_file_imports_nothing_and_leaves_no_copy_behind() {
    let (dir, store) = store();
    let id = store.begin_upload().unwrap();
    store.append_upload(id, 0, b"email,phone\nx@example.com,\n").unwrap();
    let err = store.import_upload_as_contacts(id, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("no 'names' column"), "{err}");
    assert_eq!(staged_files(dir.path()), 0);
    assert!(store.contacts().unwrap().is_empty());
}

#[test]
fn a_file_past_the_limit_is_refused_before_it_fills_the_disk() {
    let (dir, store) = store();
    let id = store.begin_upload().unwrap();
    // Stand in for half a gigabyte already received without writing it (a sparse file).
    let staged = dir.path().join("uploads").join(format!("{id}.part"));
    std::fs::OpenOptions::new().write(true).open(&staged).unwrap().set_len(MAX_UPLOAD_BYTES - 10).unwrap();
    let err = store.append_upload(id, MAX_UPLOAD_BYTES - 10, &[b'x'; 11]).unwrap_err();
    assert!(err.to_string().contains("larger than 512 MB"), "{err}");
    assert!(!staged.exists(), "the refused upload is removed");
}

#[test]
fn cancelled_abandoned_and_forgotten_uploads_are_removed() {
    let (dir, store) = store();
    let cancelled = store.begin_upload().unwrap();
    store.append_upload(cancelled, 0, b"names\nAnna\n").unwrap();
    store.cancel_upload(cancelled).unwrap();
    store.cancel_upload(cancelled).unwrap(); // twice is fine
    assert!(matches!(store.append_upload(cancelled, 11, b"Ben\n"), Err(ClientError::NotFound(_))));
    assert_eq!(staged_files(dir.path()), 0);

    // One left by a crash a day ago goes when the next upload begins; a fresh one stays.
    let abandoned = store.begin_upload().unwrap();
    let path = dir.path().join("uploads").join(format!("{abandoned}.part"));
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(24 * 3600)).unwrap();
    let fresh = store.begin_upload().unwrap();
    assert!(!path.exists());
    assert_eq!(staged_files(dir.path()), 1);

    // Forgetting the account's data (after deleting it) takes uploads in progress too.
    store.append_upload(fresh, 0, b"names,email\nAnna,anna@example.com\n").unwrap();
    store.forget_everything().unwrap();
    assert_eq!(staged_files(dir.path()), 0);
}

#[test]
fn a_wrong_file_lists_the_first_thousand_problems_and_counts_them_all() {
    let (_dir, store) = store();
    let mut csv = String::from("names,email\nAnna & Ben,anna@example.com\n");
    for i in 0..1500 {
        csv.push_str(&format!(",nameless{i}@example.com\n"));
    }
    let report = store.import_contacts_csv(csv.as_bytes()).unwrap();
    assert_eq!((report.imported, report.rows_with_problems, report.problems.len()), (1, 1500, 1000));
    assert_eq!(report.problems[0].line, 3);
}

#[test]
fn an_excel_windows_csv_keeps_its_accents() {
    let (_dir, store) = store();
    // Windows-1252, as Excel on Windows saves "CSV": é is 0xE9, á is 0xE1.
    let csv = b"names,location\nJos\xe9 & Ana,M\xe1laga\nZo\xeb & Ben,Bath\n";
    let report = store.import_contacts_csv(&csv[..]).unwrap();
    assert_eq!((report.imported, report.rows_with_problems), (2, 0), "{:?}", report.problems);
    let jose = store.search_contacts("ana").unwrap().remove(0);
    assert_eq!((jose.names.as_str(), jose.location.as_deref()), ("José & Ana", Some("Málaga")));
    assert_eq!(store.search_contacts("ben").unwrap()[0].names, "Zoë & Ben");
}

#[test]
fn an_account_deleted_while_its_file_is_read_gets_nothing_back() {
    let (_dir, store) = store();
    let csv = crm_export(1_200);
    let id = store.begin_upload().unwrap();
    store.append_upload(id, 0, csv.as_bytes()).unwrap();
    // The deletion lands while the file is being read (between two progress reports).
    let mut forgot = false;
    let err = store
        .import_upload_as_contacts(id, &mut |p| {
            if p.phase == ImportPhase::Reading && !forgot {
                forgot = true;
                store.forget_everything().unwrap();
            }
        })
        .unwrap_err();
    assert!(err.to_string().contains("deleted while the file was being read"), "{err}");
    assert!(store.contacts().unwrap().is_empty());
    assert_eq!(store.pending_changes().unwrap(), 0);
}
