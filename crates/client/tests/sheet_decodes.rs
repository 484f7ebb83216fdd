//! The printable sheet of table cards: the right paper size, every card's QR code read
//! back from the rendered pages by an independent decoder (pdftoppm + zbarimg).

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use bouquet_client::LocalStore;
use bouquet_client::sheet::{CARDS_PER_PAGE, Paper};
use bouquet_client::store::codes::CodeInput;
use bouquet_client::store::fairs::FairInput;
use bouquet_core::ReferralMethod;
use uuid::Uuid;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/test installs poppler-utils and zbar-tools)"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_card_on_the_sheet_scans_to_its_link() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(&dir.path().join("data")).unwrap();
    store
        .save_session("https://bouquet.example", &common::supplier_session("PQRS", "Zoë's Petal & Stem Floristry"))
        .unwrap();
    let fair = store.create_fair(FairInput { name: "Bath Wedding Show".into(), ..Default::default() }).unwrap();
    let input = CodeInput {
        method: ReferralMethod::Qr,
        fair_id: Some(fair.id),
        utm_source: Some("bath-show".into()),
        incentive: Some("£100 off your bridal bouquet".into()),
        ..Default::default()
    };
    let codes = store.create_codes(input, CARDS_PER_PAGE + 1).unwrap();
    let expected: BTreeSet<String> = codes.iter().map(|c| c.link.clone()).collect();

    for (paper, size) in [(Paper::A4, "595.28 x 841.89"), (Paper::Letter, "612 x 792")] {
        let mut ticks = Vec::new();
        let pdf = store.fair_sheet(fair.id, paper, |done, total| ticks.push((done, total))).unwrap();
        assert_eq!(ticks.last(), Some(&(7, 7)), "progress reaches the end");
        let path = dir.path().join(format!("{paper:?}.pdf"));
        std::fs::write(&path, &pdf).unwrap();
        let info = run(Command::new("pdfinfo").arg(&path));
        assert!(info.contains("Pages:           2"), "{info}");
        assert!(info.contains(size), "{info}");
        let text = run(Command::new("pdftotext").arg(&path).arg("-"));
        assert!(text.contains(codes[0].code.as_str()) && text.contains("£100 off your bridal bouquet"), "{text}");

        let prefix = dir.path().join(format!("{paper:?}-page"));
        run(Command::new("pdftoppm").args(["-r", "150", "-png"]).arg(&path).arg(&prefix));
        let mut found = BTreeSet::new();
        for page in ["1", "2"] {
            let png = dir.path().join(format!("{paper:?}-page-{page}.png"));
            let decoded = run(Command::new("zbarimg").args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"]).arg(&png));
            found.extend(decoded.lines().filter(|l| !l.is_empty()).map(str::to_string));
        }
        assert_eq!(found, expected, "{paper:?}: every card scans, to exactly its own link");
    }
}

#[test]
fn a_fair_without_qr_codes_has_no_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    let err = store.fair_sheet(Uuid::now_v7(), Paper::A4, |_, _| {}).unwrap_err();
    assert_eq!(err.code(), "not_signed_in");
}
