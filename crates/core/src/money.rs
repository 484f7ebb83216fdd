//! Money in integer minor units with an ISO 4217 currency (or `CRD`, Bouquet's reward
//! credits): never floats. Rounding, formatting and exact splitting live here, so every
//! amount in the product is rounded by the same rules.

use ts_rs::TS;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Money {
    /// Amount in the currency's minor unit (pence, cents).
    pub amount_minor: i64,
    /// Three-letter ISO 4217 code, upper case; `CRD` for reward credits.
    pub currency: String,
}

/// The currency of rewards: Bouquet credits, two decimals, held in hundredths
/// (`{"amount_minor": 3750, "currency": "CRD"}` is 37.50 credits).
pub const CREDITS: &str = "CRD";

/// The denominator of every multiplier and percentage: 10,000 basis points is ×1
/// (×1.5 is 15,000; 5% is 500). Integers, so a rule's arithmetic is exact.
pub const BASIS_POINTS: u32 = 10_000;

impl Money {
    pub fn new(amount_minor: i64, currency: &str) -> Self {
        Self { amount_minor, currency: currency.to_string() }
    }

    /// An amount of reward credits, in hundredths.
    pub fn credits(amount_minor: i64) -> Self {
        Self::new(amount_minor, CREDITS)
    }
}

/// `num / den` rounded to the nearest integer, halves away from zero (2.5 → 3,
/// −2.5 → −3). The one rounding rule of the product; `den` must be positive.
pub fn round_half_away_from_zero(num: i128, den: i128) -> i128 {
    debug_assert!(den > 0);
    let (q, r) = (num / den, num % den);
    if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    }
}

/// `amount_minor × bp / 10,000`, rounded to the nearest minor unit, halves away from
/// zero: 25.00 × 1.5 = 37.50; 5% of 999.99 = 49.9995 → 50.00; 5% of 0.10 = 0.005 → 0.01.
/// Saturates at the bounds of `i64` (never reached by real amounts).
pub fn apply_multiplier_bp(amount_minor: i64, bp: u32) -> i64 {
    apply_multipliers_bp(amount_minor, &[bp])
}

/// `amount_minor` times every multiplier, rounded once at the end (so ×2 × 1.5 rounds
/// like ×3, not twice). Rounds as `apply_multiplier_bp`.
pub fn apply_multipliers_bp(amount_minor: i64, bps: &[u32]) -> i64 {
    let mut num = amount_minor as i128;
    let mut den: i128 = 1;
    for &bp in bps {
        // Two factors always fit an i128; beyond that, round (and saturate) early rather
        // than overflow.
        if num.checked_mul(bp as i128).is_none() || den.checked_mul(BASIS_POINTS as i128).is_none() {
            num = round_half_away_from_zero(num, den).clamp(i64::MIN as i128, i64::MAX as i128);
            den = 1;
        }
        num *= bp as i128;
        den *= BASIS_POINTS as i128;
    }
    round_half_away_from_zero(num, den).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Minor units with two decimals, no grouping: 3750 → "37.50", −5 → "-0.05". For
/// machines (CSV, inputs).
pub fn format_minor(amount_minor: i64) -> String {
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Minor units with two decimals and thousands grouped by commas: 200000 → "2,000.00".
/// For people (reasons, notifications).
pub fn format_minor_grouped(amount_minor: i64) -> String {
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::with_capacity(units.len() + units.len() / 3);
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

/// A multiplier in basis points as people write it: 20000 → "2", 15000 → "1.5",
/// 12500 → "1.25".
pub fn format_factor_bp(bp: u32) -> String {
    let whole = bp / BASIS_POINTS;
    let frac = bp % BASIS_POINTS;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:04}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// A share in basis points as a percentage: 500 → "5%", 250 → "2.5%".
pub fn format_percent_bp(bp: u32) -> String {
    let whole = bp / 100;
    let frac = bp % 100;
    if frac == 0 {
        format!("{whole}%")
    } else {
        format!("{whole}.{}%", format!("{frac:02}").trim_end_matches('0'))
    }
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
    fn multipliers_round_halves_away_from_zero() {
        let cases: &[(i64, u32, i64)] = &[
            (2500, 15_000, 3750),  // 25.00 × 1.5, exact
            (2500, 20_000, 5000),  // × 2
            (1, 15_000, 2),        // 0.015 → 0.02 (a half, away from zero)
            (-1, 15_000, -2),      // −0.015 → −0.02
            (3, 5_000, 2),         // 0.015 → 0.02
            (1, 4_999, 0),         // just under a half → down
            (10, 500, 1),          // 5% of 0.10 = 0.005 → 0.01
            (9, 500, 0),           // 5% of 0.09 = 0.0045 → 0.00
            (99_999, 500, 5000),   // 5% of 999.99 = 49.9995 → 50.00
            (100_001, 500, 5000),  // 5% of 1000.01 = 50.0005 → 50.00
            (100_010, 500, 5001),  // 5% of 1000.10 = 50.005 → 50.01
            (7500, 13_000, 9750),  // 75.00 × 1.3
            (0, 15_000, 0),
            (1234, 10_000, 1234),  // × 1 is the identity
        ];
        for &(amount, bp, want) in cases {
            assert_eq!(apply_multiplier_bp(amount, bp), want, "{amount} × {bp}bp");
        }
        // Rounded once: 0.01 × 1.5 × 1.5 = 0.0225 → 0.02 (twice would give 0.03).
        assert_eq!(apply_multipliers_bp(1, &[15_000, 15_000]), 2);
        assert_eq!(apply_multipliers_bp(2500, &[20_000, 15_000]), 7500);
        assert_eq!(apply_multipliers_bp(2500, &[]), 2500);
        assert_eq!(apply_multipliers_bp(i64::MAX, &[u32::MAX, u32::MAX, u32::MAX]), i64::MAX);
    }

    #[test]
    fn amounts_format_with_two_decimals() {
        assert_eq!(format_minor(3750), "37.50");
        assert_eq!(format_minor(5), "0.05");
        assert_eq!(format_minor(-5), "-0.05");
        assert_eq!(format_minor(200_000), "2000.00");
        assert_eq!(format_minor_grouped(200_000), "2,000.00");
        assert_eq!(format_minor_grouped(99_999), "999.99");
        assert_eq!(format_minor_grouped(-123_456_789), "-1,234,567.89");
        assert_eq!(format_minor_grouped(i64::MIN), "-92,233,720,368,547,758.08");
        assert_eq!(format_factor_bp(20_000), "2");
        assert_eq!(format_factor_bp(15_000), "1.5");
        assert_eq!(format_factor_bp(12_500), "1.25");
        assert_eq!(format_factor_bp(10_001), "1.0001");
        assert_eq!(format_percent_bp(500), "5%");
        assert_eq!(format_percent_bp(250), "2.5%");
        assert_eq!(format_percent_bp(1), "0.01%");
        assert_eq!(Money::credits(3750), Money { amount_minor: 3750, currency: "CRD".into() });
    }

    #[test]
    fn currencies_are_three_letters() {
        assert_eq!(parse_currency("gbp").as_deref(), Some("GBP"));
        assert_eq!(parse_currency("GB"), None);
        assert_eq!(parse_currency("G3P"), None);
    }
}
