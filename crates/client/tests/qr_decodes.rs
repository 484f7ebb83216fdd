//! Every QR the app renders is read back by an independent decoder (zbarimg, from
//! Debian's zbar-tools; SVG rasterised by rsvg-convert) and must yield exactly the link.

use std::path::Path;
use std::process::Command;

use bouquet_client::qr;

fn zbar(path: &Path) -> String {
    let out = Command::new("zbarimg")
        .args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"])
        .arg(path)
        .output()
        .expect("zbarimg (Debian package zbar-tools) must be installed; scripts/test installs it");
    assert!(out.status.success(), "zbarimg could not read {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim_end_matches('\n').to_string()
}

const LINKS: [&str; 3] = [
    "https://bouquet.example/r/LOVE-7KQMX4TPR8?via=qr",
    "https://bouquet.example/r/DREAM-YJB9AN74ZY?via=qr&utm_source=harrogate-fair&utm_campaign=Spring%202027",
    "http://127.0.0.1:8080/r/VOWS-23456789AB",
];

#[test]
fn png_qr_codes_decode_to_the_link() {
    let dir = tempfile::tempdir().unwrap();
    for (i, link) in LINKS.iter().enumerate() {
        for size in [128, 512] {
            let path = dir.path().join(format!("qr-{i}-{size}.png"));
            qr::export(link, size, &path).unwrap();
            let decoded_size = image::image_dimensions(&path).unwrap();
            assert!(decoded_size.0 >= size, "{decoded_size:?} smaller than asked");
            assert_eq!(zbar(&path), *link);
        }
    }
}

#[test]
fn svg_qr_codes_decode_to_the_link() {
    let dir = tempfile::tempdir().unwrap();
    for (i, link) in LINKS.iter().enumerate() {
        let svg = dir.path().join(format!("qr-{i}.svg"));
        qr::export(link, 400, &svg).unwrap();
        let png = dir.path().join(format!("qr-{i}-from-svg.png"));
        let status = Command::new("rsvg-convert")
            .args(["-w", "600", "-b", "white", "-o"])
            .arg(&png)
            .arg(&svg)
            .status()
            .expect("rsvg-convert (Debian package librsvg2-bin) must be installed; scripts/test installs it");
        assert!(status.success());
        assert_eq!(zbar(&png), *link);
    }
}

#[test]
fn bad_sizes_and_formats_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(qr::svg(LINKS[0], 10).is_err());
    assert!(qr::png(LINKS[0], 100_000).is_err());
    let err = qr::export(LINKS[0], 256, &dir.path().join("qr.gif")).unwrap_err();
    assert!(err.to_string().contains(".svg or .png"));
}
