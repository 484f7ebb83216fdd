//! Who uses Bouquet: suppliers (photographers, venues, …), couples, and platform admins.

use ts_rs::TS;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Supplier,
    Couple,
    Admin,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Supplier => "supplier",
            Self::Couple => "couple",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "supplier" => Some(Self::Supplier),
            "couple" => Some(Self::Couple),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// The trades of the wedding industry Bouquet knows; `other` for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum VendorType {
    Photographer,
    Videographer,
    Venue,
    Florist,
    Caterer,
    Planner,
    BandDj,
    Cake,
    HairMakeup,
    Dress,
    Stationery,
    Officiant,
    Transport,
    Other,
}

impl VendorType {
    pub const ALL: [VendorType; 14] = [
        Self::Photographer,
        Self::Videographer,
        Self::Venue,
        Self::Florist,
        Self::Caterer,
        Self::Planner,
        Self::BandDj,
        Self::Cake,
        Self::HairMakeup,
        Self::Dress,
        Self::Stationery,
        Self::Officiant,
        Self::Transport,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Photographer => "photographer",
            Self::Videographer => "videographer",
            Self::Venue => "venue",
            Self::Florist => "florist",
            Self::Caterer => "caterer",
            Self::Planner => "planner",
            Self::BandDj => "band_dj",
            Self::Cake => "cake",
            Self::HairMakeup => "hair_makeup",
            Self::Dress => "dress",
            Self::Stationery => "stationery",
            Self::Officiant => "officiant",
            Self::Transport => "transport",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Emails are compared trimmed and lower-cased; everything that matches people by
/// email (leads, signups, later fraud checks) goes through this one function.
pub fn normalize_email(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    let valid = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
        && e.len() <= 254;
    valid.then_some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_or_rejected() {
        assert_eq!(normalize_email("  Anna@Example.COM ").as_deref(), Some("anna@example.com"));
        for bad in ["", "anna", "anna@", "@x.com", "anna@localhost", "a b@x.com", "a@x.com."] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn vendor_types_round_trip() {
        for v in VendorType::ALL {
            assert_eq!(VendorType::parse(v.as_str()), Some(v));
        }
    }
}

/// Wrong passwords in a row before an account is locked (docs/security.md).
pub const LOCK_AFTER_FAILURES: i64 = 5;
/// How long a lock lasts; a sign-in link emailed to the account opens it sooner.
pub const LOCK_MINUTES: i64 = 15;
/// Wrong passwords older than this are forgotten: a typo last week does not count.
pub const FAILURES_FORGOTTEN_AFTER_MINUTES: i64 = 60;

/// What a wrong password costs, by how many came in a row (this one included): the first
/// two nothing, then the answer slows (1 s, 2 s) so a script gains nothing by hurrying,
/// and the fifth locks the account for [`LOCK_MINUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePenalty {
    None,
    SlowDown { seconds: u64 },
    Lock { minutes: i64 },
}

pub fn failure_penalty(failures_in_a_row: i64) -> FailurePenalty {
    match failures_in_a_row {
        n if n >= LOCK_AFTER_FAILURES => FailurePenalty::Lock { minutes: LOCK_MINUTES },
        n if n >= 3 => FailurePenalty::SlowDown { seconds: 1 << (n - 3) },
        _ => FailurePenalty::None,
    }
}

#[cfg(test)]
mod lockout_tests {
    use super::*;

    #[test]
    fn wrong_passwords_slow_down_then_lock() {
        let penalties: Vec<FailurePenalty> = (1..=6).map(failure_penalty).collect();
        assert_eq!(
            penalties,
            [
                FailurePenalty::None,
                FailurePenalty::None,
                FailurePenalty::SlowDown { seconds: 1 },
                FailurePenalty::SlowDown { seconds: 2 },
                FailurePenalty::Lock { minutes: 15 },
                FailurePenalty::Lock { minutes: 15 },
            ]
        );
    }
}
