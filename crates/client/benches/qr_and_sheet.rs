//! QR rendering (SVG, PNG) and the printable sheet of 100 table cards, each reported
//! against a baseline measured in the same run: encoding the QR matrix alone, which
//! every rendering starts with. Run: `cargo bench -p bouquet-client`.

use std::hint::black_box;
use std::time::Duration;

use bouquet_client::qr;
use bouquet_client::sheet::{Card, Paper, table_cards};
use criterion::{Criterion, criterion_group};
use qrcode::{EcLevel, QrCode};
use bouquet_server::testing::criterion_mean;

const LINK: &str = "https://bouquet.example/r/DREAM-YJB9AN74ZY?via=qr&utm_source=harrogate-fair";

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("qr");
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("baseline_encode_matrix", |b| {
        b.iter(|| QrCode::with_error_correction_level(black_box(LINK).as_bytes(), EcLevel::H).unwrap())
    });
    group.bench_function("svg_512", |b| b.iter(|| qr::svg(black_box(LINK), 512).unwrap()));
    group.bench_function("png_512", |b| b.iter(|| qr::png(black_box(LINK), 512).unwrap()));
    let cards: Vec<Card> = (0..100)
        .map(|i| Card {
            link: format!("https://bouquet.example/r/LOVE-PQRS{i:05}?via=qr"),
            code: format!("LOVE-PQRS{i:05}"),
            supplier_name: "Golden Hour Studio".into(),
            incentive: Some("£100 off your engagement shoot".into()),
        })
        .collect();
    group.bench_function("pdf_sheet_100_cards_a4", |b| b.iter(|| table_cards(black_box(&cards), Paper::A4, |_, _| {}).unwrap()));
    group.finish();
}

fn report_ratios() {
    let mean = |name: &str| criterion_mean("qr", name);
    let Some(base) = mean("baseline_encode_matrix") else { return };
    println!("\nratios against encoding one QR matrix ({:.1} µs), measured in this run:", base / 1e3);
    for name in ["svg_512", "png_512", "pdf_sheet_100_cards_a4"] {
        if let Some(m) = mean(name) {
            println!("  qr/{name}: {:.1} µs = {:.1}× baseline", m / 1e3, m / base);
        }
    }
}

criterion_group!(all, benches);

fn main() {
    all();
    Criterion::default().configure_from_args().final_summary();
    report_ratios();
}
