//! Writes the measured figures into `docs/performance.md`, between markers, so the
//! hand-written analysis around them stays; and the plots beside it.

use std::path::Path;

use plotters::prelude::*;

use crate::convert::Figure as ConvertFigure;
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
pub fn write(results: &Path, out: &Path) -> Result<(), String> {
    let landing: Option<Vec<Figure>> = figures(&results.join("landing.jsonl"))?;
    let convert: Option<Vec<ConvertFigure>> = figures(&results.join("convert.jsonl"))?;
    if landing.is_none() && convert.is_none() {
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
