//! Reads what criterion's in-process benchmarks measured (`cargo bench` with
//! `CRITERION_HOME` set to the run's results folder, as `scripts/bench` does), so the
//! report holds them beside their baselines.

use std::path::Path;

use serde::Deserialize;

/// One benchmark's mean, as criterion estimated it.
#[derive(Debug, Clone)]
pub struct Estimate {
    pub group: String,
    pub function: String,
    /// The parameter of a `BenchmarkId` (a data size here), if it had one.
    pub value: Option<String>,
    pub mean_ns: f64,
}

impl Estimate {
    pub fn ms(&self) -> f64 {
        self.mean_ns / 1e6
    }
}

#[derive(Deserialize)]
struct BenchmarkJson {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
}

#[derive(Deserialize)]
struct PointEstimate {
    point_estimate: f64,
}

#[derive(Deserialize)]
struct EstimatesJson {
    mean: PointEstimate,
}

/// Every benchmark under `dir` (criterion's output folder); empty when there is none.
pub fn read(dir: &Path) -> Result<Vec<Estimate>, String> {
    let mut found = Vec::new();
    walk(dir, &mut found)?;
    found.sort_by(|a: &Estimate, b| (&a.group, &a.function, size_of(a)).cmp(&(&b.group, &b.function, size_of(b))));
    Ok(found)
}

fn size_of(e: &Estimate) -> u64 {
    e.value.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn walk(dir: &Path, found: &mut Vec<Estimate>) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        // Criterion keeps the last run in `new/` (and the one before in `base/`).
        if path.file_name().is_some_and(|n| n == "new") {
            let (Ok(benchmark), Ok(estimates)) = (std::fs::read_to_string(path.join("benchmark.json")), std::fs::read_to_string(path.join("estimates.json")))
            else {
                continue;
            };
            let parse_err = |e: serde_json::Error| format!("{}: {e}", path.display());
            let benchmark: BenchmarkJson = serde_json::from_str(&benchmark).map_err(parse_err)?;
            let estimates: EstimatesJson = serde_json::from_str(&estimates).map_err(parse_err)?;
            found.push(Estimate {
                group: benchmark.group_id,
                function: benchmark.function_id.unwrap_or_default(),
                value: benchmark.value_str,
                mean_ns: estimates.mean.point_estimate,
            });
        } else if path.file_name().is_some_and(|n| n != "base" && n != "report" && n != "change") {
            walk(&path, found)?;
        }
    }
    Ok(())
}

/// The mean of `group`/`function` (with `value`, if given), if this run measured it.
pub fn find<'a>(all: &'a [Estimate], group: &str, function: &str, value: Option<&str>) -> Option<&'a Estimate> {
    all.iter().find(|e| e.group == group && e.function == function && e.value.as_deref() == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_benchmark(root: &Path, dir: &str, benchmark: &str, mean_ns: f64) {
        let new = root.join(dir).join("new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(new.join("benchmark.json"), benchmark).unwrap();
        std::fs::write(new.join("estimates.json"), format!(r#"{{"mean":{{"point_estimate":{mean_ns},"standard_error":1.0}},"median":{{"point_estimate":1.0}}}}"#))
            .unwrap();
    }

    #[test]
    fn reads_plain_and_parameterised_benchmarks_and_skips_the_previous_run() {
        let root = tempfile::tempdir().unwrap();
        write_benchmark(root.path(), "qr/svg_512", r#"{"group_id":"qr","function_id":"svg_512","value_str":null}"#, 250_000.0);
        write_benchmark(
            root.path(),
            "analytics/sqlite_platform/100000",
            r#"{"group_id":"analytics","function_id":"sqlite/platform","value_str":"100000"}"#,
            42_000_000.0,
        );
        write_benchmark(
            root.path(),
            "analytics/sqlite_platform/10000",
            r#"{"group_id":"analytics","function_id":"sqlite/platform","value_str":"10000"}"#,
            9_000_000.0,
        );
        // The run before, which criterion keeps in `base/`: not this run's figure.
        let base = root.path().join("qr/svg_512/base");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("benchmark.json"), r#"{"group_id":"qr","function_id":"svg_512","value_str":null}"#).unwrap();
        std::fs::write(base.join("estimates.json"), r#"{"mean":{"point_estimate":1.0}}"#).unwrap();

        let all = read(root.path()).unwrap();
        assert_eq!(all.len(), 3, "{all:?}");
        assert_eq!(find(&all, "qr", "svg_512", None).unwrap().mean_ns, 250_000.0);
        assert_eq!(find(&all, "analytics", "sqlite/platform", Some("100000")).unwrap().ms(), 42.0);
        // Sizes in numeric order, not text order.
        let sizes: Vec<_> = all.iter().filter(|e| e.group == "analytics").map(|e| e.value.clone().unwrap()).collect();
        assert_eq!(sizes, ["10000", "100000"]);
    }

    #[test]
    fn a_folder_without_benchmarks_reads_as_none() {
        let root = tempfile::tempdir().unwrap();
        assert!(read(root.path()).unwrap().is_empty());
        assert!(read(&root.path().join("missing")).unwrap().is_empty());
    }
}
