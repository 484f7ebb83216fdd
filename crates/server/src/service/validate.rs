//! Checks shared by every service: trimmed, bounded text and sane URLs.

use crate::error::ApiError;

/// Longest free-text field we keep (names, messages, UTM values).
pub const MAX_TEXT: usize = 500;

/// Trims `value`; `None` for blank; an error past `max` characters.
pub fn text(field: &'static str, value: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > max {
        return Err(ApiError::invalid("invalid_field", format!("{field} is longer than {max} characters")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::invalid("invalid_field", format!("{field} contains control characters")));
    }
    Ok(Some(v.to_string()))
}

pub fn required_text(field: &'static str, value: Option<String>, max: usize) -> Result<String, ApiError> {
    text(field, value, max)?.ok_or_else(|| ApiError::invalid("missing_field", format!("{field} is required")))
}

pub fn url(field: &'static str, value: Option<String>) -> Result<Option<String>, ApiError> {
    let v = text(field, value, 2000)?;
    if let Some(u) = &v
        && (!(u.starts_with("http://") || u.starts_with("https://")) || u.contains(char::is_whitespace)) {
            return Err(ApiError::invalid("invalid_field", format!("{field} must be an http(s) URL")));
        }
    Ok(v)
}
