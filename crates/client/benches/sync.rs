//! Sync costs against a real in-process server (SQLite), each with a baseline measured
//! in the same run. Run: `cargo bench -p bouquet-client --bench sync`.
//! - initial pull of 100,000 records into a fresh device (per-record figure beside it),
//!   against a plain bulk insert of as many contact rows into a fresh device's file (one
//!   transaction, one prepared statement: the fastest SQLite takes those rows);
//! - push of 10,000 outbox entries;
//! - a sync round with nothing to do (baseline: one `GET /healthz` round trip);
//! - a contact saved with its sync bookkeeping (clocks + outbox) against a plain insert
//!   of the same row, in the same kind of transaction on the same kind of file.
//! In test mode (`cargo test --benches`, as CI runs benchmarks) the record counts are cut.

use std::hint::black_box;
use std::time::Duration;

use bouquet_client::store::contacts::ContactInput;
use bouquet_client::{LocalStore, ServerClient, sync};
use bouquet_server::testing::{TestDb, TestServer, criterion_mean};
use criterion::{BatchSize, Criterion};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

/// Criterion's test mode: `cargo test --benches` (no `--bench` flag) or `cargo bench -- --test`.
fn quick() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--test") || !args.iter().any(|a| a == "--bench")
}

fn csv_of(n: usize) -> String {
    let mut csv = String::from("names,email,wedding_date,notes\n");
    for i in 0..n {
        csv.push_str(&format!("Couple {i},couple{i}@example.com,2027-06-{:02},met at the Bath show\n", i % 28 + 1));
    }
    csv
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    server: TestServer,
    _db: TestDb,
}

/// A signed-in device in its own folder (dropped with the folder).
struct Device {
    store: LocalStore,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn device(&self) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        self.runtime.block_on(sync::log_in(&store, &self.server.url, "studio@example.com", PASSWORD, "bench")).unwrap();
        Device { store, _dir: dir }
    }
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let db = TestDb::sqlite();
    let server = runtime.block_on(TestServer::start(&db));
    let body = json!({"kind": "supplier", "email": "studio@example.com", "password": PASSWORD, "business_name": "Golden Hour Studio", "vendor_type": "photographer"});
    let response = runtime.block_on(async { reqwest::Client::new().post(format!("{}/api/v1/accounts", server.url)).json(&body).send().await.unwrap() });
    assert_eq!(response.status(), 201, "registering the bench's supplier");
    Fixture { runtime, server, _db: db }
}

/// Runs the benchmarks; returns the pull's and the push's sizes.
fn benches(c: &mut Criterion) -> (usize, usize) {
    // BOUQUET_BENCH_PULL / BOUQUET_BENCH_PUSH change the sizes (e.g. for a shorter run).
    let size = |var: &str, full: usize, test: usize| std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(if quick() { test } else { full });
    let (pull_records, push_records) = (size("BOUQUET_BENCH_PULL", 100_000, 2_000), size("BOUQUET_BENCH_PUSH", 10_000, 1_000));
    let f = fixture();

    // The account's records, made on one device and pushed once.
    let maker = f.device();
    maker.store.import_contacts_csv(csv_of(pull_records).as_bytes()).unwrap();
    f.runtime.block_on(sync::sync_once(&maker.store)).unwrap();

    let mut group = c.benchmark_group("sync");
    group.sample_size(10).measurement_time(Duration::from_secs(if quick() { 1 } else { 30 }));
    let health = ServerClient::new(&f.server.url);
    group.bench_function("baseline_health_round_trip", |b| b.iter(|| f.runtime.block_on(health.health()).unwrap()));
    group.bench_function("no_change_sync_round", |b| b.iter(|| f.runtime.block_on(sync::sync_once(black_box(&maker.store))).unwrap()));
    group.bench_function(format!("initial_pull_{pull_records}"), |b| {
        b.iter_batched(|| f.device(), |fresh| f.runtime.block_on(sync::sync_once(&fresh.store)).unwrap(), BatchSize::PerIteration)
    });
    group.bench_function(format!("baseline_bulk_insert_{pull_records}"), |b| {
        b.iter_batched(
            || {
                // A fresh device's file: the app's schema and indexes, no rows.
                let dir = tempfile::tempdir().unwrap();
                drop(LocalStore::open(dir.path()).unwrap());
                dir
            },
            |dir| {
                bulk_insert(&dir.path().join("bouquet.db"), pull_records);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    let batch = csv_of(push_records);
    group.bench_function(format!("push_{push_records}"), |b| {
        b.iter_batched(
            || {
                let device = f.device();
                device.store.import_contacts_csv(batch.as_bytes()).unwrap();
                device
            },
            |device| {
                // Only the push: a full round would also pull everything the account has.
                let server = sync::server_of(&device.store).unwrap();
                f.runtime.block_on(async {
                    while sync::push_once(&device.store, &server, sync::BATCH).await.unwrap() > 0 {}
                });
                // Closing the store (its WAL checkpoint) is not part of the push.
                device
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    // A write with its sync bookkeeping against the same row inserted plainly.
    let mut group = c.benchmark_group("outbox_write");
    group.measurement_time(Duration::from_secs(if quick() { 1 } else { 5 }));
    let plain_dir = tempfile::tempdir().unwrap();
    drop(LocalStore::open(plain_dir.path()).unwrap());
    let plain = rusqlite::Connection::open(plain_dir.path().join("bouquet.db")).unwrap();
    plain.pragma_update(None, "journal_mode", "WAL").unwrap();
    plain.pragma_update(None, "synchronous", "NORMAL").unwrap();
    let mut n = 0u64;
    group.bench_function("baseline_plain_insert", |b| {
        b.iter(|| {
            n += 1;
            plain
                .execute(
                    "INSERT INTO contacts (id, kind, names, email, created_at, updated_at) VALUES (?1, 'couple', ?2, ?3, ?4, ?4)",
                    rusqlite::params![uuid::Uuid::now_v7().to_string(), format!("Couple {n}"), format!("c{n}@example.com"), chrono::Utc::now().to_rfc3339()],
                )
                .unwrap()
        })
    });
    let tracked_dir = tempfile::tempdir().unwrap();
    let tracked = LocalStore::open(tracked_dir.path()).unwrap();
    group.bench_function("insert_with_clocks_and_outbox", |b| {
        b.iter(|| {
            n += 1;
            tracked.create_contact(ContactInput { names: format!("Couple {n}"), email: Some(format!("c{n}@example.com")), ..Default::default() }).unwrap()
        })
    });
    group.finish();
    f.runtime.block_on(f.server.stop());
    (pull_records, push_records)
}

/// The initial pull's baseline: the same number of contacts as the pull brings, with the
/// fields the CSV gave them, in one transaction through one prepared statement.
fn bulk_insert(path: &std::path::Path, n: usize) {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare("INSERT INTO contacts (id, kind, names, email, wedding_date, notes, created_at, updated_at) VALUES (?1, 'couple', ?2, ?3, ?4, ?5, ?6, ?6)")
            .unwrap();
        let now = chrono::Utc::now().to_rfc3339();
        for i in 0..n {
            let id = uuid::Uuid::now_v7().to_string();
            let wedding_date = format!("2027-06-{:02}", i % 28 + 1);
            insert
                .execute(rusqlite::params![id, format!("Couple {i}"), format!("couple{i}@example.com"), wedding_date, "met at the Bath show", now])
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

fn report_ratios(pull_records: usize, push_records: usize) {
    let mean = |group: &str, name: &str| criterion_mean(group, name);
    if let Some(base) = mean("sync", "baseline_health_round_trip") {
        println!("\nsync, against one GET /healthz round trip ({:.0} µs), measured in this run:", base / 1e3);
        if let Some(m) = mean("sync", "no_change_sync_round") {
            println!("  sync/no_change_sync_round: {:.1} ms = {:.1}× baseline", m / 1e6, m / base);
        }
        if let Some(pull) = mean("sync", &format!("initial_pull_{pull_records}")) {
            println!("  sync/initial_pull_{pull_records}: {:.0} ms = {:.0}× baseline, {:.1} µs per pulled record", pull / 1e6, pull / base, pull / 1e3 / pull_records as f64);
            if let Some(bulk) = mean("sync", &format!("baseline_bulk_insert_{pull_records}")) {
                println!("  a plain bulk insert of as many rows: {:.0} ms; the pull runs at {:.2} of its speed", bulk / 1e6, bulk / pull);
            }
        }
        if let Some(push) = mean("sync", &format!("push_{push_records}")) {
            println!("  sync/push_{push_records}: {:.0} ms = {:.0}× baseline, {:.1} µs per pushed change", push / 1e6, push / base, push / 1e3 / push_records as f64);
        }
    }
    if let (Some(base), Some(m)) = (mean("outbox_write", "baseline_plain_insert"), mean("outbox_write", "insert_with_clocks_and_outbox")) {
        println!("outbox write: plain insert {:.1} µs, with clocks and outbox {:.1} µs = {:.1}×", base / 1e3, m / 1e3, m / base);
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let (pull_records, push_records) = benches(&mut criterion);
    criterion.final_summary();
    report_ratios(pull_records, push_records);
}
