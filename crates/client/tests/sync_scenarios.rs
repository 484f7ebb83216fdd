//! Sync scenarios against a real server on each backend (docs/sync.md): replays, lost
//! responses, gaps, paging under writes, clock skew, deletes, restores, isolation, and
//! an older client.

mod sync_support;

use bouquet_client::store::codes::CodeInput;
use bouquet_client::store::fairs::FairInput;
use bouquet_client::store::leads::LeadInput;
use bouquet_client::sync;
use bouquet_core::ReferralMethod;
use bouquet_core::sync::Entity;
use bouquet_server::on_both_backends;
use bouquet_server::testing::{TestDb, TestServer};
use chrono::Duration;
use serde_json::{Value, json};
use sync_support::{Device, supplier};

async fn two_devices_share_everything_and_leads_become_touches(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let laptop = Device::signed_in(&server, "studio@example.com").await;
    let desktop = Device::signed_in(&server, "studio@example.com").await;

    let fair = laptop.store.create_fair(FairInput { name: "Bath Wedding Show".into(), ..Default::default() }).unwrap();
    let code = laptop.store.create_code(CodeInput { method: ReferralMethod::Qr, fair_id: Some(fair.id), ..Default::default() }).unwrap();
    let lead = laptop
        .store
        .capture_lead(LeadInput { fair_id: fair.id, code_id: code.id, names: "Priya & Sam".into(), email: "priya@example.com".into(), ..Default::default() })
        .unwrap();
    let office = desktop.contact("Office contact");
    laptop.sync().await;
    let report = desktop.sync().await;
    assert_eq!((report.pushed, report.pulled), (1, 4), "fair, code, lead's contact, lead: {report:?}");
    laptop.sync().await;
    assert_eq!(laptop.records(), desktop.records());
    assert_eq!(laptop.records(), laptop.server_view(500).await);
    assert_eq!(desktop.names(office), laptop.names(office));
    assert_eq!(desktop.store.count_leads(Some(fair.id)).unwrap(), 1);
    assert_eq!(desktop.store.sync_status().unwrap().pending, 0);

    // On the server the code is a referral and the lead a touch at its capture time.
    let stats = desktop.store.server_stats().unwrap().expect("stats fetched").value;
    assert_eq!((stats.total_referrals, stats.leads), (1, 1));
    let statuses = desktop.store.code_statuses().unwrap().unwrap().value;
    assert_eq!(statuses.len(), 1);
    assert_eq!((statuses[0].code.as_str(), statuses[0].leads), (code.code.as_str(), 1));
    assert!(lead.captured_at <= chrono::Utc::now().to_rfc3339());
    server.stop().await;
}

async fn replayed_and_lost_pushes_apply_once(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let device = Device::signed_in(&server, "studio@example.com").await;
    device.contact("Anna & Ben");
    device.store.create_code(CodeInput { method: ReferralMethod::Link, ..Default::default() }).unwrap();
    let changes = device.store.changes_to_push(100).unwrap();
    let body = json!({"schema_version": 2, "changes": changes});
    // The push arrives but its answer is lost, then it is replayed ten times.
    for _ in 0..10 {
        let response = device.raw_push(&server, &body).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<Value>().await.unwrap()["applied_through"], 2);
    }
    let after_replays = device.server_view(500).await;
    // The device never heard back, so its sync sends the same changes again: a no-op.
    device.sync().await;
    assert_eq!(device.server_view(500).await, after_replays);
    assert_eq!(device.store.server_stats().unwrap().unwrap().value.total_referrals, 1, "one referral, not eleven");
    assert_eq!(device.store.sync_status().unwrap().pending, 0);
    server.stop().await;
}

async fn a_gapped_push_is_refused_and_nothing_applied(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let device = Device::signed_in(&server, "studio@example.com").await;
    device.contact("Anna & Ben");
    device.contact("Chloe & Dan");
    let mut changes = device.store.changes_to_push(100).unwrap();
    for c in &mut changes {
        c.seq += 3;
    }
    let response = device.raw_push(&server, &json!({"schema_version": 2, "changes": changes})).await;
    assert_eq!(response.status(), 409);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "push_gap");
    assert!(error["message"].as_str().unwrap().contains("send from change 1"), "{error}");
    assert!(device.server_view(500).await.is_empty());
    // The real client then sends from 1 and everything arrives.
    device.sync().await;
    assert_eq!(device.server_view(500).await.len(), 2);
    server.stop().await;
}

async fn paging_while_writes_continue_skips_and_repeats_nothing(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let writer = Device::signed_in(&server, "studio@example.com").await;
    let reader = Device::signed_in(&server, "studio@example.com").await;
    let ids: Vec<_> = (0..12).map(|i| writer.contact(&format!("Couple {i}"))).collect();
    writer.sync().await;
    for limit in [1, 2, 3, 5, 12, 13] {
        let client = reader.server();
        let mut after = 0;
        let mut seen_changes = std::collections::BTreeSet::new();
        let mut latest = std::collections::BTreeMap::new();
        let mut round = 0;
        loop {
            let page = client.pull(after, None, limit).await.unwrap();
            for r in &page.records {
                assert!(seen_changes.insert(r.change), "change {} delivered twice with page size {limit}", r.change);
                assert!(r.change > after);
                latest.insert(r.id, r.fields["names"].clone());
            }
            after = page.next_after;
            // Between pages the other device keeps editing (fewer records than a page,
            // so the pass ends).
            round += 1;
            if round % 2 == 0 && round < 20 {
                writer.rename(ids[round % ids.len()], &format!("Renamed {limit}/{round}"));
                writer.sync().await;
            }
            if !page.more {
                break;
            }
        }
        // Whatever changed after the pass is in the next one; nothing before it was skipped.
        let rest = client.pull(after, None, 1000).await.unwrap();
        for r in rest.records {
            latest.insert(r.id, r.fields["names"].clone());
        }
        let truth = writer.server_view(1000).await;
        assert_eq!(latest.len(), truth.len(), "page size {limit}");
        for ((_, id), (fields, _)) in truth {
            assert_eq!(latest[&id], fields["names"], "page size {limit}");
        }
    }
    server.stop().await;
}

async fn clock_skew_does_not_win_forever(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    for skew in [Duration::hours(1), Duration::hours(-1), Duration::days(1), Duration::days(-1)] {
        let wrong = Device::signed_in(&server, "studio@example.com").await;
        let right = Device::signed_in(&server, "studio@example.com").await;
        // The wrong clock was wrong from the start: the first sync teaches the offset.
        wrong.store.set_clock_skew(skew).unwrap();
        let id = wrong.contact("Original");
        wrong.sync().await;
        right.sync().await;
        for round in 0..3 {
            wrong.rename(id, &format!("wrong {round}"));
            wrong.sync().await;
            right.sync().await;
            assert_eq!(right.names(id).unwrap(), format!("wrong {round}"), "skew {skew}: the later edit wins");
            right.rename(id, &format!("right {round}"));
            right.sync().await;
            wrong.sync().await;
            assert_eq!(wrong.names(id).unwrap(), format!("right {round}"), "skew {skew}: the later edit wins");
        }
        // A clock that jumps a day ahead after syncing is brought back by the server:
        // the next edit elsewhere still wins.
        wrong.store.set_clock_skew(skew + Duration::days(1)).unwrap();
        wrong.rename(id, "from the future");
        wrong.sync().await;
        right.sync().await;
        right.rename(id, "present");
        right.sync().await;
        wrong.sync().await;
        assert_eq!(wrong.names(id).unwrap(), "present", "skew {skew}");
        // A clock stepping backwards: the device's second edit still comes after its first.
        wrong.store.set_clock_skew(skew - Duration::hours(2)).unwrap();
        wrong.rename(id, "first");
        wrong.rename(id, "second");
        wrong.sync().await;
        right.sync().await;
        assert_eq!(right.names(id).unwrap(), "second", "skew {skew}");
        assert_eq!(wrong.records(), right.records());
    }
    server.stop().await;
}

async fn deletes_win_and_never_resurrect(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let a = Device::signed_in(&server, "studio@example.com").await;
    let b = Device::signed_in(&server, "studio@example.com").await;
    let concurrent = a.contact("Edited while deleted");
    let delayed = a.contact("Deleted late");
    a.sync().await;
    b.sync().await;
    // Delete on A, a later edit on B: the record stays deleted everywhere.
    a.store.delete_contact(concurrent).unwrap();
    b.rename(concurrent, "Edited after the delete");
    b.sync().await;
    a.sync().await;
    b.sync().await;
    assert_eq!((a.names(concurrent), b.names(concurrent)), (None, None));
    // A delete made offline that arrives after days of edits elsewhere still deletes.
    a.store.delete_contact(delayed).unwrap();
    for i in 0..3 {
        b.rename(delayed, &format!("edit {i}"));
        b.sync().await;
    }
    a.sync().await;
    b.sync().await;
    assert_eq!(b.names(delayed), None);
    // Delete then re-create: a new record, and the old one stays a tombstone.
    let again = a.contact("Deleted late");
    a.sync().await;
    b.sync().await;
    assert_eq!(b.names(again).as_deref(), Some("Deleted late"));
    assert_eq!(b.names(delayed), None);
    assert_eq!(a.records(), b.records());
    // Codes and invitations too: a deleted code's link stops working.
    let code = a.store.create_code(CodeInput { method: ReferralMethod::Link, ..Default::default() }).unwrap();
    a.sync().await;
    a.store.delete_code(code.id).unwrap();
    a.sync().await;
    b.sync().await;
    assert_eq!(b.store.count_codes(None).unwrap(), 0);
    let page = reqwest::get(format!("{}/r/{}", server.url, code.code)).await.unwrap();
    assert_eq!(page.status(), 410, "the deleted code's page says it is no longer active");
    server.stop().await;
}

async fn a_server_restored_from_a_backup_loses_nothing(db: &TestDb) {
    let server = TestServer::start(db).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    supplier(&server, "studio@example.com").await;
    let a = Device::signed_in(&server, "studio@example.com").await;
    let b = Device::signed_in(&server, "studio@example.com").await;
    a.contact("Before the backup");
    a.sync().await;
    let backup = db.backup().await;
    let after_a = a.contact("After the backup (A)");
    a.sync().await;
    b.contact("After the backup (B)");
    b.sync().await;
    a.sync().await;
    let before_restore = a.records();
    server.stop().await;

    // The database is restored from the backup, on the same address.
    let restored = TestServer::start_on(db.restore(&backup).await, &addr, |_| {}).await;
    let report_b = b.sync().await;
    let report_a = a.sync().await;
    b.sync().await;
    assert!(report_a.reset && report_b.reset, "both clients noticed the restore's new epoch");
    assert_eq!(a.records(), before_restore, "nothing lost on A");
    assert_eq!(b.records(), before_restore, "nothing lost on B");
    assert_eq!(a.server_view(500).await, before_restore, "the server has everything again");
    assert_eq!(a.names(after_a).as_deref(), Some("After the backup (A)"));
    restored.stop().await;
}

async fn an_account_never_sees_or_writes_another(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "a@example.com").await;
    supplier(&server, "b@example.com").await;
    let a = Device::signed_in(&server, "a@example.com").await;
    let b = Device::signed_in(&server, "b@example.com").await;
    let secret = a.contact("A's client");
    let a_code = a.store.create_code(CodeInput { method: ReferralMethod::Link, ..Default::default() }).unwrap();
    a.sync().await;
    b.sync().await;
    assert!(b.records().is_empty(), "B pulls nothing of A's");
    // B writing a whole record under A's record id makes a record in B's own account,
    // with a later clock than A's: A's record does not change.
    let clock = "0004102444800000-0000-b"; // the year 2100: brought back to the server's time
    let hijack = json!({"schema_version": 2, "changes": [{"seq": 1, "entity": "contact", "id": secret,
        "fields": {"kind": "couple", "names": "hijacked", "created_at": "2026-01-01T00:00:00Z"},
        "clocks": {"kind": clock, "names": clock, "created_at": clock}}]});
    let response = b.raw_push(&server, &hijack).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let b_view = b.server_view(100).await;
    assert_eq!(b_view[&(Entity::Contact, secret)].0["names"], "hijacked", "B's own copy");
    a.sync().await;
    assert_eq!(a.names(secret).as_deref(), Some("A's client"));
    assert_eq!(a.server_view(100).await[&(Entity::Contact, secret)].0["names"], "A's client");
    // B cannot claim a code from A's namespace.
    let claim = json!({"schema_version": 2, "changes": [{"seq": 2, "entity": "code", "id": uuid::Uuid::now_v7(),
        "fields": {"code": a_code.code.as_str(), "method": "link", "link": "x", "created_at": "2026-01-01T00:00:00Z"},
        "clocks": {"code": "0001767225600000-0000-b", "method": "0001767225600000-0000-b", "link": "0001767225600000-0000-b", "created_at": "0001767225600000-0000-b"}}]});
    let response = b.raw_push(&server, &claim).await;
    assert_eq!(response.status(), 422);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "foreign_code_namespace");
    server.stop().await;
}

async fn an_older_client_keeps_working_and_unknown_versions_are_refused(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let old = Device::signed_in(&server, "studio@example.com").await;
    let id = uuid::Uuid::now_v7();
    let v1 = json!({"schema_version": 1, "changes": [{"seq": 1, "entity": "contact", "id": id, "hlc": "0001767225600000-0000-old",
        "fields": {"kind": "couple", "names": "From version 1", "created_at": "2026-01-01T00:00:00Z"}}]});
    assert_eq!(old.raw_push(&server, &v1).await.status(), 200);
    for version in [0, bouquet_core::sync::SCHEMA_VERSION + 1] {
        let body = json!({"schema_version": version, "changes": [{"seq": 2, "entity": "contact", "id": id, "hlc": "0001767225600001-0000-old",
            "fields": {"names": "lost?"}}]});
        let response = old.raw_push(&server, &body).await;
        assert_eq!(response.status(), 422);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], "unsupported_schema_version");
        assert!(error["message"].as_str().unwrap().contains("Nothing was applied"), "{error}");
    }
    let current = Device::signed_in(&server, "studio@example.com").await;
    current.sync().await;
    assert_eq!(current.names(id).as_deref(), Some("From version 1"));
    let records = current.server_view(10).await;
    assert_eq!(records[&(Entity::Contact, id)].0["names"], "From version 1");
    server.stop().await;
}

async fn sync_offline_fails_clearly_and_keeps_the_outbox(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let device = Device::signed_in(&server, "studio@example.com").await;
    server.stop().await;
    device.contact("Made offline");
    let err = sync::sync_once(&device.store).await.unwrap_err();
    assert_eq!(err.code(), "offline");
    let status = device.store.sync_status().unwrap();
    assert_eq!(status.pending, 1);
    assert!(status.last_error.unwrap().contains("cannot be reached"));
}

on_both_backends!(
    two_devices_share_everything_and_leads_become_touches,
    replayed_and_lost_pushes_apply_once,
    a_gapped_push_is_refused_and_nothing_applied,
    paging_while_writes_continue_skips_and_repeats_nothing,
    clock_skew_does_not_win_forever,
    deletes_win_and_never_resurrect,
    a_server_restored_from_a_backup_loses_nothing,
    an_account_never_sees_or_writes_another,
    an_older_client_keeps_working_and_unknown_versions_are_refused,
    sync_offline_fails_clearly_and_keeps_the_outbox,
);
