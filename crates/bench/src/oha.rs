//! The load generator: `oha` (crates.io), run as its own process, read from its JSON.

use std::process::Command;

use serde::{Deserialize, Serialize};

/// What one run of load found.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Load {
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Responses with status 200.
    pub ok: u64,
    /// Everything else, connection errors included.
    pub failed: u64,
    /// Requests in flight when the time ran out: the server may have answered them.
    pub cut_off: u64,
}

/// A page a phone asks for: a browser's user agent (a bot's visit records no touch).
pub const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

/// Loads `url` for `seconds` over `connections` connections, as fast as it answers or at
/// `rate` requests per second. No cookies are kept: every request is a new visitor.
pub fn run(url: &str, seconds: u64, connections: u32, rate: Option<f64>) -> Result<Load, String> {
    let mut oha = Command::new(std::env::var("OHA").unwrap_or_else(|_| "oha".into()));
    oha.args(["--no-tui", "--output-format", "json", "-z", &format!("{seconds}s"), "-c", &connections.to_string()])
        .args(["-H", &format!("User-Agent: {PHONE}")]);
    if let Some(rate) = rate {
        // Latency counted from when each request should have left, not when it did
        // (no coordinated omission).
        oha.args(["-q", &format!("{rate:.0}"), "--latency-correction"]);
    }
    let output = oha.arg(url).output().map_err(|e| format!("cannot run oha (scripts/bench installs it): {e}"))?;
    if !output.status.success() {
        return Err(format!("oha failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    parse(&output.stdout)
}

fn parse(json: &[u8]) -> Result<Load, String> {
    let v: serde_json::Value = serde_json::from_slice(json).map_err(|e| format!("oha's answer is not JSON: {e}"))?;
    let number = |path: &[&str]| -> Result<f64, String> {
        path.iter()
            .try_fold(&v, |at, key| at.get(key))
            .and_then(|n| n.as_f64())
            .ok_or_else(|| format!("oha's JSON has no {}", path.join(".")))
    };
    let statuses = v.get("statusCodeDistribution").and_then(|s| s.as_object()).cloned().unwrap_or_default();
    let count = |pred: &dyn Fn(&str) -> bool| statuses.iter().filter(|(k, _)| pred(k)).filter_map(|(_, n)| n.as_u64()).sum::<u64>();
    let errors = v.get("errorDistribution").and_then(|e| e.as_object()).cloned().unwrap_or_default();
    let errors_where = |pred: &dyn Fn(&str) -> bool| errors.iter().filter(|(k, _)| pred(k)).filter_map(|(_, n)| n.as_u64()).sum::<u64>();
    let deadline = |k: &str| k.contains("deadline");
    Ok(Load {
        requests_per_second: number(&["summary", "requestsPerSec"])?,
        p50_ms: number(&["latencyPercentiles", "p50"])? * 1000.0,
        p99_ms: number(&["latencyPercentiles", "p99"])? * 1000.0,
        ok: count(&|k| k == "200"),
        failed: count(&|k| k != "200") + errors_where(&|k| !deadline(k)),
        cut_off: errors_where(&deadline),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_oha_json() {
        let json = br#"{"summary":{"successRate":1.0,"requestsPerSec":5123.5},
            "latencyPercentiles":{"p50":0.0021,"p99":0.0153},
            "statusCodeDistribution":{"200":51000,"429":12},"errorDistribution":{"aborted due to deadline":30}}"#;
        let load = super::parse(json).unwrap();
        assert_eq!((load.ok, load.failed, load.cut_off), (51000, 12, 30));
        assert!((load.p99_ms - 15.3).abs() < 1e-9 && (load.requests_per_second - 5123.5).abs() < 1e-9);
        assert!(super::parse(b"{}").unwrap_err().contains("summary.requestsPerSec"));
    }
}
