//! Money in integer minor units with an ISO 4217 currency: never floats.

use ts_rs::TS;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Money {
    /// Amount in the currency's minor unit (pence, cents).
    pub amount_minor: i64,
    /// Three-letter ISO 4217 code, upper case.
    pub currency: String,
}

/// Validates a currency code's shape (three ASCII letters), returning it upper-cased.
pub fn parse_currency(code: &str) -> Option<String> {
    let c = code.trim();
    (c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic())).then(|| c.to_ascii_uppercase())
}

/// Splits `total` into parts proportional to `weights` (which need not be normalised)
/// so that the parts add up to `total` exactly: floor of each share, then the leftover
/// units to the largest remainders (earliest first on ties).
pub fn split_exact(total: i64, weights: &[u64]) -> Vec<i64> {
    let sum: u128 = weights.iter().map(|&w| w as u128).sum();
    if weights.is_empty() || sum == 0 {
        return vec![0; weights.len()];
    }
    let sign = if total < 0 { -1 } else { 1 };
    let magnitude = total.unsigned_abs() as u128;
    let mut parts: Vec<u128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let exact = magnitude * w as u128;
        parts.push(exact / sum);
        remainders.push((exact % sum, i));
    }
    let mut leftover = magnitude - parts.iter().sum::<u128>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if leftover == 0 {
            break;
        }
        parts[i] += 1;
        leftover -= 1;
    }
    parts.into_iter().map(|p| sign * p as i64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_add_up_exactly() {
        assert_eq!(split_exact(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(split_exact(-100, &[1, 1, 1]), vec![-34, -33, -33]);
        assert_eq!(split_exact(4900, &[4, 2, 4]), vec![1960, 980, 1960]);
        assert_eq!(split_exact(7, &[]), Vec::<i64>::new());
        assert_eq!(split_exact(7, &[0, 0]), vec![0, 0]);
        let parts = split_exact(999_999, &[3, 7, 11, 13]);
        assert_eq!(parts.iter().sum::<i64>(), 999_999);
    }

    #[test]
    fn currencies_are_three_letters() {
        assert_eq!(parse_currency("gbp").as_deref(), Some("GBP"));
        assert_eq!(parse_currency("GB"), None);
        assert_eq!(parse_currency("G3P"), None);
    }
}
