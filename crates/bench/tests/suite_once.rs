//! The suite run once, small and short, as a test (CI catches a benchmark that breaks):
//! the real server binary under oha on 2,000 referrals for a second per load on both
//! backends, then the report written into a copy of docs/performance.md.

use std::path::PathBuf;
use std::process::Command;

const BENCH: &str = env!("CARGO_BIN_EXE_bouquet-bench");

/// The server binary the workspace's tests build beside this one.
fn server_binary() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let bin = deps.parent().and_then(|d| d.parent()).unwrap().join("bouquet-server");
    assert!(bin.exists(), "build the server first (cargo build -p bouquet-server): {}", bin.display());
    bin
}

fn backends() -> &'static str {
    if std::env::var("BOUQUET_TEST_DATABASE_URL").is_ok() || std::env::var("CI").as_deref() == Ok("true") {
        "sqlite,postgres"
    } else {
        "sqlite"
    }
}

/// Runs one of the suite's commands with `args` on both backends (as configured), writing
/// to `results`; the figures it wrote, one per backend.
fn run_once(args: &[&str], results: &std::path::Path) -> Vec<serde_json::Value> {
    let backends = backends();
    let status = Command::new(BENCH)
        .args(args)
        .args(["--backends", backends, "--server"])
        .arg(server_binary())
        .arg("--results")
        .arg(results)
        .status()
        .unwrap();
    assert!(status.success());
    let figures: Vec<serde_json::Value> =
        std::fs::read_to_string(results).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(figures.len(), backends.split(',').count());
    figures
}

#[test]
fn the_landing_load_runs_and_its_report_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("landing.jsonl");
    let figures = run_once(&["landing", "--sizes", "2000", "--seconds", "1", "--connections", "8"], &results);
    for f in &figures {
        let ok = f["server"]["ok"].as_u64().unwrap() + f["half_load"]["ok"].as_u64().unwrap();
        assert!(ok > 100, "{f}");
        assert_eq!(f["server"]["failed"].as_u64(), Some(0), "{f}");
        // Every visit answered was recorded once the server stopped.
        let recorded = f["touches_recorded"].as_u64().unwrap();
        let cut_off = f["server"]["cut_off"].as_u64().unwrap() + f["half_load"]["cut_off"].as_u64().unwrap();
        assert!(recorded >= ok && recorded <= ok + cut_off, "{recorded} touches for {ok} answers (+{cut_off} cut off): {f}");
        assert!(f["bare"]["requests_per_second"].as_f64().unwrap() > 0.0);
    }

    let doc = dir.path().join("performance.md");
    std::fs::write(&doc, "# Performance\n\nBefore.\n\n<!-- bench:landing -->\nold figures\n<!-- /bench:landing -->\n\nAfter.\n").unwrap();
    let status = Command::new(BENCH).args(["report", "--results"]).arg(dir.path()).arg("--out").arg(&doc).status().unwrap();
    assert!(status.success());
    let written = std::fs::read_to_string(&doc).unwrap();
    assert!(written.starts_with("# Performance\n\nBefore.") && written.ends_with("After.\n"), "{written}");
    assert!(!written.contains("old figures"));
    assert!(written.contains("| sqlite | 2,000 |"), "{written}");
    let svg = std::fs::read_to_string(dir.path().join("performance").join("landing.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("sqlite"), "the plot has its legend");
}

/// 300 couples sign up with codes and convert: every one is answered, attributed and
/// rewarded, and the baseline ran.
#[test]
fn the_conversion_load_runs() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("convert.jsonl");
    let figures = run_once(&["convert", "--sizes", "2000", "--couples", "300", "--most-seconds", "60", "--connections", "8"], &results);
    for f in &figures {
        assert_eq!(f["signups"]["failed"].as_u64(), Some(0), "{f}");
        assert_eq!(f["converts"]["failed"].as_u64(), Some(0), "{f}");
        let converted = f["converts"]["converted"].as_u64().unwrap();
        assert!((300..=316).contains(&converted), "every couple who signed up with a code converts once: {f}");
        // A conversion writes its event, the conversion, its credit, the reward, ledger
        // rows and more: a handful of rows, not one and not hundreds.
        let rows = f["rows_per_conversion"].as_f64().unwrap();
        assert!((3.0..50.0).contains(&rows), "{f}");
        assert!(f["raw_per_second"].as_f64().unwrap() > 0.0);
    }
}
