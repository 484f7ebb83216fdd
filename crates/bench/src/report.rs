//! Writes the measured figures into `docs/performance.md`, between markers, so the
//! hand-written analysis around them stays; and the plots beside it.

use std::path::Path;

use plotters::prelude::*;

use crate::convert::Figure as ConvertFigure;
use crate::criterion::{self, Estimate, find};
use crate::landing::Figure;

/// Reads a results file of JSON lines; `None` when this run did not write it.
fn figures<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<Vec<T>>, String> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(None) };
    let figures: Vec<T> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{}: {e}", path.display())))
        .collect::<Result<_, _>>()?;
    Ok(Some(figures).filter(|f| !f.is_empty()))
}

/// Replaces the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`.
fn replace_section(doc: &str, name: &str, body: &str) -> Result<String, String> {
    let (start, end) = (format!("<!-- bench:{name} -->"), format!("<!-- /bench:{name} -->"));
    let (Some(a), Some(b)) = (doc.find(&start), doc.find(&end)) else {
        return Err(format!("the document has no {start} … {end} section"));
    };
    Ok(format!("{}{start}\n{body}\n{end}{}", &doc[..a], &doc[b + end.len()..]))
}

/// Writes every section this run has results for; the others stay as they were.
/// Criterion's figures are read from `results/criterion` (`CRITERION_HOME` in
/// `scripts/bench`).
pub fn write(results: &Path, out: &Path) -> Result<(), String> {
    let landing: Option<Vec<Figure>> = figures(&results.join("landing.jsonl"))?;
    let convert: Option<Vec<ConvertFigure>> = figures(&results.join("convert.jsonl"))?;
    let in_process = criterion::read(&results.join("criterion"))?;
    let desktop: Option<Vec<Desktop>> = figures(&results.join("desktop.jsonl"))?;
    if landing.is_none() && convert.is_none() && in_process.is_empty() && desktop.is_none() {
        return Err(format!("{} holds no figures", results.display()));
    }
    let plots = out.parent().unwrap_or(Path::new(".")).join("performance");
    std::fs::create_dir_all(&plots).map_err(|e| e.to_string())?;
    let mut doc = std::fs::read_to_string(out).map_err(|e| format!("{}: {e}", out.display()))?;
    if let Some(figures) = &landing {
        plot(figures, &plots.join("landing.svg"))?;
        doc = replace_section(&doc, "landing", &table(figures))?;
    }
    if let Some(figures) = &convert {
        doc = replace_section(&doc, "convert", &convert_table(figures))?;
    }
    if let Some(body) = qr_table(&in_process) {
        doc = replace_section(&doc, "qr", &body)?;
    }
    if let Some(body) = sync_table(&in_process) {
        doc = replace_section(&doc, "sync", &body)?;
    }
    if let Some(rows) = dashboard_rows(&in_process) {
        plot_dashboards(&rows, &plots.join("dashboards.svg"))?;
        doc = replace_section(&doc, "dashboards", &dashboard_table(&rows))?;
    }
    if let Some(body) = in_process_table(&in_process) {
        doc = replace_section(&doc, "in-process", &body)?;
    }
    if let Some(figures) = &desktop {
        doc = replace_section(&doc, "desktop", &desktop_table(figures))?;
    }
    std::fs::write(out, doc).map_err(|e| e.to_string())?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

fn convert_table(figures: &[ConvertFigure]) -> String {
    let mut md = String::from(
        "| backend | referrals | conversions/s (goal ≥ 1,000) | p50 / p99 ms | raw transactions/s of the same rows | ratio | rows per conversion | sign-ups/s | p99 ms |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for f in figures {
        md.push_str(&format!(
            "| {} | {} | **{:.0}** | {:.1} / {:.1} | {:.0} | {:.2} | {:.1} | {:.0} | {:.1} |\n",
            f.backend,
            thousands(f.referrals),
            f.converts.per_second,
            f.converts.p50_ms,
            f.converts.p99_ms,
            f.raw_per_second,
            f.ratio(),
            f.rows_per_conversion,
            f.signups.per_second,
            f.signups.p99_ms,
        ));
    }
    md
}

fn table(figures: &[Figure]) -> String {
    let mut md = String::from(
        "| backend | referrals | server req/s | bare req/s | ratio (goal ≥ 0.50) | p50 / p99 ms at full load | p99 ms at half load (goal < 10) | touches lost |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for f in figures {
        md.push_str(&format!(
            "| {} | {} | {:.0} | {:.0} | **{:.2}** | {:.1} / {:.1} | {:.1} | {} |\n",
            f.backend,
            thousands(f.referrals),
            f.server.requests_per_second,
            f.bare.requests_per_second,
            f.ratio(),
            f.server.p50_ms,
            f.server.p99_ms,
            f.half_load.p99_ms,
            f.touches_lost()
        ));
    }
    md.push_str(&format!("\nThe page is {} bytes. ![Landing throughput and p99 against data size](performance/landing.svg)\n", figures[0].page_bytes));
    md
}

/// A duration for a table: µs below a millisecond, ms below a second, then seconds.
fn duration(ns: f64) -> String {
    if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.1} s", ns / 1e9)
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

fn qr_table(all: &[Estimate]) -> Option<String> {
    let base = find(all, "qr", "baseline_encode_matrix", None)?;
    let mut md = format!(
        "| figure | time | × encoding the QR matrix alone ({}) | goal | |\n|---|---:|---:|---:|---|\n",
        duration(base.mean_ns)
    );
    for (what, name, goal_ms) in [
        ("SVG, 512 px", "svg_512", 1.0),
        ("PNG, 512 px", "png_512", 5.0),
        ("a sheet of 100 table cards (PDF, A4)", "pdf_sheet_100_cards_a4", 1000.0),
    ] {
        let Some(e) = find(all, "qr", name, None) else { continue };
        md.push_str(&format!(
            "| {what} | {} | {:.1} | ≤ {} | {} |\n",
            duration(e.mean_ns),
            e.mean_ns / base.mean_ns,
            duration(goal_ms * 1e6),
            verdict(e.ms() <= goal_ms)
        ));
    }
    Some(md)
}

/// The size a `sync` benchmark was run at (`initial_pull_100000` → 100000).
fn sized<'a>(all: &'a [Estimate], prefix: &str) -> Option<(&'a Estimate, u64)> {
    all.iter().filter(|e| e.group == "sync").find_map(|e| Some((e, e.function.strip_prefix(prefix)?.parse().ok()?)))
}

fn sync_table(all: &[Estimate]) -> Option<String> {
    let round_trip = find(all, "sync", "baseline_health_round_trip", None)?;
    let mut md = String::from("| figure | time | baseline (same run) | ratio | goal | |\n|---|---:|---|---:|---|---|\n");
    if let Some((pull, n)) = sized(all, "initial_pull_") {
        if let Some(bulk) = find(all, "sync", &format!("baseline_bulk_insert_{n}"), None) {
            let speed = bulk.mean_ns / pull.mean_ns;
            md.push_str(&format!(
                "| initial pull of {} records into a fresh device ({:.1} µs per record) | {} | a plain bulk insert of as many rows: {} | {:.2} of its speed | ≥ 0.50 | {} |\n",
                thousands(n),
                pull.mean_ns / 1e3 / n as f64,
                duration(pull.mean_ns),
                duration(bulk.mean_ns),
                speed,
                verdict(speed >= 0.5)
            ));
        }
    }
    if let Some((push, n)) = sized(all, "push_") {
        md.push_str(&format!(
            "| push of {} outbox entries | {} | one `GET /healthz` round trip: {} | {:.0}× | < 2 s{} | {} |\n",
            thousands(n),
            duration(push.mean_ns),
            duration(round_trip.mean_ns),
            push.mean_ns / round_trip.mean_ns,
            if n == 10_000 { "" } else { " (for 10,000)" },
            verdict(push.mean_ns < 2e9 * n as f64 / 10_000.0)
        ));
    }
    if let Some(round) = find(all, "sync", "no_change_sync_round", None) {
        md.push_str(&format!(
            "| a sync round with nothing to do | {} | one `GET /healthz` round trip: {} | {:.1}× | | |\n",
            duration(round.mean_ns),
            duration(round_trip.mean_ns),
            round.mean_ns / round_trip.mean_ns
        ));
    }
    if let (Some(plain), Some(tracked)) = (find(all, "outbox_write", "baseline_plain_insert", None), find(all, "outbox_write", "insert_with_clocks_and_outbox", None)) {
        let ratio = tracked.mean_ns / plain.mean_ns;
        md.push_str(&format!(
            "| a contact saved with its clocks and outbox entry | {} | a plain insert of the row: {} | {:.2}× | ≤ 1.5× | {} |\n",
            duration(tracked.mean_ns),
            duration(plain.mean_ns),
            ratio,
            verdict(ratio <= 1.5)
        ));
    }
    Some(md)
}

/// What `tests/desktop/measure.mjs` measured of the built app.
#[derive(serde::Deserialize)]
struct Desktop {
    profile: String,
    contacts: u64,
    launch_ms: f64,
    memory: DesktopMemory,
    search: DesktopSearch,
}

#[derive(serde::Deserialize)]
struct DesktopMemory {
    rss_mib: f64,
    pss_mib: f64,
    processes: u32,
    /// Each process's share (absent from older runs' results).
    #[serde(default)]
    by_process: Vec<ProcessMemory>,
}

#[derive(serde::Deserialize)]
struct ProcessMemory {
    name: String,
    pss_mib: f64,
}

#[derive(serde::Deserialize)]
struct DesktopSearch {
    median_ms: f64,
    max_ms: f64,
    backend_median_ms: f64,
}

fn desktop_table(figures: &[Desktop]) -> String {
    let mut md = String::from(
        "| build | contacts | launch to first painted screen (goal < 1.5 s) | memory after every screen, RSS / PSS of the app's processes (goal < 200 MB) | a search, keystroke to painted list: median / max (goal < 50 ms) | of which the query through IPC |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for f in figures {
        let (rss_mb, pss_mb) = (f.memory.rss_mib * 1.048_576, f.memory.pss_mib * 1.048_576);
        let shares: Vec<String> = f.memory.by_process.iter().map(|p| format!("{} {:.0}", p.name, p.pss_mib * 1.048_576)).collect();
        let shares = if shares.is_empty() { String::new() } else { format!(": {}", shares.join(", ")) };
        md.push_str(&format!(
            "| {} | {} | **{:.0} ms** ({}) | {:.0} / **{:.0} MB** in {} processes{} ({}) | **{:.1}** / {:.1} ms ({}) | {:.1} ms |\n",
            f.profile,
            thousands(f.contacts),
            f.launch_ms,
            verdict(f.launch_ms < 1500.0),
            rss_mb,
            pss_mb,
            f.memory.processes,
            shares,
            verdict(pss_mb < 200.0),
            f.search.median_ms,
            f.search.max_ms,
            verdict(f.search.max_ms < 50.0),
            f.search.backend_median_ms,
        ));
    }
    md
}

/// One backend and size of the dashboards' benchmark.
struct DashboardRow {
    backend: String,
    referrals: u64,
    count_ms: f64,
    supplier_ms: f64,
    platform_ms: f64,
}

fn dashboard_rows(all: &[Estimate]) -> Option<Vec<DashboardRow>> {
    let mut rows = Vec::new();
    for backend in ["sqlite", "postgres"] {
        for count in all.iter().filter(|e| e.group == "analytics" && e.function == format!("{backend}/count_of_the_rows")) {
            let value = count.value.as_deref();
            let (Some(supplier), Some(platform)) =
                (find(all, "analytics", &format!("{backend}/one_supplier"), value), find(all, "analytics", &format!("{backend}/platform"), value))
            else {
                continue;
            };
            rows.push(DashboardRow {
                backend: backend.into(),
                referrals: value.and_then(|v| v.parse().ok()).unwrap_or(0),
                count_ms: count.ms(),
                supplier_ms: supplier.ms(),
                platform_ms: platform.ms(),
            });
        }
    }
    Some(rows).filter(|r| !r.is_empty())
}

fn dashboard_table(rows: &[DashboardRow]) -> String {
    let mut md = String::from(
        "| backend | referrals | `COUNT(*)` of the year's referrals (baseline) ms | one supplier's analytics ms | the platform's analytics ms | platform / baseline | goal < 300 ms |\n\
         |---|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        md.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | **{:.1}** | {:.2} | {} |\n",
            r.backend,
            thousands(r.referrals),
            r.count_ms,
            r.supplier_ms,
            r.platform_ms,
            r.platform_ms / r.count_ms,
            verdict(r.supplier_ms < 300.0 && r.platform_ms < 300.0)
        ));
    }
    md.push_str("\n![Dashboards' time against data size, beside the baseline count](performance/dashboards.svg)\n");
    md
}

/// Every other in-process benchmark, each against its group's baseline (the benchmark
/// whose name starts with `baseline`), where the group has one.
fn in_process_table(all: &[Estimate]) -> Option<String> {
    let shown_elsewhere = ["qr", "sync", "outbox_write", "analytics"];
    let rest: Vec<&Estimate> = all.iter().filter(|e| !shown_elsewhere.contains(&e.group.as_str())).collect();
    if rest.is_empty() {
        return None;
    }
    let mut md = String::from("| benchmark | mean | × its group's baseline |\n|---|---:|---|\n");
    for e in rest {
        let base = all.iter().find(|b| b.group == e.group && b.function.starts_with("baseline"));
        let ratio = match base {
            Some(b) if !std::ptr::eq(b, e) => format!("{:.2}× `{}`", e.mean_ns / b.mean_ns, b.function),
            _ => String::new(),
        };
        let name = match &e.value {
            Some(v) => format!("{}/{}/{v}", e.group, e.function),
            None => format!("{}/{}", e.group, e.function),
        };
        md.push_str(&format!("| `{name}` | {} | {ratio} |\n", duration(e.mean_ns)));
    }
    Some(md)
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Two panels: the throughput ratio, and the p99 at half load, against referrals (log).
fn plot(figures: &[Figure], path: &Path) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("plotting {}: {e}", path.display());
    let root = SVGBackend::new(path, (900, 380)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (left, right) = root.split_horizontally(450);
    let sizes: Vec<u64> = figures.iter().map(|f| f.referrals).collect();
    let (lo, hi) = (*sizes.iter().min().unwrap() as f64, (*sizes.iter().max().unwrap() as f64).max(sizes[0] as f64 * 10.0));
    let backends = ["sqlite", "postgres"];
    let colours = [RGBColor(31, 119, 180), RGBColor(214, 39, 40)];

    let panels: [(&DrawingArea<SVGBackend, _>, &str, f64, fn(&Figure) -> f64); 2] = [
        (&left, "throughput / bare handler", 1.0, |f| f.ratio()),
        (&right, "p99 ms at half load", 0.0, |f| f.half_load.p99_ms),
    ];
    for (area, title, floor, value) in panels {
        let top = figures.iter().map(value).fold(floor, f64::max) * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d((lo * 0.8..hi * 1.25).log_scale(), 0.0..top.max(0.01))
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("referrals in the database")
            .x_label_formatter(&|x| thousands(*x as u64))
            .draw()
            .map_err(|e| err(&e))?;
        for (backend, colour) in backends.iter().zip(colours) {
            let points: Vec<(f64, f64)> = figures.iter().filter(|f| f.backend == *backend).map(|f| (f.referrals as f64, value(f))).collect();
            if points.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(*backend)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, colour.filled()))).map_err(|e| err(&e))?;
        }
        chart.configure_series_labels().border_style(BLACK).background_style(WHITE).draw().map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// The dashboards' time against referrals (both axes logarithmic, so flat, logarithmic
/// and linear growth read apart): each report and the baseline count, per backend.
fn plot_dashboards(rows: &[DashboardRow], path: &Path) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("plotting {}: {e}", path.display());
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let sizes = rows.iter().map(|r| r.referrals as f64);
    let (lo, hi) = (sizes.clone().fold(f64::MAX, f64::min), sizes.fold(0.0, f64::max));
    let times = rows.iter().flat_map(|r| [r.count_ms, r.supplier_ms, r.platform_ms]);
    let (fastest, slowest) = (times.clone().fold(f64::MAX, f64::min), times.fold(0.0, f64::max).max(300.0));
    let mut chart = ChartBuilder::on(&root)
        .caption("dashboards: ms against referrals in the database", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d((lo * 0.8..hi.max(lo * 10.0) * 1.25).log_scale(), (fastest.max(0.01) * 0.5..slowest * 2.0).log_scale())
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("referrals in the database")
        .y_desc("ms")
        .x_label_formatter(&|x| thousands(*x as u64))
        .draw()
        .map_err(|e| err(&e))?;
    let reports: [(&str, fn(&DashboardRow) -> f64, u32); 3] =
        [("platform", |r| r.platform_ms, 3), ("one supplier", |r| r.supplier_ms, 2), ("COUNT(*) baseline", |r| r.count_ms, 1)];
    for (backend, colour) in [("sqlite", RGBColor(31, 119, 180)), ("postgres", RGBColor(214, 39, 40))] {
        for (what, value, width) in reports {
            let points: Vec<(f64, f64)> = rows.iter().filter(|r| r.backend == backend).map(|r| (r.referrals as f64, value(r))).collect();
            if points.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(width)))
                .map_err(|e| err(&e))?
                .label(format!("{backend}: {what}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(width)));
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, colour.filled()))).map_err(|e| err(&e))?;
        }
    }
    let goal = vec![(lo * 0.8, 300.0), (hi.max(lo * 10.0) * 1.25, 300.0)];
    chart
        .draw_series(LineSeries::new(goal, BLACK.stroke_width(1)))
        .map_err(|e| err(&e))?
        .label("goal: 300 ms")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(1)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(results: &Path, group: &str, function: &str, value: Option<u64>, mean_ns: f64) {
        let mut dir = results.join("criterion").join(group).join(function.replace('/', "_"));
        if let Some(v) = value {
            dir = dir.join(v.to_string());
        }
        let new = dir.join("new");
        std::fs::create_dir_all(&new).unwrap();
        let value_str = value.map_or("null".to_string(), |v| format!("\"{v}\""));
        std::fs::write(new.join("benchmark.json"), format!(r#"{{"group_id":"{group}","function_id":"{function}","value_str":{value_str}}}"#)).unwrap();
        std::fs::write(new.join("estimates.json"), format!(r#"{{"mean":{{"point_estimate":{mean_ns}}}}}"#)).unwrap();
    }

    const SECTIONS: &str = "# Performance\n\n<!-- bench:landing -->\nkept\n<!-- /bench:landing -->\n\
        <!-- bench:qr -->\nold\n<!-- /bench:qr -->\n<!-- bench:sync -->\nold\n<!-- /bench:sync -->\n\
        <!-- bench:dashboards -->\nold\n<!-- /bench:dashboards -->\n<!-- bench:in-process -->\nold\n<!-- /bench:in-process -->\n\
        <!-- bench:desktop -->\nold\n<!-- /bench:desktop -->\nEnd.\n";

    #[test]
    fn criterions_figures_are_written_against_their_baselines_and_goals() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("results");
        measured(&results, "qr", "baseline_encode_matrix", None, 100_000.0);
        measured(&results, "qr", "svg_512", None, 300_000.0);
        measured(&results, "qr", "png_512", None, 6_000_000.0);
        measured(&results, "sync", "baseline_health_round_trip", None, 100_000.0);
        measured(&results, "sync", "initial_pull_100000", None, 4e9);
        measured(&results, "sync", "baseline_bulk_insert_100000", None, 1e9);
        measured(&results, "sync", "push_10000", None, 1.5e9);
        measured(&results, "outbox_write", "baseline_plain_insert", None, 10_000.0);
        measured(&results, "outbox_write", "insert_with_clocks_and_outbox", None, 14_000.0);
        for (n, platform) in [(10_000, 20e6), (100_000, 40e6)] {
            measured(&results, "analytics", "sqlite/count_of_the_rows", Some(n), 1e6);
            measured(&results, "analytics", "sqlite/one_supplier", Some(n), 5e6);
            measured(&results, "analytics", "sqlite/platform", Some(n), platform);
        }
        measured(&results, "rewards", "baseline_round_trip", None, 50_000.0);
        measured(&results, "rewards", "conversion_with_rewards", None, 500_000.0);
        std::fs::write(
            results.join("desktop.jsonl"),
            r#"{"profile":"release","contacts":10000,"launch_ms":812.4,"memory":{"rss_mib":300.0,"pss_mib":150.0,"processes":3,"by_process":[{"name":"bouquet-app","rss_mib":100.0,"pss_mib":50.0},{"name":"WebKitWebProces","rss_mib":200.0,"pss_mib":100.0}]},"search":{"median_ms":21.5,"max_ms":64.0,"backend_median_ms":4.2,"samples":9}}"#,
        )
        .unwrap();
        let doc = dir.path().join("performance.md");
        std::fs::write(&doc, SECTIONS).unwrap();

        write(&results, &doc).unwrap();
        let written = std::fs::read_to_string(&doc).unwrap();
        assert!(!written.contains("old") && written.contains("kept") && written.ends_with("End.\n"), "{written}");
        // QR: each against the matrix's encoding, and its goal.
        assert!(written.contains("| SVG, 512 px | 300.0 µs | 3.0 | ≤ 1.0 ms | met |"), "{written}");
        assert!(written.contains("| PNG, 512 px | 6.0 ms | 60.0 | ≤ 5.0 ms | **missed** |"), "{written}");
        // Sync: the pull at a quarter of the bulk insert's speed misses ≥ 0.50.
        assert!(written.contains("initial pull of 100,000 records into a fresh device (40.0 µs per record) | 4.0 s"), "{written}");
        assert!(written.contains("| 0.25 of its speed | ≥ 0.50 | **missed** |"), "{written}");
        assert!(written.contains("| push of 10,000 outbox entries | 1.5 s |"), "{written}");
        assert!(written.contains("| 1.40× | ≤ 1.5× | met |"), "{written}");
        // Dashboards: a row per size, and the plot.
        assert!(written.contains("| sqlite | 100,000 | 1.0 | 5.0 | **40.0** | 40.00 | met |"), "{written}");
        let svg = std::fs::read_to_string(dir.path().join("performance/dashboards.svg")).unwrap();
        assert!(svg.contains("sqlite: platform") && svg.contains("goal: 300 ms"));
        // The rest, against its group's baseline.
        assert!(written.contains("| `rewards/conversion_with_rewards` | 500.0 µs | 10.00× `baseline_round_trip` |"), "{written}");
        // The desktop app: PSS (not RSS, which counts WebKit's shared pages per process)
        // against the memory goal; the slowest search against 50 ms.
        assert!(written.contains("| release | 10,000 | **812 ms** (met) | 315 / **157 MB** in 3 processes: bouquet-app 52, WebKitWebProces 105 (met) | **21.5** / 64.0 ms (**missed**) | 4.2 ms |"), "{written}");
    }
}
