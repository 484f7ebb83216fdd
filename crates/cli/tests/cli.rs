//! The real `bouquet` binary against a real server on a random port (SQLite; the kill
//! test on both backends, as is the sync protocol itself in bouquet-client's tests).

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use bouquet_server::testing::{TestDb, TestServer};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

async fn supplier(server: &TestServer, email: &str) {
    let body = json!({"kind": "supplier", "email": email, "password": PASSWORD, "business_name": "Golden Hour Studio", "vendor_type": "photographer"});
    let response = reqwest::Client::new().post(format!("{}/api/v1/accounts", server.url)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
}

/// Runs `bouquet --data-dir DIR ARGS…` (off the async runtime, so the in-process
/// server keeps serving) and returns (success, stdout, stderr).
async fn bouquet(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(cargo_bin("bouquet"));
    // No session bus, so no keyring: the token goes to the data folder, as on a server.
    command.arg("--data-dir").arg(dir).args(args).env("BOUQUET_PASSWORD", PASSWORD).env_remove("DBUS_SESSION_BUS_ADDRESS");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    (output.status.success(), String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
}

async fn ok(dir: &Path, args: &[&str]) -> String {
    let (success, out, err) = bouquet(dir, args).await;
    assert!(success, "bouquet {args:?} failed: {err}");
    out
}

async fn json_of(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = ok(dir, &all).await;
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("bouquet {args:?} printed no JSON ({e}): {out}"))
}

async fn login(server: &TestServer, dir: &Path) {
    ok(dir, &["login", "--server", &server.url, "--email", "studio@example.com"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_data_folders_on_one_account_share_contacts_after_sync() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db).await;
    supplier(&server, "studio@example.com").await;
    let (laptop, desktop) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    login(&server, laptop.path()).await;
    login(&server, desktop.path()).await;
    let added = json_of(laptop.path(), &["contacts", "add", "--names", "Anna & Ben", "--email", "anna@example.com", "--wedding-date", "2027-06-12"]).await;
    let id = added["contact"]["id"].as_str().unwrap().to_string();
    assert!(ok(laptop.path(), &["sync"]).await.contains("1 sent"));
    ok(desktop.path(), &["sync"]).await;
    let contacts = json_of(desktop.path(), &["contacts", "list"]).await;
    assert_eq!(contacts.as_array().unwrap().len(), 1);
    assert_eq!((contacts[0]["id"].as_str().unwrap(), contacts[0]["names"].as_str().unwrap()), (id.as_str(), "Anna & Ben"));
    // An edit on the desktop comes back to the laptop.
    ok(desktop.path(), &["contacts", "edit", &id, "--phone", "+44 7700 900123"]).await;
    ok(desktop.path(), &["sync"]).await;
    ok(laptop.path(), &["sync"]).await;
    let found = json_of(laptop.path(), &["contacts", "search", "anna"]).await;
    assert_eq!(found[0]["phone"], "+447700900123");
    // Every read command speaks JSON.
    for args in [&["status"][..], &["stats"], &["fairs", "list"], &["codes", "list"], &["invite", "list"]] {
        json_of(laptop.path(), args).await;
    }
    let status = json_of(laptop.path(), &["status"]).await;
    assert_eq!(status["sync"]["pending"], 0);
    assert_eq!(status["server"]["reachable"], true);
    assert_eq!(status["token_kept_in"], "file", "no session bus, no keyring");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_codes_decode_to_their_links_and_fair_leads_reach_the_server() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db).await;
    supplier(&server, "studio@example.com").await;
    let dir = tempfile::tempdir().unwrap();
    login(&server, dir.path()).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    server.stop().await;
    // Everything below works offline until the sync.
    let fair = json_of(dir.path(), &["fairs", "add", "--name", "Bath Wedding Show", "--date", "2027-03-14"]).await;
    let fair_id = fair["id"].as_str().unwrap().to_string();
    let codes = json_of(dir.path(), &["codes", "new", "--fair", &fair_id, "--method", "qr", "--count", "2", "--incentive", "10% off"]).await;
    let code = codes[0]["code"].as_str().unwrap().to_string();
    let link = codes[0]["link"].as_str().unwrap().to_string();
    let png = dir.path().join("code.png");
    ok(dir.path(), &["qr", &code.to_lowercase(), "--png", png.to_str().unwrap()]).await;
    let decoded = Command::new("zbarimg").args(["--quiet", "--raw"]).arg(&png).output().expect("zbarimg (zbar-tools) is installed");
    assert_eq!(String::from_utf8(decoded.stdout).unwrap().trim(), link);
    let pdf = dir.path().join("cards.pdf");
    ok(dir.path(), &["sheet", "--fair", &fair_id, "--paper", "letter", pdf.to_str().unwrap()]).await;
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    ok(dir.path(), &["lead", "--fair", &fair_id, "--name", "Priya & Sam", "--email", "priya@example.com"]).await;

    let (success, _, err) = bouquet(dir.path(), &["sync"]).await;
    assert!(!success, "sync with the server down must fail");
    assert!(err.contains("error (offline)") && err.contains("cannot be reached"), "{err}");
    let pending = json_of(dir.path(), &["status"]).await["sync"]["pending"].as_i64().unwrap();
    assert_eq!(pending, 5, "fair, 2 codes, the lead's contact and the lead wait in the outbox");

    let server = TestServer::start_on(&db, &addr, |_| {}).await;
    ok(dir.path(), &["sync"]).await;
    let stats = json_of(dir.path(), &["stats"]).await;
    assert_eq!((stats["server"]["value"]["total_referrals"].as_i64(), stats["server"]["value"]["leads"].as_i64()), (Some(2), Some(1)));
    let listed = ok(dir.path(), &["codes", "list", "--fair", &fair_id]).await;
    assert!(listed.contains("1 leads"), "{listed}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_import_reports_bad_rows_by_line_and_imports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("crm.csv");
    std::fs::write(
        &csv,
        "names,email,phone,wedding_date\nAnna & Ben,anna@example.com,,2027-06-12\nNo Email,not-an-email,,\n,nameless@example.com,,\nChloe & Dan,chloe@example.com,,2027-13-40\nEve & Finn,eve@example.com,07700 900123,\n",
    )
    .unwrap();
    let report = json_of(dir.path(), &["contacts", "import", csv.to_str().unwrap()]).await;
    assert_eq!(report["imported"], 2);
    let lines: Vec<i64> = report["problems"].as_array().unwrap().iter().map(|p| p["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, [3, 4, 5]);
    let text = ok(dir.path(), &["contacts", "import", csv.to_str().unwrap()]).await;
    assert!(text.contains("line 3:") && text.contains("line 5:"), "{text}");
    // Unknown flags and bad values are refused with a message, nothing written.
    let (success, _, err) = bouquet(dir.path(), &["contacts", "add", "--names", "X", "--email", "nope"]).await;
    assert!(!success && err.contains("not an email address"), "{err}");
    let (success, _, err) = bouquet(dir.path(), &["--json", "contacts", "delete", "0193a0a0-0000-7000-8000-000000000000"]).await;
    assert!(!success);
    let error: Value = serde_json::from_str(err.trim()).unwrap();
    assert_eq!(error["code"], "not_found");
}

/// The app open on a data folder while scripts run the CLI on it: every write from
/// either lands once, with its change queued for the server, and the file stays sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_the_app_write_one_data_folder_at_once() {
    const CLI_PROCESSES: usize = 3;
    const CLI_WRITES: usize = 15;
    let dir = tempfile::tempdir().unwrap();
    let app = bouquet_client::LocalStore::open(dir.path()).unwrap();
    // The app keeps writing until the scripts are done, each write read-then-write (the
    // duplicate check, then the row, its clocks and its outbox entry).
    let scripts_done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let app_writer = std::thread::spawn({
        let scripts_done = scripts_done.clone();
        move || {
            let mut written = 0;
            while !scripts_done.load(std::sync::atomic::Ordering::SeqCst) || written < 50 {
                let input = bouquet_client::store::contacts::ContactInput {
                    names: format!("App couple {written}"),
                    email: Some(format!("app{written}@example.com")),
                    ..Default::default()
                };
                app.create_contact(input).unwrap_or_else(|e| panic!("the app's write {written} failed beside the CLI: {e}"));
                written += 1;
            }
            (app, written)
        }
    });
    let scripts: Vec<_> = (0..CLI_PROCESSES)
        .map(|p| {
            let dir = dir.path().to_path_buf();
            tokio::spawn(async move {
                for i in 0..CLI_WRITES {
                    let (names, email) = (format!("CLI {p} couple {i}"), format!("cli{p}-{i}@example.com"));
                    let (success, _, err) = bouquet(&dir, &["contacts", "add", "--names", &names, "--email", &email]).await;
                    assert!(success, "bouquet contacts add beside the app failed: {err}");
                }
            })
        })
        .collect();
    for script in scripts {
        script.await.unwrap();
    }
    scripts_done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (app, app_writes) = tokio::task::spawn_blocking(move || app_writer.join().unwrap()).await.unwrap();

    let expected = app_writes + CLI_PROCESSES * CLI_WRITES;
    let listed = json_of(dir.path(), &["contacts", "list"]).await;
    assert_eq!(listed.as_array().unwrap().len(), expected);
    assert_eq!(app.contacts().unwrap().len(), expected, "the app sees the CLI's contacts");
    assert_eq!(json_of(dir.path(), &["status"]).await["sync"]["pending"], expected as i64, "one queued change per write");
    let check = rusqlite::Connection::open(dir.path().join("bouquet.db")).unwrap();
    let integrity: String = check.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
}

/// The server killed in the middle of a push, and the client process killed in the
/// middle of applying a pull: afterwards nothing is lost and nothing counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_and_killed_client_lose_nothing_and_duplicate_nothing_on_sqlite() {
    killed_server_and_killed_client(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_and_killed_client_lose_nothing_and_duplicate_nothing_on_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    killed_server_and_killed_client(db).await;
}

async fn killed_server_and_killed_client(db: TestDb) {
    let server = TestServer::start(&db).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    supplier(&server, "studio@example.com").await;
    let (maker, reader) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    login(&server, maker.path()).await;
    login(&server, reader.path()).await;
    ok(maker.path(), &["codes", "new", "--method", "link", "--count", "3000"]).await;

    // Kill the server once the push is under way (some batches in, more to come).
    let mut sync = Command::new(cargo_bin("bouquet")).arg("--data-dir").arg(maker.path()).arg("sync").spawn().unwrap();
    let store = server.store.clone();
    let started = std::time::Instant::now();
    loop {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the push never started");
        let stats = store.stats(account_id(&server).await, chrono::Utc::now()).await.unwrap();
        if stats.total_referrals > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.kill().await;
    let status = tokio::task::spawn_blocking(move || sync.wait().unwrap()).await.unwrap();
    assert!(!status.success(), "the sync saw the server die");
    let server = TestServer::start_on(&db, &addr, |_| {}).await;
    ok(maker.path(), &["sync"]).await;
    let stats = json_of(maker.path(), &["stats"]).await;
    assert_eq!(stats["server"]["value"]["total_referrals"], 3000, "every code exactly once");

    // Kill the reader while it applies the pull, then let it finish.
    let mut pull = Command::new(cargo_bin("bouquet")).arg("--data-dir").arg(reader.path()).arg("sync").spawn().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    pull.kill().unwrap();
    let _ = pull.wait();
    ok(reader.path(), &["sync"]).await;
    let codes = json_of(reader.path(), &["codes", "list"]).await;
    let mut seen: Vec<&str> = codes.as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3000);
    assert_eq!(json_of(reader.path(), &["status"]).await["sync"]["pending"], 0);
    server.stop().await;
}

async fn account_id(server: &TestServer) -> uuid::Uuid {
    server.store.account_by_email("studio@example.com").await.unwrap().unwrap().0.id
}

/// The app's store killed at random moments while it writes: a 20,000-row import is
/// killed part-way, again and again, and the database opens every time, intact, with
/// either the whole import or none of it, every contact with its change waiting to sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_killed_mid_import_keeps_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("crm.csv");
    let mut rows = String::from("names,email,wedding_date\n");
    for i in 0..20_000 {
        rows.push_str(&format!("Couple {i},couple{i}@example.com,2027-06-12\n"));
    }
    std::fs::write(&csv, rows).unwrap();
    let data = dir.path().join("data");
    ok(&data, &["contacts", "add", "--names", "Before the imports"]).await;
    let mut expected = 1;
    for (round, wait_ms) in [60u64, 150, 250, 400, 700].into_iter().enumerate() {
        let mut import = Command::new(cargo_bin("bouquet")).arg("--data-dir").arg(&data).args(["contacts", "import"]).arg(&csv).spawn().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
        let finished = import.try_wait().unwrap().is_some();
        let _ = import.kill();
        let _ = import.wait();
        let conn = rusqlite::Connection::open(data.join("bouquet.db")).unwrap();
        let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(verdict, "ok", "round {round}");
        let contacts: i64 = conn.query_row("SELECT COUNT(*) FROM contacts", [], |r| r.get(0)).unwrap();
        assert!(contacts == expected || contacts == expected + 20_000, "round {round}: {contacts} contacts, expected {expected} or {}", expected + 20_000);
        if finished {
            assert_eq!(contacts, expected + 20_000, "round {round}: an import that finished is all there");
        }
        let queued: i64 = conn.query_row("SELECT COUNT(*) FROM outbox WHERE entity = 'contact'", [], |r| r.get(0)).unwrap();
        assert_eq!(queued, contacts, "round {round}: every contact has its change waiting to sync, no more");
        eprintln!("round {round}: killed after {wait_ms} ms, {} — {contacts} contacts", if finished { "the import had finished" } else { "mid-import" });
        expected = contacts;
    }
    // Left to finish, the same import is all there, once.
    ok(&data, &["contacts", "import", csv.to_str().unwrap()]).await;
    let conn = rusqlite::Connection::open(data.join("bouquet.db")).unwrap();
    let contacts: i64 = conn.query_row("SELECT COUNT(*) FROM contacts", [], |r| r.get(0)).unwrap();
    assert_eq!(contacts, expected + 20_000);
    let listed = json_of(&data, &["contacts", "search", "Before"]).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
}
