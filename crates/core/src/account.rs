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
