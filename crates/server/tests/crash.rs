//! The server killed with SIGKILL at random moments under a scripted load of platform
//! events and device pushes, then restarted on the same database, round after round, on
//! SQLite and PostgreSQL: no acknowledged write is lost, retried events are counted once,
//! no reward is paid twice and the ledger balances. The seed of each run is printed;
//! `BOUQUET_CRASH_SEED=<n>` replays one.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bouquet_core::api::{EventOutcome, SessionView, StatsView};
use bouquet_core::sync::{Entity, PullPage, SCHEMA_VERSION, SyncState};
use bouquet_core::Hlc;
use bouquet_server::store;
use chrono::Utc;
use common::TestDb;
use common::process::{ServerProcess, cli, studio_session};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;

const ROUNDS: usize = 6;
const CODES: usize = 3;

/// What the clients were told was done: only these must survive every crash.
#[derive(Default)]
struct Acknowledged {
    /// Users whose `convert` was answered 200.
    converted: BTreeSet<String>,
    /// Users whose `signup` was answered 200.
    signed_up: BTreeSet<String>,
    /// Fairs the device pushed and the server acknowledged (`applied_through`).
    pushed_through: i64,
}

struct Load {
    key: String,
    device: SessionView,
    codes: Vec<String>,
    /// Every fair the device made, by change number (1-based).
    fairs: Vec<(Uuid, String)>,
    acked: Mutex<Acknowledged>,
}

impl Load {
    fn event(&self, user: &str, kind: &str) -> Value {
        let code = &self.codes[user.len() % CODES];
        let mut body = json!({"idempotency_key": format!("{kind}-{user}"), "type": kind, "occurred_at": Utc::now(),
            "user": {"id": user, "kind": "couple", "email": format!("{user}@example.com")}});
        if kind == "signup" {
            body["code"] = json!(code);
        } else {
            body["plan"] = json!("Professional");
            body["value"] = json!({"amount_minor": 4900, "currency": "GBP"});
        }
        body
    }

    /// Sends one event; true once the server answered it.
    async fn send(&self, http: &reqwest::Client, base: &str, user: &str, kind: &str) -> bool {
        let sent = http.post(format!("{base}/api/v1/events")).bearer_auth(&self.key).json(&self.event(user, kind)).send().await;
        match sent {
            Ok(resp) if resp.status() == 200 => {
                let _: EventOutcome = resp.json().await.expect("an outcome");
                let mut acked = self.acked.lock().await;
                if kind == "signup" { acked.signed_up.insert(user.into()) } else { acked.converted.insert(user.into()) };
                true
            }
            Ok(resp) => panic!("{kind} {user}: {} {}", resp.status(), resp.text().await.unwrap_or_default()),
            Err(_) => false, // the server died mid-request: not acknowledged
        }
    }

    /// Pushes the device's fairs after `from`, a few at a time; returns the new position.
    async fn push(&self, http: &reqwest::Client, base: &str, from: i64, upto: i64) -> Option<i64> {
        let clock = Hlc { wall_ms: Utc::now().timestamp_millis(), counter: 0, node: "crash-device".into() };
        let changes: Vec<Value> = ((from + 1)..=upto)
            .map(|seq| {
                let (id, name) = &self.fairs[(seq - 1) as usize];
                json!({"seq": seq, "entity": Entity::Fair, "id": id,
                       "fields": {"name": name, "date": "2027-05-01", "place": "Town Hall", "created_at": Utc::now()},
                       "clocks": {"name": clock, "date": clock, "place": clock, "created_at": clock}})
            })
            .collect();
        let resp = http
            .post(format!("{base}/api/v1/sync/push"))
            .bearer_auth(&self.device.token)
            .json(&json!({"schema_version": SCHEMA_VERSION, "changes": changes}))
            .send()
            .await
            .ok()?;
        assert_eq!(resp.status(), 200, "push");
        let applied = resp.json::<Value>().await.ok()?["applied_through"].as_i64().expect("applied_through");
        let mut acked = self.acked.lock().await;
        acked.pushed_through = acked.pushed_through.max(applied);
        Some(applied)
    }
}

async fn get<T: serde::de::DeserializeOwned>(url: &str, token: &str) -> T {
    let resp = reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.unwrap()
}

async fn killed_at_random_moments_loses_nothing_acknowledged(db: &TestDb) {
    let seed: u64 = std::env::var("BOUQUET_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("crash test seed: {seed} (BOUQUET_CRASH_SEED={seed} replays it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();

    let mut server = ServerProcess::start(&db.url);
    let key = cli(&["api-key", "create", "--name", "wedsync", "--database-url", &db.url]);
    let device = studio_session(&server.url).await;
    let mut codes = Vec::new();
    for _ in 0..CODES {
        let referral: Value = http.post(format!("{}/api/v1/referrals", server.url)).bearer_auth(&device.token).json(&json!({"method": "link"})).send().await.unwrap().json().await.unwrap();
        codes.push(referral["code"].as_str().unwrap().to_string());
    }
    let fairs: Vec<(Uuid, String)> = (0..3000).map(|i| (Uuid::now_v7(), format!("Fair {i}"))).collect();
    let load = Arc::new(Load { key, device, codes, fairs, acked: Mutex::default() });

    let mut next_user = 0usize;
    let mut pushed = 0i64;
    for round in 0..ROUNDS {
        // Writers: event senders for new users (signup then convert), and the device.
        let base = server.url.clone();
        let mut tasks = Vec::new();
        for lane in 0..3 {
            let (load, http, base) = (load.clone(), http.clone(), base.clone());
            let first = next_user + lane * 1000;
            tasks.push(tokio::spawn(async move {
                for n in 0.. {
                    let user = format!("u{}", first + n);
                    if !load.send(&http, &base, &user, "signup").await || !load.send(&http, &base, &user, "convert").await {
                        return;
                    }
                }
            }));
        }
        next_user += 3000;
        let pusher = {
            let (load, http, base) = (load.clone(), http.clone(), base.clone());
            let from = pushed;
            tokio::spawn(async move {
                let mut at = from;
                while at < load.fairs.len() as i64 {
                    match load.push(&http, &base, at, (at + 5).min(load.fairs.len() as i64)).await {
                        Some(applied) => at = applied,
                        None => return,
                    }
                }
            })
        };
        // Killed at a random moment, with writes in flight.
        tokio::time::sleep(Duration::from_millis(rng.gen_range(150..900))).await;
        server.kill();
        for task in tasks {
            task.await.unwrap();
        }
        pusher.await.unwrap();

        server = ServerProcess::start(&db.url);
        // The device learns where the server stands: never behind what it acknowledged.
        let state: SyncState = get(&format!("{}/api/v1/sync/state", server.url), &load.device.token).await;
        let acked_through = load.acked.lock().await.pushed_through;
        assert!(state.applied_through >= acked_through, "round {round}: the server applied {} after acknowledging {acked_through}", state.applied_through);
        pushed = state.applied_through;
        // The platform retries what was not acknowledged (same keys): counted once.
        let acked = load.acked.lock().await;
        let (signed_up, converted) = (acked.signed_up.clone(), acked.converted.clone());
        drop(acked);
        for user in signed_up.difference(&converted) {
            assert!(load.send(&http, &server.url, user, "convert").await);
        }
        for user in &converted {
            // A replay of an acknowledged conversion is a duplicate, never a second one.
            let resp: EventOutcome = http.post(format!("{}/api/v1/events", server.url)).bearer_auth(&load.key).json(&load.event(user, "convert")).send().await.unwrap().json().await.unwrap();
            assert_eq!(serde_json::to_value(resp.status).unwrap(), "duplicate", "round {round}: {user}'s conversion was lost or counted again");
        }
    }

    // Every acknowledged conversion counted exactly once, rewarded exactly once.
    let converted = load.acked.lock().await.converted.len() as i64;
    assert!(converted > 0, "the load converted nobody: the test proved nothing");
    let stats: StatsView = get(&format!("{}/api/v1/me/stats", server.url), &load.device.token).await;
    assert_eq!(stats.successful_referrals, converted);
    server.kill();
    let store = store::open(&db.url).await.unwrap();
    let rewards = store.rewards_of(load.device.account.id, None, 100_000).await.unwrap();
    let mut per_conversion: BTreeMap<Uuid, usize> = BTreeMap::new();
    for r in rewards.iter().filter(|r| r.conversion_id.is_some()) {
        *per_conversion.entry(r.conversion_id.unwrap()).or_default() += 1;
    }
    assert_eq!(per_conversion.len() as i64, converted, "one referrer reward per conversion");
    assert!(per_conversion.values().all(|n| *n == 1), "a conversion rewarded twice: {per_conversion:?}");
    let audit = store.audit_ledger().await.unwrap();
    assert!(audit.is_clean(), "{audit:?}");
    // Every fair the server acknowledged is there.
    drop(store);
    let server = ServerProcess::start(&db.url);
    let mut names = BTreeSet::new();
    let mut after = 0;
    loop {
        let page: PullPage = get(&format!("{}/api/v1/sync/pull?after={after}&limit=200", server.url), &load.device.token).await;
        names.extend(page.records.iter().filter(|r| r.entity == Entity::Fair).filter_map(|r| r.fields.get("name").and_then(Value::as_str).map(String::from)));
        after = page.next_after;
        if !page.more {
            break;
        }
    }
    let pushed_through = load.acked.lock().await.pushed_through;
    assert!(pushed_through > 0, "the device pushed nothing: the test proved nothing for sync");
    eprintln!("crash test: {ROUNDS} kills; {converted} conversions and {pushed_through} pushed fairs acknowledged, none lost");
    for (_, name) in &load.fairs[..pushed_through as usize] {
        assert!(names.contains(name), "{name} was acknowledged and is lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killed_at_random_moments_loses_nothing_acknowledged() {
    killed_at_random_moments_loses_nothing_acknowledged(&TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_at_random_moments_loses_nothing_acknowledged() {
    let Some(db) = TestDb::postgres().await else { return };
    killed_at_random_moments_loses_nothing_acknowledged(&db).await;
}
