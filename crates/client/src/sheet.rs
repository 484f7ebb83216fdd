//! Printable sheets of table cards for a fair booth: each card has the QR code (drawn
//! as vector squares, so it stays sharp at any printer resolution), the code in large
//! letters, the supplier's name and the incentive. A4 or US Letter, six cards a page,
//! with light cut lines.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use qrcode::{Color, EcLevel, QrCode};
use serde::{Deserialize, Serialize};

use crate::ClientError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum Paper {
    A4,
    Letter,
}

impl Paper {
    /// Width and height in PDF points (1/72 inch).
    pub fn size(self) -> (f32, f32) {
        match self {
            Self::A4 => (595.28, 841.89),
            Self::Letter => (612.0, 792.0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// What the QR code encodes.
    pub link: String,
    pub code: String,
    pub supplier_name: String,
    pub incentive: Option<String>,
}

pub const COLUMNS: usize = 2;
pub const ROWS: usize = 3;
pub const CARDS_PER_PAGE: usize = COLUMNS * ROWS;
const MARGIN: f32 = 28.0;
const QR_SIDE: f32 = 150.0;
const CODE_SIZE: f32 = 20.0;
const NAME_SIZE: f32 = 13.0;
const OFFER_SIZE: f32 = 11.0;

const CODE_FONT: Name<'static> = Name(b"Code");
const TEXT_FONT: Name<'static> = Name(b"Text");

/// Windows-1252 bytes for the standard 14 fonts; what it cannot show becomes '?'.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '™' => 0x99,
            _ => b'?',
        })
        .collect()
}

/// Roughly how wide Helvetica sets `text` (average glyph ≈ 0.52 em), for centring.
fn helvetica_width(text: &str, size: f32) -> f32 {
    text.chars().count() as f32 * size * 0.52
}

/// Shortens `text` to what fits `width` at `size`, with an ellipsis.
fn fit(text: &str, size: f32, width: f32) -> String {
    let max_chars = (width / (size * 0.52)).floor() as usize;
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

fn centred_text(content: &mut Content, font: Name<'_>, size: f32, text: &str, centre_x: f32, y: f32, width: f32) {
    content.begin_text();
    content.set_font(font, size);
    content.next_line(centre_x - width / 2.0, y);
    content.show(Str(&win_ansi(text)));
    content.end_text();
}

fn draw_qr(content: &mut Content, link: &str, x: f32, y: f32, side: f32) -> Result<(), ClientError> {
    let code = QrCode::with_error_correction_level(link.as_bytes(), EcLevel::H)
        .map_err(|e| ClientError::Invalid(format!("this link cannot be put in a QR code: {e}")))?;
    let n = code.width();
    let quiet = 4.0;
    let module = side / (n as f32 + 2.0 * quiet);
    let colors = code.to_colors();
    content.set_fill_gray(0.0);
    for row in 0..n {
        // One rectangle per run of dark modules in a row keeps the file small.
        let mut col = 0;
        while col < n {
            if colors[row * n + col] == Color::Dark {
                let start = col;
                while col < n && colors[row * n + col] == Color::Dark {
                    col += 1;
                }
                let rx = x + (quiet + start as f32) * module;
                let ry = y + side - (quiet + row as f32 + 1.0) * module;
                content.rect(rx, ry, (col - start) as f32 * module, module);
            } else {
                col += 1;
            }
        }
    }
    content.fill_nonzero();
    Ok(())
}

/// Lays `cards` out on `paper`; `progress(done, total)` is called after each card.
pub fn table_cards(cards: &[Card], paper: Paper, mut progress: impl FnMut(usize, usize)) -> Result<Vec<u8>, ClientError> {
    if cards.is_empty() {
        return Err(ClientError::Invalid("there are no QR codes to print; make one for this fair first".into()));
    }
    let (page_w, page_h) = paper.size();
    let card_w = (page_w - 2.0 * MARGIN) / COLUMNS as f32;
    let card_h = (page_h - 2.0 * MARGIN) / ROWS as f32;
    let pages = cards.chunks(CARDS_PER_PAGE).count();

    let mut next_id = 1;
    let mut alloc = || {
        let r = Ref::new(next_id);
        next_id += 1;
        r
    };
    let catalog_id = alloc();
    let tree_id = alloc();
    let code_font_id = alloc();
    let text_font_id = alloc();
    let page_ids: Vec<(Ref, Ref)> = (0..pages).map(|_| (alloc(), alloc())).collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id).kids(page_ids.iter().map(|(page, _)| *page)).count(pages as i32);
    pdf.type1_font(code_font_id).base_font(Name(b"Courier-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(text_font_id).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));

    let mut done = 0;
    for (chunk, (page_id, content_id)) in cards.chunks(CARDS_PER_PAGE).zip(&page_ids) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, page_w, page_h));
        page.parent(tree_id);
        page.contents(*content_id);
        let mut resources = page.resources();
        resources.fonts().pair(CODE_FONT, code_font_id).pair(TEXT_FONT, text_font_id);
        resources.finish();
        page.finish();

        let mut content = Content::new();
        for (i, card) in chunk.iter().enumerate() {
            let (col, row) = (i % COLUMNS, i / COLUMNS);
            let x = MARGIN + col as f32 * card_w;
            let y = page_h - MARGIN - (row as f32 + 1.0) * card_h;
            let centre = x + card_w / 2.0;
            // Cut line.
            content.set_stroke_gray(0.8);
            content.set_line_width(0.5);
            content.rect(x, y, card_w, card_h);
            content.stroke();
            draw_qr(&mut content, &card.link, centre - QR_SIDE / 2.0, y + card_h - QR_SIDE - 12.0, QR_SIDE)?;
            content.set_fill_gray(0.0);
            let code_w = card.code.chars().count() as f32 * CODE_SIZE * 0.6;
            let mut line_y = y + card_h - QR_SIDE - 12.0 - CODE_SIZE - 2.0;
            centred_text(&mut content, CODE_FONT, CODE_SIZE, &card.code, centre, line_y, code_w);
            line_y -= NAME_SIZE + 8.0;
            let name = fit(&card.supplier_name, NAME_SIZE, card_w - 24.0);
            centred_text(&mut content, TEXT_FONT, NAME_SIZE, &name, centre, line_y, helvetica_width(&name, NAME_SIZE));
            if let Some(offer) = &card.incentive {
                line_y -= OFFER_SIZE + 6.0;
                let offer = fit(offer, OFFER_SIZE, card_w - 24.0);
                content.set_fill_rgb(0.71, 0.27, 0.42);
                centred_text(&mut content, TEXT_FONT, OFFER_SIZE, &offer, centre, line_y, helvetica_width(&offer, OFFER_SIZE));
                content.set_fill_gray(0.0);
            }
            done += 1;
            progress(done, cards.len());
        }
        pdf.stream(*content_id, &content.finish());
    }
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_encoded_for_the_standard_fonts() {
        assert_eq!(win_ansi("£100 off – Zoë"), vec![0xA3, b'1', b'0', b'0', b' ', b'o', b'f', b'f', b' ', 0x96, b' ', b'Z', b'o', 0xEB]);
        assert_eq!(win_ansi("🌸"), b"?");
    }

    #[test]
    fn long_names_are_shortened_to_fit() {
        assert_eq!(fit("Short", 10.0, 100.0), "Short");
        let long = fit(&"x".repeat(100), 10.0, 100.0);
        assert!(long.ends_with('…') && long.chars().count() == 19);
    }
}
