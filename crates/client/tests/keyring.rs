//! The device token in a real OS keyring: a private D-Bus session bus with
//! gnome-keyring's Secret Service on it, started for this test and killed after. The
//! token is read back independently with `secret-tool`, and a real server accepts it.
//! (Every other test runs without a session bus, so there the token is in a file.)

mod sync_support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bouquet_client::token::{self, TokenPlace};
use bouquet_client::{LocalStore, sync};
use bouquet_server::testing::{TestDb, TestServer};

/// A session bus and a Secret Service, in their own process group so that everything
/// they start (D-Bus activates services) dies with them.
struct SecretService {
    bus: Child,
    keyring: Child,
    _home: tempfile::TempDir,
}

impl SecretService {
    fn start() -> Option<SecretService> {
        use std::os::unix::process::CommandExt;
        let missing = ["dbus-daemon", "gnome-keyring-daemon", "secret-tool"]
            .into_iter()
            .find(|tool| Command::new("which").arg(tool).stdout(Stdio::null()).status().map_or(true, |s| !s.success()));
        if let Some(tool) = missing {
            assert!(std::env::var("CI").is_err(), "{tool} is missing: scripts/setup.sh installs it (TEST_PACKAGES)");
            eprintln!("skipped: {tool} is not installed");
            return None;
        }
        let home = tempfile::tempdir().unwrap();
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .env("HOME", home.path())
            .env("XDG_RUNTIME_DIR", home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap()).read_line(&mut address).unwrap();
        let address = address.trim().to_string();
        // SAFETY: this binary's only test sets these before it starts its runtime or any
        // other thread; the keyring code finds the bus through them, as in a desktop
        // session.
        unsafe {
            std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &address);
            std::env::set_var("HOME", home.path());
            std::env::set_var("XDG_RUNTIME_DIR", home.path());
        }
        // `--unlock` reads the login keyring's password from stdin and creates it, as a
        // desktop login does.
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(bus.id() as i32)
            .spawn()
            .unwrap();
        keyring.stdin.take().unwrap().write_all(b"login password").unwrap();
        let service = SecretService { bus, keyring, _home: home };
        // Ready once the Secret Service takes a secret.
        for _ in 0..50 {
            if service.store_probe() {
                return Some(service);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the Secret Service did not come up on {address}");
    }

    fn store_probe(&self) -> bool {
        let mut store = Command::new("secret-tool")
            .args(["store", "--label=probe", "service", "probe", "username", "ready-check"])
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        store.stdin.take().unwrap().write_all(b"ok").unwrap();
        store.wait().unwrap().success()
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // The whole group: the bus, the keyring and anything the bus activated.
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.bus.id())]).status();
        let _ = self.keyring.wait();
        let _ = self.bus.wait();
    }
}

fn lookup_with_secret_tool(service: &str, user: &str) -> Option<String> {
    let out = Command::new("secret-tool").args(["lookup", "service", service, "username", user]).stderr(Stdio::null()).output().ok()?;
    (out.status.success() && !out.stdout.is_empty()).then(|| String::from_utf8(out.stdout).unwrap())
}

/// The token of this data folder as the keyring holds it.
fn token_in_keyring(dir: &Path) -> Option<String> {
    let folder = dir.canonicalize().unwrap();
    lookup_with_secret_tool("Bouquet", &format!("device token for {}", folder.display()))
}

#[test]
fn with_a_keyring_the_token_lives_there_and_nowhere_else() {
    let Some(_keyring) = SecretService::start() else { return };
    tokio::runtime::Runtime::new().unwrap().block_on(the_token_lives_in_the_keyring());
}

async fn the_token_lives_in_the_keyring() {
    // Signing in keeps the token in the keyring, not in the data folder.
    let db = TestDb::sqlite();
    let server = TestServer::start(&db).await;
    sync_support::supplier(&server, "studio@example.com").await;
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    sync::log_in(&store, &server.url, "studio@example.com", sync_support::PASSWORD, "laptop").await.unwrap();
    assert!(!dir.path().join("device-token").exists(), "a keyring is there, so no token file");
    let kept = token_in_keyring(dir.path()).expect("the token is in the keyring");
    assert!(kept.starts_with("bqd_"), "{kept}");
    assert_eq!(token::place(dir.path()).unwrap(), Some(TokenPlace::Keyring));

    // …and it is what the device syncs with.
    store.create_contact(bouquet_client::store::contacts::ContactInput { names: "Anna & Ben".into(), ..Default::default() }).unwrap();
    let report = sync::sync_once(&store).await.unwrap();
    assert_eq!(report.pushed, 1);

    // Another data folder is another entry.
    let other = tempfile::tempdir().unwrap();
    assert_eq!(token::save(other.path(), "bqd_other").unwrap(), TokenPlace::Keyring);
    assert_eq!(token_in_keyring(other.path()).as_deref(), Some("bqd_other"));
    assert_eq!(token_in_keyring(dir.path()).as_deref(), Some(kept.as_str()));

    // A token kept in a file before the keyring was there moves into it when read.
    let older = tempfile::tempdir().unwrap();
    std::fs::write(older.path().join("device-token"), "bqd_from_file\n").unwrap();
    assert_eq!(token::load(older.path()).unwrap().as_deref(), Some("bqd_from_file"));
    assert!(!older.path().join("device-token").exists());
    assert_eq!(token_in_keyring(older.path()).as_deref(), Some("bqd_from_file"));
    assert_eq!(token::load(older.path()).unwrap().as_deref(), Some("bqd_from_file"));

    // A sign-in without the keyring (an ssh session) leaves a newer token in the file
    // than the keyring's: the newer one wins and replaces the keyring's.
    std::fs::write(older.path().join("device-token"), "bqd_newer").unwrap();
    assert_eq!(token::place(older.path()).unwrap(), Some(TokenPlace::File));
    assert_eq!(token::load(older.path()).unwrap().as_deref(), Some("bqd_newer"));
    assert_eq!(token_in_keyring(older.path()).as_deref(), Some("bqd_newer"));
    assert!(!older.path().join("device-token").exists());
}
