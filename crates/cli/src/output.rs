//! How results and errors are shown: a table for people, JSON with `--json`.

use bouquet_client::ClientError;
use comfy_table::{Table, presets::UTF8_HORIZONTAL_ONLY};
use serde::Serialize;

pub struct Output {
    pub json: bool,
}

impl Output {
    /// Prints `value` as JSON, or as a table of `headers` and the `rows` made from it.
    pub fn table<T: Serialize>(&self, value: &T, headers: &[&str], rows: Vec<Vec<String>>) {
        if self.json {
            self.json(value);
            return;
        }
        if rows.is_empty() {
            println!("(none)");
            return;
        }
        let mut table = Table::new();
        table.load_preset(UTF8_HORIZONTAL_ONLY).set_header(headers.to_vec());
        for row in rows {
            table.add_row(row);
        }
        println!("{table}");
    }

    /// Prints `value` as JSON, or the `line` for people.
    pub fn line<T: Serialize>(&self, value: &T, line: impl FnOnce() -> String) {
        if self.json { self.json(value) } else { println!("{}", line()) }
    }

    fn json<T: Serialize>(&self, value: &T) {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")));
    }

    /// The error on stderr, as the app shows it: `{code, message}`.
    pub fn error(&self, err: &ClientError) {
        if self.json {
            eprintln!("{}", serde_json::to_string(err).unwrap_or_default());
        } else {
            eprintln!("error ({}): {err}", err.code());
        }
    }
}

pub fn opt<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}
