//! The load generator for requests that must each differ: `wrk` (Debian's), run as its
//! own process with a Lua script that writes every request's body. `oha` sends one body
//! over and over, and a platform event sent twice is a replay (answered from its first
//! outcome), not a second conversion.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// What one run of events found.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Events {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Responses with status 200.
    pub ok: u64,
    /// Of those, the ones whose outcome names a conversion.
    pub converted: u64,
    /// Everything else: other statuses, connection errors and timeouts.
    pub failed: u64,
}

/// Posts `users` platform events of `kind` (`signup` with a referral code, or `convert`
/// with a paid plan) to `url`, one per user `bench-<j>` for j in 0..users, over
/// `connections` connections; stops when every user's event is answered or after
/// `most_seconds`.
pub fn post_events(url: &str, key: &str, kind: &str, codes: &[String], users: u64, connections: u32, most_seconds: u64) -> Result<Events, String> {
    let threads = 2u64;
    let scratch = std::env::temp_dir().join(format!("bouquet-bench-{}-{kind}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let file = scratch.join("events.lua");
    std::fs::write(&file, script(key, kind, codes, users.div_ceil(threads), &scratch)).map_err(|e| e.to_string())?;
    let mut child = Command::new("wrk")
        .args(["-t", &threads.to_string(), "-c", &connections.to_string(), "-d", &format!("{most_seconds}s"), "--timeout", "10s"])
        .arg("-s")
        .arg(&file)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run wrk (scripts/bench installs it): {e}"))?;
    // wrk runs for its whole duration even when every thread has stopped; SIGINT ends it
    // at once with its figures (timed to then). Each thread leaves a file when its share
    // is answered.
    let finished = |n: u64| (0..n).all(|t| scratch.join(format!("thread-{t}.done")).exists());
    while !finished(threads) && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    if matches!(child.try_wait(), Ok(None)) {
        let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    }
    let output = child.wait_with_output().map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(&scratch);
    let output = output?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("wrk failed: {stdout}{stderr}"));
    }
    // The first answer that was not 200, as the script saw it.
    eprint!("{stderr}");
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).ok_or_else(|| format!("wrk printed no figures: {stdout}"))?;
    let raw: Raw = serde_json::from_str(line).map_err(|e| format!("wrk's figures: {e}: {line}"))?;
    let seconds = raw.duration_us as f64 / 1e6;
    Ok(Events {
        per_second: raw.ok as f64 / seconds,
        p50_ms: raw.p50_us as f64 / 1000.0,
        p99_ms: raw.p99_us as f64 / 1000.0,
        ok: raw.ok,
        converted: raw.converted,
        failed: raw.requests.saturating_sub(raw.ok) + raw.errors_connect + raw.errors_timeout,
    })
}

#[derive(Deserialize)]
struct Raw {
    requests: u64,
    duration_us: u64,
    ok: u64,
    converted: u64,
    errors_connect: u64,
    errors_timeout: u64,
    p50_us: u64,
    p99_us: u64,
}

/// Each of wrk's threads takes every other user (j = thread + 2k) and stops once its
/// share is answered. A few requests more than the share may already be on the wire
/// when it stops; they go to users past the end (`users` is rounded up, and signing up
/// is run for more users than converting).
fn script(key: &str, kind: &str, codes: &[String], per_thread: u64, scratch: &Path) -> String {
    let done = scratch.display();
    let codes = codes.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(",");
    let extra = if kind == "signup" {
        r#"',"code":"' .. codes[(j % #codes) + 1] .. '"'"#
    } else {
        r#"',"plan":"professional","value":{"amount_minor":4900,"currency":"GBP"}'"#
    };
    format!(
        r#"
local threads = {{}}
local next_id = 0
codes = {{{codes}}}

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  k = 0
  answered = 0
  ok = 0
  converted = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer {key}"
end

function request()
  local j = id + 2 * k
  k = k + 1
  local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local body = '{{"idempotency_key":"bench-{kind}-' .. j .. '","type":"{kind}","occurred_at":"' .. now ..
    '","user":{{"id":"bench-' .. j .. '","kind":"couple","email":"bench-' .. j .. '@mail.example","ip":"10.' ..
    (j % 250) .. '.' .. (math.floor(j / 250) % 250) .. '.' .. (math.floor(j / 62500) % 250 + 1) .. '"}}' .. {extra} .. '}}'
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 and first_failure == nil then
    first_failure = status .. " " .. string.sub(body, 1, 300)
  end
  if status == 200 then
    ok = ok + 1
    if string.find(body, '"conversion":{{', 1, true) then
      converted = converted + 1
    end
  end
  if answered == {per_thread} then
    local marker = io.open("{done}/thread-" .. id .. ".done", "w")
    marker:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local all_ok, all_converted = 0, 0
  for _, thread in ipairs(threads) do
    all_ok = all_ok + thread:get("ok")
    all_converted = all_converted + thread:get("converted")
    local failure = thread:get("first_failure")
    if failure ~= nil then
      io.stderr:write("first failed answer: " .. failure .. "\n")
    end
  end
  io.write(string.format('{{"requests":%d,"duration_us":%d,"ok":%d,"converted":%d,"errors_connect":%d,"errors_timeout":%d,"p50_us":%d,"p99_us":%d}}\n',
    summary.requests, summary.duration, all_ok, all_converted, summary.errors.connect, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#
    )
}
