//! QR codes for referral links: SVG (for print and the screen) and PNG, with the high
//! error-correction level so a creased or coffee-stained table card still scans.

use std::io::Cursor;

use image::{ImageFormat, Luma};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::ClientError;

/// Smallest and largest rendered size in pixels we accept.
pub const MIN_SIZE: u32 = 64;
pub const MAX_SIZE: u32 = 4096;

fn encode(link: &str) -> Result<QrCode, ClientError> {
    QrCode::with_error_correction_level(link.as_bytes(), EcLevel::H)
        .map_err(|e| ClientError::Invalid(format!("this link cannot be put in a QR code: {e}")))
}

fn check_size(size: u32) -> Result<u32, ClientError> {
    if (MIN_SIZE..=MAX_SIZE).contains(&size) {
        Ok(size)
    } else {
        Err(ClientError::Invalid(format!("QR size must be between {MIN_SIZE} and {MAX_SIZE} pixels")))
    }
}

/// An SVG document at least `size` pixels square, with the standard quiet zone.
pub fn svg(link: &str, size: u32) -> Result<String, ClientError> {
    let size = check_size(size)?;
    Ok(encode(link)?
        .render::<svg::Color<'_>>()
        .min_dimensions(size, size)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build())
}

/// A PNG at least `size` pixels square.
pub fn png(link: &str, size: u32) -> Result<Vec<u8>, ClientError> {
    let size = check_size(size)?;
    let image = encode(link)?.render::<Luma<u8>>().min_dimensions(size, size).quiet_zone(true).build();
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Png).map_err(|e| ClientError::Io(format!("encoding the PNG: {e}")))?;
    Ok(out.into_inner())
}

/// Writes the QR for `link` to `path`, as SVG or PNG by the file's extension.
pub fn export(link: &str, size: u32, path: &std::path::Path) -> Result<(), ClientError> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let bytes = match ext.as_deref() {
        Some("svg") => svg(link, size)?.into_bytes(),
        Some("png") => png(link, size)?,
        _ => return Err(ClientError::Invalid("save the QR code as a .svg or .png file".into())),
    };
    std::fs::write(path, bytes).map_err(|e| ClientError::Io(format!("writing {}: {e}", path.display())))
}
