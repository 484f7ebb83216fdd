//! Referral rules: how a referral is shared, how long it lives, what its links look like.

use chrono::{DateTime, Duration, Utc};
use ts_rs::TS;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::attribution::Channel;
use crate::code::ReferralCode;

/// The seed's cookie lifetime: a visitor is recognised for 90 days after a visit.
pub const DEFAULT_COOKIE_DAYS: i64 = 90;
/// Repeat visits by one visitor to one code within this time count once.
pub const UNIQUE_VISIT_WINDOW: Duration = Duration::hours(1);
/// The query parameter that marks a link as printed in a QR code (`?via=qr`).
pub const QR_MARKER: (&str, &str) = ("via", "qr");

/// How the referrer shares the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ReferralMethod {
    Email,
    #[default]
    Link,
    Qr,
    Social,
}

impl ReferralMethod {
    pub const ALL: [ReferralMethod; 4] = [Self::Email, Self::Link, Self::Qr, Self::Social];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Link => "link",
            Self::Qr => "qr",
            Self::Social => "social",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The channel of a visit to this referral's link: a scan when the link carried
    /// the QR marker, otherwise the way the link was shared.
    pub fn visit_channel(self, qr_marker: bool) -> Channel {
        match (qr_marker, self) {
            (true, _) => Channel::Qr,
            (false, Self::Email) => Channel::Email,
            (false, Self::Social) => Channel::Social,
            (false, Self::Link | Self::Qr) => Channel::Link,
        }
    }
}

/// UTM fields carried by a link and kept on the touch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Utm {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
}

/// The link that opens a referral's landing page. QR codes carry the QR marker so a
/// scan is told apart from a click.
pub fn referral_link(base_url: &str, code: &ReferralCode, qr: bool, utm: &Utm) -> String {
    let mut link = format!("{}/r/{}", base_url.trim_end_matches('/'), code);
    let mut params: Vec<(&str, &str)> = Vec::new();
    if qr {
        params.push(QR_MARKER);
    }
    for (key, value) in [("utm_source", &utm.source), ("utm_medium", &utm.medium), ("utm_campaign", &utm.campaign)] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            params.push((key, v));
        }
    }
    for (i, (k, v)) in params.iter().enumerate() {
        link.push(if i == 0 { '?' } else { '&' });
        link.push_str(k);
        link.push('=');
        link.push_str(&percent_encode(v));
    }
    link
}

/// Percent-encodes everything but RFC 3986's unreserved characters (spaces as `%20`, as
/// `mailto:` and share links need).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a referral stands for a visitor at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Live,
    Expired,
}

pub fn liveness(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Liveness {
    match expires_at {
        Some(at) if at <= now => Liveness::Expired,
        _ => Liveness::Live,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::AccountKind;
    use crate::code::CodeNamespace;

    #[test]
    fn links_carry_the_qr_marker_and_utm_fields() {
        let code = ReferralCode::generate(AccountKind::Supplier, &CodeNamespace::parse("ABCD").unwrap(), 0);
        let utm = Utm { source: Some("fair".into()), medium: None, campaign: Some("Spring Show 2027".into()) };
        assert_eq!(referral_link("https://b.example/", &code, false, &Utm::default()), format!("https://b.example/r/{code}"));
        assert_eq!(
            referral_link("https://b.example", &code, true, &utm),
            format!("https://b.example/r/{code}?via=qr&utm_source=fair&utm_campaign=Spring%20Show%202027")
        );
    }

    #[test]
    fn visits_get_the_right_channel() {
        assert_eq!(ReferralMethod::Email.visit_channel(true), Channel::Qr);
        assert_eq!(ReferralMethod::Qr.visit_channel(false), Channel::Link);
        assert_eq!(ReferralMethod::Social.visit_channel(false), Channel::Social);
    }

    #[test]
    fn expiry_is_exclusive_of_the_instant() {
        let now = Utc::now();
        assert_eq!(liveness(None, now), Liveness::Live);
        assert_eq!(liveness(Some(now), now), Liveness::Expired);
        assert_eq!(liveness(Some(now + Duration::seconds(1)), now), Liveness::Live);
    }
}
