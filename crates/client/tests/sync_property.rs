//! Property: 2–5 devices of one account make random creates, edits and deletes of
//! contacts, codes and invitations, go offline at random and sync partially; once all
//! of them sync, every device holds exactly the server's records, and every write made
//! is either the field's final value or was overwritten by another write to that field.

mod sync_support;

use std::collections::{BTreeMap, BTreeSet};

use bouquet_client::store::codes::CodeInput;
use bouquet_client::store::invitations::InvitationInput;
use bouquet_client::sync;
use bouquet_core::ReferralMethod;
use bouquet_core::sync::Entity;
use bouquet_server::testing::{TestDb, TestServer};
use proptest::prelude::*;
use serde_json::Value;
use sync_support::{Device, supplier};
use uuid::Uuid;

#[derive(Debug, Clone)]
enum Op {
    CreateContact(usize),
    RenameContact(usize, usize, u8),
    DeleteContact(usize, usize),
    CreateCode(usize),
    EditCode(usize, usize, u8),
    DeleteCode(usize, usize),
    DraftInvitation(usize),
    EditInvitation(usize, usize, u8),
    DeleteInvitation(usize, usize),
    ToggleOffline(usize),
    Sync(usize),
    /// One push of at most 2 changes and one pull page of at most 2 records.
    PartialSync(usize),
}

fn op(devices: usize) -> impl Strategy<Value = Op> {
    let d = 0..devices;
    prop_oneof![
        3 => d.clone().prop_map(Op::CreateContact),
        3 => (d.clone(), any::<usize>(), any::<u8>()).prop_map(|(a, b, c)| Op::RenameContact(a, b, c)),
        1 => (d.clone(), any::<usize>()).prop_map(|(a, b)| Op::DeleteContact(a, b)),
        2 => d.clone().prop_map(Op::CreateCode),
        2 => (d.clone(), any::<usize>(), any::<u8>()).prop_map(|(a, b, c)| Op::EditCode(a, b, c)),
        1 => (d.clone(), any::<usize>()).prop_map(|(a, b)| Op::DeleteCode(a, b)),
        2 => d.clone().prop_map(Op::DraftInvitation),
        2 => (d.clone(), any::<usize>(), any::<u8>()).prop_map(|(a, b, c)| Op::EditInvitation(a, b, c)),
        1 => (d.clone(), any::<usize>()).prop_map(|(a, b)| Op::DeleteInvitation(a, b)),
        1 => d.clone().prop_map(Op::ToggleOffline),
        3 => d.clone().prop_map(Op::Sync),
        2 => d.prop_map(Op::PartialSync),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (2usize..=5).prop_flat_map(|devices| (Just(devices), prop::collection::vec(op(devices), 10..60)))
}

/// Every value written to a field, by anyone: (entity, id, field) → values.
type Writes = BTreeMap<(Entity, Uuid, &'static str), Vec<String>>;

fn live_ids(device: &Device, entity: Entity) -> Vec<Uuid> {
    device.records().into_iter().filter(|((e, _), (_, deleted))| *e == entity && !deleted).map(|((_, id), _)| id).collect()
}

async fn run(server: &TestServer, case: usize, devices: usize, ops: Vec<Op>) {
    let email = format!("studio{case}-{}@example.com", Uuid::now_v7().simple());
    supplier(server, &email).await;
    let mut all = Vec::new();
    for _ in 0..devices {
        all.push(Device::signed_in(server, &email).await);
    }
    let mut offline = vec![false; devices];
    let mut writes: Writes = BTreeMap::new();
    let mut created = BTreeSet::new();
    let mut deleted = BTreeSet::new();
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::CreateContact(d) => {
                let names = format!("Couple {n}");
                let id = all[d].contact(&names);
                created.insert((Entity::Contact, id));
                writes.entry((Entity::Contact, id, "names")).or_default().push(names);
            }
            Op::RenameContact(d, pick, v) => {
                let ids = live_ids(&all[d], Entity::Contact);
                if let Some(id) = ids.get(pick % ids.len().max(1)) {
                    let names = format!("Renamed {n}/{v}");
                    all[d].rename(*id, &names);
                    writes.entry((Entity::Contact, *id, "names")).or_default().push(names);
                }
            }
            Op::DeleteContact(d, pick) => {
                let ids = live_ids(&all[d], Entity::Contact);
                if let Some(id) = ids.get(pick % ids.len().max(1)) {
                    all[d].store.delete_contact(*id).unwrap();
                    deleted.insert((Entity::Contact, *id));
                }
            }
            Op::CreateCode(d) => {
                let code = all[d].store.create_code(CodeInput { method: ReferralMethod::Qr, message: Some(format!("Code {n}")), ..Default::default() }).unwrap();
                created.insert((Entity::Code, code.id));
                writes.entry((Entity::Code, code.id, "message")).or_default().push(format!("Code {n}"));
            }
            Op::EditCode(d, pick, v) => {
                let ids = live_ids(&all[d], Entity::Code);
                if let Some(id) = ids.get(pick % ids.len().max(1)) {
                    let message = format!("Message {n}/{v}");
                    all[d].store.edit_code(*id, Some(&message), None).unwrap();
                    writes.entry((Entity::Code, *id, "message")).or_default().push(message);
                }
            }
            Op::DeleteCode(d, pick) => {
                let ids = live_ids(&all[d], Entity::Code);
                if let Some(id) = ids.get(pick % ids.len().max(1)) {
                    all[d].store.delete_code(*id).unwrap();
                    deleted.insert((Entity::Code, *id));
                }
            }
            Op::DraftInvitation(d) => {
                let input = InvitationInput {
                    couple_names: format!("Invited {n}"),
                    email: format!("invited{n}@example.com"),
                    message_template: "Dear {couple_names}, join us: {link}".into(),
                    ..Default::default()
                };
                let invitation = all[d].store.draft_invitation(input).unwrap();
                created.insert((Entity::Invitation, invitation.id));
                writes.entry((Entity::Invitation, invitation.id, "personal_message")).or_default().push(invitation.personal_message);
            }
            Op::EditInvitation(d, pick, v) => {
                let ids = live_ids(&all[d], Entity::Invitation);
                if let Some(id) = ids.get(pick % ids.len().max(1)) {
                    let message = format!("Edited {n}/{v}");
                    all[d].store.edit_invitation_message(*id, &message).unwrap();
                    writes.entry((Entity::Invitation, *id, "personal_message")).or_default().push(message);
                }
            }
            Op::DeleteInvitation(d, pick) => {
                let ids = live_ids(&all[d], Entity::Invitation);
                if let Some(id) = ids.get(pick % ids.len().max(1)) {
                    all[d].store.delete_invitation(*id).unwrap();
                    deleted.insert((Entity::Invitation, *id));
                }
            }
            Op::ToggleOffline(d) => offline[d] = !offline[d],
            Op::Sync(d) if !offline[d] => {
                all[d].sync().await;
            }
            Op::PartialSync(d) if !offline[d] => {
                let server = all[d].server();
                sync::push_once(&all[d].store, &server, 2).await.unwrap();
                sync::pull_once(&all[d].store, &server, 2).await.unwrap();
            }
            Op::Sync(_) | Op::PartialSync(_) => {}
        }
    }
    // Everyone comes online and syncs; a second round delivers what the last pushed.
    for _ in 0..2 {
        for device in &all {
            device.sync().await;
        }
    }
    let truth = all[0].server_view(1000).await;
    for (i, device) in all.iter().enumerate() {
        assert_eq!(device.records(), truth, "device {i} differs from the server");
        assert_eq!(device.store.sync_status().unwrap().pending, 0);
    }
    for key in &created {
        assert!(truth.contains_key(key), "{key:?} was made but never reached the server");
    }
    for key in &deleted {
        assert!(truth[key].1, "{key:?} was deleted but is alive");
    }
    for ((entity, id, field), values) in &writes {
        let last = truth[&(*entity, *id)].0[*field].clone();
        let last = last.as_str().map(str::to_string).unwrap_or_else(|| Value::to_string(&last));
        assert!(values.contains(&last), "{entity:?} {id} {field} = {last:?}, which nobody wrote ({values:?})");
        if values.len() == 1 {
            assert_eq!(last, values[0], "the only write to {entity:?} {id} {field} was lost");
        }
    }
}

fn check(db: TestDb, cases: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = runtime.block_on(TestServer::start(&db));
    let case = std::sync::atomic::AtomicUsize::new(0);
    proptest!(ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }, |((devices, ops) in scenario())| {
        let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        runtime.block_on(run(&server, n, devices, ops));
    });
    runtime.block_on(server.stop());
}

#[test]
fn devices_converge_on_sqlite() {
    check(TestDb::sqlite(), 24);
}

#[test]
fn devices_converge_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let Some(db) = runtime.block_on(TestDb::postgres()) else { return };
    drop(runtime);
    check(db, 12);
}
