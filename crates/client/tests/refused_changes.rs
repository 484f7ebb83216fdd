//! A change the server refuses (docs/sync.md, "Refused changes"), on both databases: it
//! no longer blocks the outbox — it is set aside with the server's reason, the changes
//! after it sync — and the user fixes it (saving the record again sends it afresh) or
//! discards it (a record the server never had leaves this device).

mod sync_support;

use bouquet_client::store::DATABASE_FILE;
use bouquet_server::on_both_backends;
use bouquet_server::testing::{TestDb, TestServer};
use sync_support::{Device, supplier};
use uuid::Uuid;

/// Names the server refuses (at most 200 characters) in a contact and its queued change,
/// as an older app that allowed them would have written them.
fn write_too_long_names(device: &Device, id: Uuid) -> String {
    let long = "Amelia & Benedict ".repeat(15);
    let conn = rusqlite::Connection::open(device.dir.path().join(DATABASE_FILE)).unwrap();
    conn.execute("UPDATE contacts SET names = ?1 WHERE id = ?2", rusqlite::params![long, id.to_string()]).unwrap();
    let changed = conn
        .execute("UPDATE outbox SET payload = json_set(payload, '$.fields.names', ?1) WHERE entity = 'contact' AND entity_id = ?2", rusqlite::params![long, id.to_string()])
        .unwrap();
    assert_eq!(changed, 1);
    long
}

async fn a_refused_change_is_set_aside_shown_and_fixed_or_discarded(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let device = Device::signed_in(&server, "studio@example.com").await;
    let before = device.contact("Before the refusal");
    let refused = device.contact("Amy & Ben");
    let long = write_too_long_names(&device, refused);
    let after = device.contact("After the refusal");

    // The sync succeeds: the change before and the one after reach the server.
    device.sync().await;
    let on_server = device.server_view(100).await;
    let names_on_server: Vec<&str> = on_server.values().filter_map(|(f, _)| f.get("names").and_then(|n| n.as_str())).collect();
    assert!(names_on_server.contains(&"Before the refusal") && names_on_server.contains(&"After the refusal"), "{names_on_server:?}");
    assert!(!names_on_server.iter().any(|n| n.starts_with("Amelia")), "the refused change was not applied");
    assert_eq!(device.store.sync_status().unwrap().pending, 0, "nothing is stuck in the outbox");

    // It is listed with the server's reason and what it is.
    let listed = device.store.refused_changes().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].entity, "contact");
    assert_eq!(listed[0].entity_id, refused.to_string());
    assert_eq!(listed[0].label.as_deref(), Some(long.as_str()));
    assert_eq!(listed[0].code, "invalid_change");
    assert_eq!(listed[0].reason, "contact.names is longer than 200 characters.", "the server's reason, about this record");
    assert!(listed[0].fields.contains(&"names".to_string()));

    // Changes made later keep flowing.
    let later = device.contact("Made after the refusal");
    device.sync().await;
    assert!(device.server_view(100).await.contains_key(&(bouquet_core::sync::Entity::Contact, later)));

    // Fixed: the user shortens the names and saves; the whole contact goes again.
    device.rename(refused, "Amy & Ben");
    assert!(device.store.refused_changes().unwrap().is_empty(), "saving the record supersedes the refused change");
    device.sync().await;
    let fixed = device.server_view(100).await;
    let (fields, _) = fixed.get(&(bouquet_core::sync::Entity::Contact, refused)).expect("the fixed contact reached the server");
    assert_eq!(fields["names"], "Amy & Ben");
    assert_eq!(fields["kind"], "couple", "every field of the contact was sent again, not only the one edited");

    // Discarded: a contact the server never had leaves this device.
    let second = device.contact("Cara & Dan");
    write_too_long_names(&device, second);
    device.sync().await;
    let listed = device.store.refused_changes().unwrap();
    assert_eq!(listed.len(), 1);
    device.store.discard_refused(listed[0].id).unwrap();
    assert!(device.store.refused_changes().unwrap().is_empty());
    assert!(device.store.contact(second).unwrap().is_none(), "a contact the server never had is removed");
    assert_eq!(device.store.discard_refused(listed[0].id).unwrap_err().code(), "not_found");
    device.sync().await;
    assert_eq!(device.store.sync_status().unwrap().pending, 0);
    // The device and the server agree on everything else.
    assert_eq!(device.records(), device.server_view(100).await);
    let _ = (before, after);
    server.stop().await;
}

on_both_backends!(a_refused_change_is_set_aside_shown_and_fixed_or_discarded);
