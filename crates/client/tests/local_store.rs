//! The local store on real SQLite files: contacts, fairs, offline codes, the outbox.

mod common;

use std::collections::HashSet;

use bouquet_client::store::codes::CodeInput;
use bouquet_client::store::contacts::{ContactInput, ContactKind};
use bouquet_client::store::fairs::FairInput;
use bouquet_client::{ClientError, LocalStore};
use bouquet_core::{Money, ReferralCode, ReferralMethod, VendorType};
use chrono::{NaiveDate, Utc};
use uuid::Uuid;

use common::{sign_in, store};

fn couple(names: &str, email: Option<&str>, phone: Option<&str>) -> ContactInput {
    ContactInput {
        kind: ContactKind::Couple,
        names: names.into(),
        email: email.map(Into::into),
        phone: phone.map(Into::into),
        wedding_date: NaiveDate::from_ymd_opt(2027, 6, 12),
        location: Some("Bath".into()),
        budget: Some(Money { amount_minor: 250_000, currency: "gbp".into() }),
        style: Some("rustic".into()),
        notes: Some("Met at the Bath fair".into()),
        tags: vec!["fair".into(), "Fair".into(), "summer".into()],
        marketing_consent: true,
        ..Default::default()
    }
}

#[test]
fn contacts_are_created_edited_searched_and_deleted() {
    let (_dir, store) = store();
    let anna = store.create_contact(couple("Anna & Ben", Some("Anna@Example.com"), Some("+44 7700 900-123"))).unwrap();
    assert!(anna.possible_duplicates.is_empty());
    let c = &anna.contact;
    assert_eq!(c.email.as_deref(), Some("anna@example.com"));
    assert_eq!(c.phone.as_deref(), Some("+447700900123"));
    assert_eq!(c.tags, vec!["fair", "summer"], "tags de-duplicated ignoring case");
    assert_eq!(c.budget, Some(Money { amount_minor: 250_000, currency: "GBP".into() }));
    assert_eq!(store.contact(c.id).unwrap().as_ref(), Some(c));

    store
        .create_contact(ContactInput {
            kind: ContactKind::Supplier,
            names: "Zoë Brontë".into(),
            business_name: Some("Petal & Stem".into()),
            vendor_type: Some(VendorType::Florist),
            email: Some("zoe@petal.example".into()),
            ..Default::default()
        })
        .unwrap();
    let names = |found: Vec<bouquet_client::store::contacts::Contact>| found.into_iter().map(|c| c.names).collect::<Vec<_>>();
    assert_eq!(names(store.search_contacts("ann").unwrap()), vec!["Anna & Ben"]);
    assert_eq!(names(store.search_contacts("petal").unwrap()), vec!["Zoë Brontë"]);
    assert_eq!(names(store.search_contacts("zoe bronte").unwrap()), vec!["Zoë Brontë"], "accents ignored");
    assert_eq!(names(store.search_contacts("summer bath").unwrap()), vec!["Anna & Ben"]);
    assert!(store.search_contacts("\"unbalanced AND (").unwrap().is_empty(), "FTS syntax is just text");
    assert_eq!(store.search_contacts("  ").unwrap().len(), 2);

    let mut edit = couple("Anna & Benedict", Some("anna@example.com"), None);
    edit.tags = vec!["vip".into()];
    let edited = store.update_contact(c.id, edit).unwrap().contact;
    assert_eq!(edited.names, "Anna & Benedict");
    assert_eq!(edited.phone, None);
    assert_eq!(names(store.search_contacts("benedict").unwrap()), vec!["Anna & Benedict"]);
    assert!(store.search_contacts("summer").unwrap().is_empty(), "the index follows edits");

    store.delete_contact(c.id).unwrap();
    assert_eq!(store.contact(c.id).unwrap(), None);
    assert!(store.search_contacts("benedict").unwrap().is_empty());
    assert!(matches!(store.delete_contact(c.id), Err(ClientError::NotFound(_))));
    assert!(matches!(store.update_contact(c.id, couple("X", None, None)), Err(ClientError::NotFound(_))));
    assert_eq!(store.contacts().unwrap().len(), 1);
}

#[test]
fn same_email_or_phone_is_saved_with_a_warning() {
    let (_dir, store) = store();
    let first = store.create_contact(couple("Anna & Ben", Some("anna@example.com"), Some("07700 900123"))).unwrap();
    let by_email = store.create_contact(couple("Anna Smith", Some("ANNA@example.com "), None)).unwrap();
    assert_eq!(by_email.possible_duplicates.iter().map(|c| c.id).collect::<Vec<_>>(), vec![first.contact.id]);
    let by_phone = store.create_contact(couple("Ben Jones", None, Some("07700-900-123"))).unwrap();
    assert_eq!(by_phone.possible_duplicates.iter().map(|c| c.id).collect::<Vec<_>>(), vec![first.contact.id]);
    assert_eq!(store.contacts().unwrap().len(), 3, "warned, not refused");
}

#[test]
fn bad_contacts_are_refused_with_the_reason() {
    let (_dir, store) = store();
    let cases = [
        (couple("", None, None), "names are required"),
        (couple("A", Some("not-an-email"), None), "not an email address"),
        (couple("A", None, Some("call me maybe")), "not a phone number"),
        (ContactInput { names: "A".into(), budget: Some(Money { amount_minor: -1, currency: "GBP".into() }), ..Default::default() }, "negative"),
        (ContactInput { names: "A".into(), budget: Some(Money { amount_minor: 1, currency: "pounds".into() }), ..Default::default() }, "currency"),
        (ContactInput { names: "A".into(), tags: vec!["a,b".into()], ..Default::default() }, "comma"),
        (ContactInput { names: "x".repeat(201), ..Default::default() }, "longer than 200"),
    ];
    for (input, reason) in cases {
        let err = store.create_contact(input).unwrap_err();
        assert!(matches!(err, ClientError::Invalid(_)) && err.to_string().contains(reason), "{err}");
    }
    assert!(store.contacts().unwrap().is_empty());
    assert_eq!(store.pending_changes().unwrap(), 0, "nothing half-written to the outbox");
}

#[test]
fn every_write_and_its_outbox_entry_commit_together() {
    let (dir, store) = store();
    sign_in(&store, "ABCD");
    let anna = store.create_contact(couple("Anna & Ben", Some("anna@example.com"), None)).unwrap().contact;
    store.update_contact(anna.id, couple("Anna & Ben", Some("anna@example.com"), Some("07700900123"))).unwrap();
    let fair = store.create_fair(FairInput { name: "Bath Wedding Show".into(), ..Default::default() }).unwrap();
    store.create_code(CodeInput { method: ReferralMethod::Qr, fair_id: Some(fair.id), ..Default::default() }).unwrap();
    store.delete_contact(anna.id).unwrap();
    let entries = store.outbox(100).unwrap();
    let summary: Vec<(String, String)> = entries.iter().map(|e| (e.entity.clone(), e.op.clone())).collect();
    let expected = [("contact", "upsert"), ("contact", "upsert"), ("fair", "upsert"), ("code", "upsert"), ("contact", "delete")];
    assert_eq!(summary, expected.map(|(a, b)| (a.to_string(), b.to_string())));
    assert!(entries.windows(2).all(|w| w[0].seq < w[1].seq));
    // The edit carries only the field it changed, so it cannot overwrite another
    // device's concurrent edit of a different field.
    let edit: serde_json::Value = serde_json::from_str(&entries[1].payload).unwrap();
    assert_eq!(edit["fields"].as_object().unwrap().keys().collect::<Vec<_>>(), ["phone"]);

    // Make the outbox refuse writes (as a full disk would): the record must not be
    // written without its outbox entry.
    let raw = rusqlite::Connection::open(dir.path().join("bouquet.db")).unwrap();
    raw.execute_batch("CREATE TRIGGER outbox_refuses BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END;").unwrap();
    let before = store.contacts().unwrap().len();
    assert!(store.create_contact(couple("Cat & Dan", None, None)).is_err());
    assert!(store.create_fair(FairInput { name: "Another fair".into(), ..Default::default() }).is_err());
    assert!(store.create_codes(CodeInput::default(), 10).is_err());
    assert_eq!(store.contacts().unwrap().len(), before);
    assert_eq!(store.fairs().unwrap().len(), 1);
    assert_eq!(store.count_codes(None).unwrap(), 1);
    raw.execute_batch("DROP TRIGGER outbox_refuses;").unwrap();
    assert!(store.create_contact(couple("Cat & Dan", None, None)).is_ok());
}

#[test]
fn codes_need_one_sign_in_then_work_offline_with_the_right_links() {
    let (_dir, store) = store();
    assert!(matches!(store.create_code(CodeInput::default()), Err(ClientError::NotSignedIn)));
    sign_in(&store, "K7Q3");
    let fair = store.create_fair(FairInput { name: "Harrogate Fair".into(), date: NaiveDate::from_ymd_opt(2027, 3, 7), ..Default::default() }).unwrap();
    let qr = store
        .create_code(CodeInput {
            method: ReferralMethod::Qr,
            fair_id: Some(fair.id),
            utm_source: Some("harrogate".into()),
            incentive: Some("£100 off".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(ReferralCode::parse(qr.code.as_str()).unwrap(), qr.code);
    assert_eq!(qr.code.namespace(), "K7Q3");
    assert_eq!(qr.link, format!("https://bouquet.example/r/{}?via=qr&utm_source=harrogate", qr.code));
    let link = store.create_code(CodeInput { method: ReferralMethod::Email, ..Default::default() }).unwrap();
    assert_eq!(link.link, format!("https://bouquet.example/r/{}", link.code));
    assert_eq!(store.count_codes(Some(fair.id)).unwrap(), 1);
    assert!(matches!(
        store.create_code(CodeInput { fair_id: Some(Uuid::now_v7()), ..Default::default() }),
        Err(ClientError::NotFound(_))
    ));
}

#[test]
fn two_devices_make_100_000_codes_each_without_a_collision() {
    let (_a_dir, a) = store();
    let (_b_dir, b) = store();
    // The server gives each device its own namespace at log-in.
    sign_in(&a, "MMMM");
    sign_in(&b, "MMMN");
    let per_device = 100_000;
    let made_a = a.create_codes(CodeInput { method: ReferralMethod::Qr, ..Default::default() }, per_device).unwrap();
    let made_b = b.create_codes(CodeInput { method: ReferralMethod::Qr, ..Default::default() }, per_device).unwrap();
    let mut all = HashSet::new();
    for code in made_a.iter().chain(made_b.iter()) {
        assert!(all.insert(code.code.clone()), "{} made twice", code.code);
    }
    assert_eq!(all.len(), 2 * per_device);
    assert_eq!(a.count_codes(None).unwrap() + b.count_codes(None).unwrap(), 2 * per_device as i64);
    assert_eq!(a.all_code_strings().unwrap().len(), per_device);
}

#[test]
fn csv_import_reports_bad_rows_by_line_and_imports_the_rest() {
    let (dir, store) = store();
    let csv = "\
Names,Email,Phone,Wedding Date,Location,Budget,Currency,Tags,Marketing Consent,Kind,Vendor Type,Business Name
Anna & Ben,anna@example.com,07700 900123,2027-06-12,Bath,\"2,500.50\",GBP,fair;summer,yes,couple,,
,missing@example.com,,,,,,,,,,
Cat & Dan,not-an-email,,,,,,,,,,
Eve & Fay,eve@example.com,,12/09/2027,\"Leeds, UK\",3000,EUR,,no,,,
Gus,gus@example.com,,2027-13-45,,,,,,,,
Hal,,,,,,,,,supplier,florist,Petal & Stem
Ivy,,,,,,,,maybe,,,
Anna Smith,ANNA@example.com,,,,,,,,,,
";
    let report = store.import_contacts_csv(csv.as_bytes()).unwrap();
    assert_eq!(report.imported, 4);
    assert_eq!(report.possible_duplicates, 2, "Anna & Ben and Anna Smith share an email");
    let problems: Vec<(u64, &str)> = report.problems.iter().map(|p| (p.line, p.reason.as_str())).collect();
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert_eq!(problems[0].0, 3);
    assert!(problems[0].1.contains("names are required"));
    assert_eq!(problems[1].0, 4);
    assert!(problems[1].1.contains("not an email address"));
    assert_eq!(problems[2].0, 6);
    assert!(problems[2].1.contains("wedding_date"));
    assert_eq!(problems[3].0, 8);
    assert!(problems[3].1.contains("marketing_consent"));

    let anna = store.search_contacts("anna ben").unwrap().remove(0);
    assert_eq!(anna.budget, Some(Money { amount_minor: 250_050, currency: "GBP".into() }));
    assert_eq!(anna.tags, vec!["fair", "summer"]);
    assert!(anna.marketing_consent);
    let eve = store.search_contacts("eve").unwrap().remove(0);
    assert_eq!(eve.wedding_date, NaiveDate::from_ymd_opt(2027, 9, 12));
    assert_eq!(eve.location.as_deref(), Some("Leeds, UK"));
    let hal = store.search_contacts("petal").unwrap().remove(0);
    assert_eq!((hal.kind, hal.vendor_type), (ContactKind::Supplier, Some(VendorType::Florist)));
    assert_eq!(store.pending_changes().unwrap(), 4);

    // Export, then import the export into a fresh store: the same contacts come back.
    let mut exported = Vec::new();
    assert_eq!(store.export_contacts_csv(&mut exported).unwrap(), 4);
    let copy = LocalStore::open(&dir.path().join("copy")).unwrap();
    let again = copy.import_contacts_csv(exported.as_slice()).unwrap();
    assert_eq!((again.imported, again.problems.len()), (4, 0));
    let strip = |cs: Vec<bouquet_client::store::contacts::Contact>| {
        cs.into_iter().map(|mut c| {
            c.id = Uuid::nil();
            c
        }).collect::<Vec<_>>()
    };
    assert_eq!(strip(copy.contacts().unwrap()), strip(store.contacts().unwrap()));
}

#[test]
fn csv_import_is_all_or_nothing_for_the_good_rows() {
    let (dir, store) = store();
    let raw = rusqlite::Connection::open(dir.path().join("bouquet.db")).unwrap();
    // The 3rd insert fails (as a crash or full disk would): none of the rows stay.
    raw.execute_batch(
        "CREATE TRIGGER third_fails BEFORE INSERT ON contacts WHEN (SELECT COUNT(*) FROM contacts) >= 2
         BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    )
    .unwrap();
    let csv = "names,email\nA,a@example.com\nB,b@example.com\nC,c@example.com\nD,d@example.com\n";
    assert!(store.import_contacts_csv(csv.as_bytes()).is_err());
    assert!(store.contacts().unwrap().is_empty());
    assert_eq!(store.pending_changes().unwrap(), 0);
    let err = store.import_contacts_csv("email,phone\nx@example.com,\n".as_bytes()).unwrap_err();
    assert!(err.to_string().contains("no 'names' column"));
}

#[test]
fn a_lead_captured_at_the_booth_is_a_contact_and_a_timed_lead_on_the_code_shown() {
    use bouquet_client::store::leads::LeadInput;
    let (_dir, store) = store();
    sign_in(&store, "FAHR");
    let fair = store.create_fair(FairInput { name: "Bath Wedding Show".into(), ..Default::default() }).unwrap();
    let other = store.create_fair(FairInput { name: "York Fair".into(), ..Default::default() }).unwrap();
    let code = store.create_code(CodeInput { method: ReferralMethod::Qr, fair_id: Some(fair.id), ..Default::default() }).unwrap();
    let before = Utc::now();
    let lead = store
        .capture_lead(LeadInput {
            fair_id: fair.id,
            code_id: code.id,
            names: "Priya & Sam".into(),
            email: "Priya@Example.com".into(),
            wedding_date: NaiveDate::from_ymd_opt(2027, 9, 18),
            marketing_consent: true,
        })
        .unwrap();
    assert_eq!(lead.code, code.code.as_str());
    assert_eq!(lead.contact.email.as_deref(), Some("priya@example.com"));
    assert!(lead.contact.tags.contains(&"Bath Wedding Show".to_string()));
    let captured = chrono::DateTime::parse_from_rfc3339(&lead.captured_at).unwrap();
    assert!(captured >= before && captured <= Utc::now(), "stamped with the real time of capture");
    assert_eq!(store.search_contacts("priya").unwrap().len(), 1);
    assert_eq!((store.count_leads(Some(fair.id)).unwrap(), store.count_leads(Some(other.id)).unwrap()), (1, 0));
    let last = store.outbox(100).unwrap().pop().unwrap();
    assert_eq!((last.entity.as_str(), last.op.as_str()), ("lead", "upsert"));
    assert!(last.payload.contains(&code.id.to_string()) && last.payload.contains(&lead.captured_at), "{}", last.payload);

    // A code from another fair, an unknown fair, a missing email: refused, nothing written.
    let pending = store.pending_changes().unwrap();
    let wrong_fair = LeadInput { fair_id: other.id, code_id: code.id, names: "A".into(), email: "a@example.com".into(), ..Default::default() };
    assert!(matches!(store.capture_lead(wrong_fair), Err(ClientError::NotFound(_))));
    let no_email = LeadInput { fair_id: fair.id, code_id: code.id, names: "A".into(), ..Default::default() };
    assert!(matches!(store.capture_lead(no_email), Err(ClientError::Invalid(_))));
    assert_eq!(store.pending_changes().unwrap(), pending);
    assert_eq!(store.contacts().unwrap().len(), 1);
}

#[test]
fn the_dashboard_counts_what_this_device_did_by_fair() {
    use bouquet_client::store::leads::LeadInput;
    let (_dir, store) = store();
    sign_in(&store, "DASH");
    assert_eq!(store.dashboard().unwrap().totals.codes_made, 0);
    let bath = store.create_fair(FairInput { name: "Bath".into(), date: NaiveDate::from_ymd_opt(2027, 3, 1), ..Default::default() }).unwrap();
    let york = store.create_fair(FairInput { name: "York".into(), date: NaiveDate::from_ymd_opt(2027, 4, 1), ..Default::default() }).unwrap();
    let codes = store.create_codes(CodeInput { method: ReferralMethod::Qr, fair_id: Some(bath.id), ..Default::default() }, 3).unwrap();
    store.create_code(CodeInput { fair_id: Some(york.id), ..Default::default() }).unwrap();
    for i in 0..2 {
        let lead = LeadInput { fair_id: bath.id, code_id: codes[0].id, names: format!("C{i}"), email: format!("c{i}@example.com"), ..Default::default() };
        store.capture_lead(lead).unwrap();
    }
    let d = store.dashboard().unwrap();
    assert_eq!((d.totals.codes_made, d.totals.leads_captured, d.totals.contacts), (4, 2, 2));
    let per: Vec<(&str, i64, i64)> = d.by_fair.iter().map(|f| (f.name.as_str(), f.codes_made, f.leads_captured)).collect();
    assert_eq!(per, vec![("York", 1, 0), ("Bath", 3, 2)], "newest fair first");
}

/// A data folder written by the app before the outbox kept its own numbers (schema 7):
/// the changes waiting there keep theirs, and numbering carries on after the highest
/// ever used, as it did — a number used again would make the server take a new change
/// for one it already applied, and drop it.
#[test]
fn an_upgraded_data_folder_keeps_its_waiting_changes_and_their_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(bouquet_client::store::DATABASE_FILE);
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        for sql in [
            include_str!("../../../migrations/client/0001_init.sql"),
            include_str!("../../../migrations/client/0002_sync.sql"),
            include_str!("../../../migrations/client/0003_code_campaign.sql"),
            include_str!("../../../migrations/client/0004_profile.sql"),
            include_str!("../../../migrations/client/0005_notifications.sql"),
            include_str!("../../../migrations/client/0006_supplier_invitations.sql"),
            include_str!("../../../migrations/client/0007_refused_changes.sql"),
        ] {
            raw.execute_batch(sql).unwrap();
        }
        // Five changes made, the first three sent and acknowledged; two still waiting.
        for n in 1..=5 {
            raw.execute(
                "INSERT INTO outbox (entity, entity_id, op, payload, created_at) VALUES ('contact', ?1, 'upsert', '{\"fields\":{},\"clocks\":{}}', '2026-11-01T10:00:00Z')",
                [format!("00000000-0000-0000-0000-00000000000{n}")],
            )
            .unwrap();
        }
        raw.execute("DELETE FROM outbox WHERE seq <= 3", []).unwrap();
        raw.pragma_update(None, "user_version", 7).unwrap();
    }

    let store = LocalStore::open(dir.path()).unwrap();
    let seqs = |store: &LocalStore| store.outbox(100).unwrap().into_iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(&store), [4, 5], "the waiting changes keep their numbers");
    store.create_contact(couple("Anna & Ben", Some("anna@example.com"), None)).unwrap();
    assert_eq!(seqs(&store), [4, 5, 6], "the next change follows them");

    // Everything sent: the outbox is empty, and numbers still do not go back.
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute("DELETE FROM outbox", []).unwrap();
    store.create_contact(couple("Cat & Dan", Some("cat@example.com"), None)).unwrap();
    assert_eq!(seqs(&store), [7]);
}
