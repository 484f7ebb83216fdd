//! SQLite keeps times as text; one fixed format (UTC, microseconds, `Z`) makes string
//! order equal time order, which every `<`/`>=` in the SQLite backend relies on.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use super::StoreError;

pub fn to_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn from_text(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("time '{s}': {e}")))
}

pub fn opt_from_text(s: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.as_deref().map(from_text).transpose()
}

pub fn date_from_text(s: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    s.as_deref()
        .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|e| StoreError::Corrupt(format!("date '{d}': {e}"))))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn text_order_is_time_order() {
        let a = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 5).unwrap();
        let b = a + chrono::Duration::milliseconds(500);
        assert!(to_text(a) < to_text(b));
        assert_eq!(from_text(&to_text(b)).unwrap(), b);
    }
}
