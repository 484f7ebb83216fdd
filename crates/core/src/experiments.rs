//! A/B tests of incentives and messages: which variant a referrer gets, and when the
//! numbers say one variant beats the control.
//!
//! - **Assignment** is a hash of the experiment and the account (SHA-256, first 8 bytes)
//!   reduced modulo the sum of the traffic weights: deterministic, the same on every server
//!   process and after a restart, and proportional to the weights.
//! - **Results** per variant: the conversion rate (conversions ÷ referrals) with a 95%
//!   Wilson score interval (honest at small counts and at rates near 0 or 1, where the
//!   textbook ±1.96·√(p(1−p)/n) is not); against the control, the relative lift, the
//!   pooled two-proportion z statistic and its two-sided p-value.
//! - **A winner** is declared only when a variant beats the control at ≥ 95% confidence
//!   (p < 0.05) **and** by ≥ 10% relative lift (the seed's rule), **and** both it and the
//!   control have at least [`MIN_REFERRALS_PER_VARIANT`] referrals and
//!   [`MIN_CONVERSIONS_PER_VARIANT`] conversions — below that the normal approximation
//!   behind the z test is not to be trusted. Until then the verdict says why not.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use statrs::distribution::{ContinuousCDF, Normal};
use ts_rs::TS;
use utoipa::ToSchema;
use uuid::Uuid;

/// The confidence a winner needs (two-sided).
pub const CONFIDENCE: f64 = 0.95;
/// The relative lift over the control a winner needs: 10%.
pub const MIN_RELATIVE_LIFT: f64 = 0.10;
/// Referrals each compared variant needs before any verdict.
pub const MIN_REFERRALS_PER_VARIANT: i64 = 100;
/// Conversions each compared variant needs before any verdict (the normal
/// approximation's usual rule of thumb: at least about 10 successes per group).
pub const MIN_CONVERSIONS_PER_VARIANT: i64 = 10;

/// The variant `account` gets in `experiment`, by the variants' traffic `weights`.
/// `None` when no variant has a positive weight.
pub fn assign(experiment: Uuid, account: Uuid, weights: &[u32]) -> Option<usize> {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if total == 0 {
        return None;
    }
    let mut hasher = Sha256::new();
    hasher.update(experiment.as_bytes());
    hasher.update(account.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let mut point = u64::from_be_bytes(first) % total;
    for (i, &w) in weights.iter().enumerate() {
        if point < u64::from(w) {
            return Some(i);
        }
        point -= u64::from(w);
    }
    unreachable!("point < total")
}

/// A variant's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Counts {
    pub referrals: i64,
    pub conversions: i64,
}

impl Counts {
    /// Conversions ÷ referrals; absent when there are no referrals.
    pub fn rate(self) -> Option<f64> {
        (self.referrals > 0).then(|| self.conversions as f64 / self.referrals as f64)
    }
}

fn z_for(confidence: f64) -> f64 {
    Normal::standard().inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
}

/// The 95% Wilson score interval of a rate; absent when there are no referrals.
pub fn wilson_interval(c: Counts) -> Option<(f64, f64)> {
    let p = c.rate()?;
    let n = c.referrals as f64;
    let z = z_for(CONFIDENCE);
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// A variant against the control.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Comparison {
    /// (variant rate − control rate) ÷ control rate; absent when the control converts nothing.
    pub relative_lift: Option<f64>,
    /// The pooled two-proportion z statistic; absent when it is undefined (no referrals, or
    /// a pooled rate of 0 or 1).
    pub z: Option<f64>,
    /// Two-sided.
    pub p_value: Option<f64>,
}

pub fn compare(control: Counts, variant: Counts) -> Comparison {
    let (Some(p1), Some(p2)) = (control.rate(), variant.rate()) else {
        return Comparison { relative_lift: None, z: None, p_value: None };
    };
    let relative_lift = (p1 > 0.0).then(|| (p2 - p1) / p1);
    let pooled = (control.conversions + variant.conversions) as f64 / (control.referrals + variant.referrals) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / control.referrals as f64 + 1.0 / variant.referrals as f64)).sqrt();
    if se == 0.0 {
        return Comparison { relative_lift, z: None, p_value: None };
    }
    let z = (p2 - p1) / se;
    let p_value = 2.0 * (1.0 - Normal::standard().cdf(z.abs()));
    Comparison { relative_lift, z: Some(z), p_value: Some(p_value) }
}

/// What the numbers say about a variant against the control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// It beats the control at ≥ 95% confidence and by ≥ 10%.
    Winner,
    /// Too few referrals or conversions yet to judge.
    SampleTooSmall { reason: String },
    /// The difference could still be chance.
    NotSignificantYet,
    /// Significant, but the lift is below 10%.
    LiftBelowThreshold,
    /// Significantly worse than the control.
    WorseThanControl,
}

impl Verdict {
    /// The sentence an operator reads.
    pub fn explain(&self) -> String {
        match self {
            Verdict::Winner => "winner: better than the control at 95% confidence and by at least 10%".into(),
            Verdict::SampleTooSmall { reason } => format!("not enough data yet: {reason}"),
            Verdict::NotSignificantYet => "not significant yet".into(),
            Verdict::LiftBelowThreshold => "significant, but the lift is below 10%".into(),
            Verdict::WorseThanControl => "worse than the control".into(),
        }
    }
}

/// Judges `variant` against `control` by the rules in this module's documentation.
pub fn judge(control: Counts, variant: Counts) -> Verdict {
    for (name, c) in [("the control", control), ("this variant", variant)] {
        if c.referrals < MIN_REFERRALS_PER_VARIANT {
            return Verdict::SampleTooSmall {
                reason: format!("{name} has {} of the {MIN_REFERRALS_PER_VARIANT} referrals needed", c.referrals),
            };
        }
        if c.conversions < MIN_CONVERSIONS_PER_VARIANT {
            return Verdict::SampleTooSmall {
                reason: format!("{name} has {} of the {MIN_CONVERSIONS_PER_VARIANT} conversions needed", c.conversions),
            };
        }
    }
    let comparison = compare(control, variant);
    match (comparison.p_value, comparison.z, comparison.relative_lift) {
        (Some(p), Some(z), _) if p < 1.0 - CONFIDENCE && z < 0.0 => Verdict::WorseThanControl,
        (Some(p), Some(_), Some(lift)) if p < 1.0 - CONFIDENCE && lift >= MIN_RELATIVE_LIFT => Verdict::Winner,
        (Some(p), Some(_), _) if p < 1.0 - CONFIDENCE => Verdict::LiftBelowThreshold,
        _ => Verdict::NotSignificantYet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(conversions: i64, referrals: i64) -> Counts {
        Counts { referrals, conversions }
    }

    #[test]
    fn textbook_two_proportion_tests() {
        // 200/1000 vs 250/1000: z ≈ 2.68, two-sided p ≈ 0.007, lift 25% → winner.
        let c = compare(counts(200, 1000), counts(250, 1000));
        assert!((c.z.unwrap() - 2.677).abs() < 0.005, "{c:?}");
        assert!((c.p_value.unwrap() - 0.0074).abs() < 0.0005, "{c:?}");
        assert!((c.relative_lift.unwrap() - 0.25).abs() < 1e-12);
        assert_eq!(judge(counts(200, 1000), counts(250, 1000)), Verdict::Winner);
        // 2000/20000 vs 2180/20000: significant (z ≈ 2.94) but a 9% lift → no winner.
        let c = compare(counts(2000, 20000), counts(2180, 20000));
        assert!((c.z.unwrap() - 2.94).abs() < 0.01, "{c:?}");
        assert!(c.p_value.unwrap() < 0.05);
        assert_eq!(judge(counts(2000, 20000), counts(2180, 20000)), Verdict::LiftBelowThreshold);
        // The same rates on a tenth of the traffic: not significant yet.
        assert_eq!(judge(counts(200, 2000), counts(218, 2000)), Verdict::NotSignificantYet);
        // Worse.
        assert_eq!(judge(counts(250, 1000), counts(200, 1000)), Verdict::WorseThanControl);
    }

    #[test]
    fn small_samples_get_no_verdict() {
        assert!(matches!(judge(counts(5, 50), counts(20, 50)), Verdict::SampleTooSmall { .. }));
        assert!(matches!(judge(counts(5, 500), counts(9, 500)), Verdict::SampleTooSmall { .. }));
        assert!(judge(counts(5, 50), counts(20, 50)).explain().contains("50 of the 100 referrals"));
    }

    #[test]
    fn undefined_statistics_are_absent_not_nan() {
        let c = compare(counts(0, 0), counts(3, 10));
        assert_eq!((c.relative_lift, c.z, c.p_value), (None, None, None));
        let c = compare(counts(0, 100), counts(0, 100));
        assert_eq!((c.z, c.p_value), (None, None));
        assert_eq!(c.relative_lift, None, "no lift over a control that converts nothing");
        assert_eq!(wilson_interval(counts(0, 0)), None);
    }

    #[test]
    fn wilson_interval_matches_the_textbook() {
        // 200/1000: 0.1762 to 0.2261 (Wilson, z = 1.96).
        let (lo, hi) = wilson_interval(counts(200, 1000)).unwrap();
        assert!((lo - 0.1762).abs() < 0.0005 && (hi - 0.2261).abs() < 0.0005, "{lo} {hi}");
        // 0/20 stays inside [0, 1] and above zero width.
        let (lo, hi) = wilson_interval(counts(0, 20)).unwrap();
        assert!(lo.abs() < 1e-12 && hi > 0.1 && hi < 0.2, "{lo} {hi}");
    }

    #[test]
    fn assignment_is_stable_and_follows_the_weights() {
        let experiment = Uuid::from_u128(0x1234);
        let weights = [50, 30, 20];
        let mut seen = [0u32; 3];
        for n in 0..10_000u128 {
            let account = Uuid::from_u128(n * 7_919 + 11);
            let v = assign(experiment, account, &weights).unwrap();
            assert_eq!(assign(experiment, account, &weights), Some(v), "the same answer every time");
            seen[v] += 1;
        }
        // Within 2 percentage points of the weights over 10,000 accounts (the binomial
        // standard deviation at 50% is 0.5 points, so this is a 4-sigma band).
        for (got, want) in seen.iter().zip(weights) {
            let share = f64::from(*got) / 100.0;
            assert!((share - f64::from(want)).abs() < 2.0, "{seen:?}");
        }
        assert_eq!(assign(experiment, Uuid::nil(), &[0, 0]), None);
        assert_eq!(assign(experiment, Uuid::nil(), &[0, 5]), Some(1));
    }
}
