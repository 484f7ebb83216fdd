//! `bouquet-server backup` and `restore` on the SQLite backend, through the real binary:
//! a backup taken while referrals are being made holds a consistent snapshot; a restore
//! refuses while a server uses the file, replaces it when none does, and starts a new
//! sync epoch so devices send again what the backup lacks.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bouquet_core::api::{ReferralPage, ReferralView, StatsView};
use bouquet_core::sync::SyncState;
use common::process::{ServerProcess, cli, run, studio_session};
use serde_json::json;
use tokio::sync::Mutex;

async fn get<T: serde::de::DeserializeOwned>(url: &str, token: &str) -> T {
    let resp = reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.unwrap()
}

async fn all_codes(url: &str, token: &str) -> Vec<String> {
    let mut codes = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page_url = match &after {
            Some(a) => format!("{url}/api/v1/referrals?limit=200&after={a}"),
            None => format!("{url}/api/v1/referrals?limit=200"),
        };
        let page: ReferralPage = get(&page_url, token).await;
        codes.extend(page.items.iter().map(|r| r.code.to_string()));
        match page.next_after {
            Some(next) => after = Some(next),
            None => return codes,
        }
    }
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_a_consistent_snapshot_with_a_new_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bouquet.db").display());
    let backup = dir.path().join("backup.db");
    let backup_str = backup.to_str().unwrap();

    let server = ServerProcess::start(&url);
    let session = studio_session(&server.url).await;
    let before: SyncState = get(&format!("{}/api/v1/sync/state", server.url), &session.token).await;

    // A writer makes referrals until told to stop; every code the server acknowledged is kept.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acknowledged, stop, base, token) = (acknowledged.clone(), stop.clone(), server.url.clone(), session.token.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            while !stop.load(Ordering::Relaxed) {
                let resp = http.post(format!("{base}/api/v1/referrals")).bearer_auth(&token).json(&json!({"method": "qr"})).send().await.unwrap();
                assert_eq!(resp.status(), 201);
                let referral: ReferralView = resp.json().await.unwrap();
                acknowledged.lock().await.push(referral.code.to_string());
            }
        })
    };
    while acknowledged.lock().await.len() < 30 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let acknowledged_before_backup = acknowledged.lock().await.clone();
    let url_for_cli = url.clone();
    let backup_for_cli = backup_str.to_string();
    let out = tokio::task::spawn_blocking(move || cli(&["backup", "--database-url", &url_for_cli, &backup_for_cli])).await.unwrap();
    assert!(out.starts_with("backed up to"), "{out}");
    let acknowledged_after_backup = acknowledged.lock().await.len();
    while acknowledged.lock().await.len() < acknowledged_after_backup + 30 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let acknowledged = acknowledged.lock().await.clone();

    // A backup never overwrites a file, and the file in use is never replaced.
    let again = run(&["backup", "--database-url", &url, backup_str]);
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    let refused = run(&["restore", "--database-url", &url, backup_str]);
    assert!(!refused.status.success(), "a restore under a running server must refuse");
    assert!(text(&refused).contains("stop every server"), "{}", text(&refused));
    assert_eq!(all_codes(&server.url, &session.token).await.len(), acknowledged.len(), "the refused restore changed nothing");

    // Neither a stranger's file nor a PostgreSQL database is restored.
    let not_a_backup = dir.path().join("notes.txt");
    std::fs::write(&not_a_backup, "shopping list").unwrap();
    server.kill();
    let junk = run(&["restore", "--database-url", &url, not_a_backup.to_str().unwrap()]);
    assert!(!junk.status.success());
    assert!(text(&junk).contains("not a usable Bouquet backup"), "{}", text(&junk));
    let pg = run(&["backup", "--database-url", "postgres://postgres@127.0.0.1:5432/test", dir.path().join("pg.db").to_str().unwrap()]);
    assert!(!pg.status.success());
    assert!(text(&pg).contains("pg_dump"), "{}", text(&pg));

    let restored = cli(&["restore", "--database-url", &url, backup_str]);
    assert!(restored.contains("new sync epoch"), "{restored}");
    let kept: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(kept.iter().any(|f| f.starts_with("bouquet.db.pre-restore-") && !f.ends_with("-wal") && !f.ends_with("-shm")), "the replaced database is kept: {kept:?}");
    let server = ServerProcess::start(&url);
    let codes = all_codes(&server.url, &session.token).await;
    // The snapshot: every referral acknowledged before the backup began, none the backup
    // could not have seen, and nothing that was never acknowledged.
    assert!(codes.len() >= acknowledged_before_backup.len() && codes.len() <= acknowledged_after_backup, "{} referrals restored", codes.len());
    for code in &acknowledged_before_backup {
        assert!(codes.contains(code), "{code} was acknowledged before the backup and is missing");
    }
    assert!(codes.iter().all(|c| acknowledged.contains(c)));
    // Counters maintained with the rows agree with them: one snapshot, not a torn copy.
    let stats: StatsView = get(&format!("{}/api/v1/me/stats", server.url), &session.token).await;
    assert_eq!(stats.total_referrals as usize, codes.len());
    let page = reqwest::get(format!("{}/r/{}", server.url, codes[0])).await.unwrap();
    assert_eq!(page.status(), 200);
    let after: SyncState = get(&format!("{}/api/v1/sync/state", server.url), &session.token).await;
    assert_ne!(after.epoch, before.epoch, "devices are told to pull from the start");
    assert!(Path::new(backup_str).exists(), "the backup itself is kept");
}
