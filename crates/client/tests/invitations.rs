//! Invitations: drafts with a live preview, and bulk queueing with smart batching.

mod common;

use bouquet_client::store::contacts::{ContactInput, ContactKind};
use bouquet_client::store::invitations::{InvitationInput, InvitationStatus};
use bouquet_client::{ClientError, LocalStore};
use bouquet_core::template::DEFAULT_TEMPLATE;
use bouquet_core::ReferralCode;
use chrono::{Months, NaiveDate};

fn signed_in() -> (tempfile::TempDir, LocalStore) {
    let (dir, store) = common::store();
    store.save_session("https://bouquet.example", &common::supplier_session("WXYZ", "Golden Hour Studio")).unwrap();
    (dir, store)
}

#[test]
fn a_draft_has_its_own_code_and_the_rendered_message() {
    let (_dir, store) = signed_in();
    let preview = store.preview_invitation(DEFAULT_TEMPLATE, "Anna & Ben", NaiveDate::from_ymd_opt(2027, 6, 12)).unwrap();
    assert!(preview.contains("Dear Anna & Ben") && preview.contains("Saturday 12 June 2027") && preview.contains("Golden Hour Studio"));
    let draft = store
        .draft_invitation(InvitationInput {
            couple_names: "Anna & Ben".into(),
            email: "Anna@Example.com".into(),
            wedding_date: NaiveDate::from_ymd_opt(2027, 6, 12),
            message_template: DEFAULT_TEMPLATE.into(),
            discount_offered: Some("10% off".into()),
            forms_shared: vec!["Timeline questionnaire".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(draft.status, InvitationStatus::Draft);
    assert_eq!(draft.email, "anna@example.com");
    let code = ReferralCode::parse(&draft.code).unwrap();
    assert_eq!(code.namespace(), "WXYZ");
    assert_eq!(draft.link, format!("https://bouquet.example/r/{code}"));
    assert!(draft.personal_message.contains(&draft.link), "the message carries this invitation's own link");
    assert_eq!(store.invitations(Some(InvitationStatus::Draft)).unwrap(), vec![draft]);

    for (template, reason) in [("Hi {name} {link}", "unknown placeholder"), ("Hi {couple_names}", "never includes {link}")] {
        let err = store
            .draft_invitation(InvitationInput { couple_names: "A".into(), email: "a@example.com".into(), message_template: template.into(), ..Default::default() })
            .unwrap_err();
        assert!(matches!(err, ClientError::Invalid(_)) && err.to_string().contains(reason), "{err}");
    }
    assert_eq!(store.invitations(None).unwrap().len(), 1, "refused drafts left nothing behind");
    assert_eq!(store.count_codes(None).unwrap(), 1, "not even their codes");
}

/// The bulk picker's page: couples with an email only, a page at a time, searchable.
#[test]
fn the_picker_pages_couples_with_an_email() {
    let (_dir, store) = signed_in();
    for i in 0..250 {
        let location = if i % 50 == 0 { "Bath" } else { "York" };
        store
            .create_contact(ContactInput { names: format!("Couple {i:03}"), email: Some(format!("c{i}@example.com")), location: Some(location.into()), ..Default::default() })
            .unwrap();
    }
    store.create_contact(ContactInput { names: "Couple No Email".into(), location: Some("Bath".into()), ..Default::default() }).unwrap();
    store
        .create_contact(ContactInput { kind: ContactKind::Supplier, names: "Couple Florist".into(), email: Some("flo@example.com".into()), location: Some("Bath".into()), ..Default::default() })
        .unwrap();
    let page = store.invitable_page("", Some(200)).unwrap();
    assert_eq!((page.contacts.len(), page.total), (200, 250), "the supplier and the couple without an email are not offered");
    assert_eq!(page.contacts[0].names, "Couple 000");
    let bath = store.invitable_page("bath", Some(200)).unwrap();
    assert_eq!((bath.contacts.len(), bath.total), (5, 5));
    assert!(bath.contacts.iter().all(|c| c.email.is_some() && c.kind == ContactKind::Couple));
    // The contact list itself still has everyone.
    assert_eq!(store.contact_page("bath", Some(200)).unwrap().total, 7);
}

#[test]
fn bulk_queues_urgent_weddings_first_in_batches_of_ten() {
    let (_dir, store) = signed_in();
    let today = NaiveDate::from_ymd_opt(2027, 1, 15).unwrap();
    let in_months = |m: u32| today.checked_add_months(Months::new(m)).unwrap();
    let mut ids = Vec::new();
    // 12 future, 6 soon (one exactly 3 months away), 5 urgent, then 3 to skip.
    let dated = (0..12).map(|_| Some(in_months(9))).chain((0..5).map(|_| Some(in_months(4)))).chain([Some(in_months(3))]).chain((0..5).map(|_| Some(in_months(1))));
    for (i, date) in dated.enumerate() {
        let c = store
            .create_contact(ContactInput { names: format!("Couple {i}"), email: Some(format!("c{i}@example.com")), wedding_date: date, ..Default::default() })
            .unwrap();
        ids.push(c.contact.id);
    }
    let no_email = store.create_contact(ContactInput { names: "No Email".into(), wedding_date: Some(in_months(1)), ..Default::default() }).unwrap();
    let past = store.create_contact(ContactInput { names: "Married".into(), email: Some("m@example.com".into()), wedding_date: Some(today.pred_opt().unwrap()), ..Default::default() }).unwrap();
    let florist = store.create_contact(ContactInput { kind: ContactKind::Supplier, names: "Flo".into(), email: Some("flo@example.com".into()), ..Default::default() }).unwrap();
    ids.extend([no_email.contact.id, past.contact.id, florist.contact.id]);

    let result = store.queue_bulk_invitations(&ids, DEFAULT_TEMPLATE, Some("£50 off".into()), 90, today).unwrap();
    assert_eq!(result.queued, 23);
    let shape: Vec<(usize, usize, usize, usize)> = result.batches.iter().map(|b| (b.number, b.urgent, b.soon, b.future)).collect();
    assert_eq!(shape, vec![(0, 5, 5, 0), (1, 0, 1, 9), (2, 0, 0, 3)]);
    let reasons: Vec<&str> = result.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(reasons.len(), 3);
    assert!(reasons.contains(&"no email address") && reasons.contains(&"the wedding has already happened") && reasons.contains(&"a supplier, not a couple"));
    assert_eq!((result.predicted_conversions, result.prediction_rate_bp), (6, 2_500), "23 × 25% ≈ 5.75 → 6");
    let t0 = chrono::DateTime::parse_from_rfc3339(&result.batches[0].send_after).unwrap();
    let t1 = chrono::DateTime::parse_from_rfc3339(&result.batches[1].send_after).unwrap();
    assert_eq!((t1 - t0).num_seconds(), 90, "paced");

    let queued = store.invitations(Some(InvitationStatus::Queued)).unwrap();
    assert_eq!(queued.len(), 23);
    assert_eq!(queued[0].batch_number, Some(0));
    assert_eq!(queued[0].wedding_date, Some(in_months(1)), "urgent first");
    assert!(queued.iter().all(|i| i.discount_offered.as_deref() == Some("£50 off")));
    let codes: std::collections::HashSet<&str> = queued.iter().map(|i| i.code.as_str()).collect();
    assert_eq!(codes.len(), 23, "every invitation has its own code");
    let counts = store.invitation_counts().unwrap();
    assert!(counts.contains(&(InvitationStatus::Queued, 23)));
    let outbox = store.outbox(1000).unwrap();
    assert_eq!(outbox.iter().filter(|e| e.entity == "invitation").count(), 23);
}
