//! Campaigns: the wedding-season calendar, who a campaign is for, when it runs, and which
//! one applies to a referral's reward when several overlap.
//!
//! Times are UTC. A seasonal window runs from 00:00 UTC on its first day to 00:00 UTC on
//! the day after its last day (end exclusive), so "1–31 January" contains every instant of
//! January 31st and none of February 1st.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::rewards::CampaignBoost;

/// A wedding within this many days of the referral is an urgent booking.
pub const URGENT_WITHIN_DAYS: i64 = 90;
/// A wedding at least this many days after the referral (or no date yet) is a newly
/// engaged couple's: most couples marry 12–18 months after the engagement.
pub const NEWLY_ENGAGED_FROM_DAYS: i64 = 270;

/// Who a seasonal campaign is for, judged from the referral's own data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// No wedding date yet, or one at least [`NEWLY_ENGAGED_FROM_DAYS`] away.
    NewlyEngaged,
    /// A wedding in September, October or November.
    AutumnWeddings,
    /// A wedding in March, April or May.
    SpringWeddings,
    /// A wedding within [`URGENT_WITHIN_DAYS`].
    UrgentBookings,
    Everyone,
}

impl Audience {
    /// Whether a referral made at `made_at` for a wedding on `wedding_date` is in it.
    pub fn matches(self, wedding_date: Option<NaiveDate>, made_at: DateTime<Utc>) -> bool {
        let days_away = wedding_date.map(|d| (d - made_at.date_naive()).num_days());
        let month = wedding_date.map(|d| d.month());
        match self {
            Audience::Everyone => true,
            Audience::NewlyEngaged => days_away.is_none_or(|days| days >= NEWLY_ENGAGED_FROM_DAYS),
            Audience::AutumnWeddings => matches!(month, Some(9..=11)),
            Audience::SpringWeddings => matches!(month, Some(3..=5)),
            Audience::UrgentBookings => days_away.is_some_and(|days| (0..=URGENT_WITHIN_DAYS).contains(&days)),
        }
    }
}

impl Audience {
    pub const ALL: [Audience; 5] =
        [Audience::NewlyEngaged, Audience::AutumnWeddings, Audience::SpringWeddings, Audience::UrgentBookings, Audience::Everyone];

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::NewlyEngaged => "newly_engaged",
            Audience::AutumnWeddings => "autumn_weddings",
            Audience::SpringWeddings => "spring_weddings",
            Audience::UrgentBookings => "urgent_bookings",
            Audience::Everyone => "everyone",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// What kind of campaign: a season of the calendar (covers referrals made in its window
/// that match its audience), a targeted one (covers referrals made with its id, by the
/// referrers its filters admit), or a milestone one (the same, for a goal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    Seasonal,
    Targeted,
    Milestone,
}

impl CampaignKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignKind::Seasonal => "seasonal",
            CampaignKind::Targeted => "targeted",
            CampaignKind::Milestone => "milestone",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [CampaignKind::Seasonal, CampaignKind::Targeted, CampaignKind::Milestone].into_iter().find(|k| k.as_str() == s)
    }
}

/// One window of the seed's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Season {
    pub name: &'static str,
    /// (month, day) of the first and the last day, inclusive.
    pub first: (u32, u32),
    pub last: (u32, u32),
    pub multiplier_bp: u32,
    pub audience: Audience,
}

/// The seed's wedding-season calendar.
pub const SEASONS: [Season; 6] = [
    Season { name: "New Year Planning Rush", first: (1, 1), last: (1, 31), multiplier_bp: 20_000, audience: Audience::NewlyEngaged },
    Season { name: "Valentine's Engagement Surge", first: (2, 10), last: (2, 20), multiplier_bp: 15_000, audience: Audience::NewlyEngaged },
    Season { name: "Spring Booking Season", first: (3, 1), last: (5, 31), multiplier_bp: 13_000, audience: Audience::AutumnWeddings },
    Season { name: "Last Minute Summer", first: (4, 1), last: (6, 30), multiplier_bp: 15_000, audience: Audience::UrgentBookings },
    Season { name: "Fall Planning Push", first: (9, 1), last: (10, 31), multiplier_bp: 14_000, audience: Audience::SpringWeddings },
    Season { name: "Black Friday Wedding Deals", first: (11, 20), last: (11, 30), multiplier_bp: 25_000, audience: Audience::Everyone },
];

impl Season {
    /// The window in `year`: [first day 00:00 UTC, the day after the last day 00:00 UTC).
    pub fn window(&self, year: i32) -> (DateTime<Utc>, DateTime<Utc>) {
        let day = |(m, d): (u32, u32)| NaiveDate::from_ymd_opt(year, m, d).expect("calendar dates are valid");
        let start = Utc.from_utc_datetime(&day(self.first).and_hms_opt(0, 0, 0).expect("midnight"));
        let end = Utc.from_utc_datetime(&(day(self.last) + chrono::Duration::days(1)).and_hms_opt(0, 0, 0).expect("midnight"));
        (start, end)
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let (start, end) = self.window(at.year());
        start <= at && at < end
    }
}

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Scheduled,
    Active,
    Paused,
    Exhausted,
    Ended,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 6] = [
        CampaignStatus::Draft,
        CampaignStatus::Scheduled,
        CampaignStatus::Active,
        CampaignStatus::Paused,
        CampaignStatus::Exhausted,
        CampaignStatus::Ended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Scheduled => "scheduled",
            CampaignStatus::Active => "active",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Exhausted => "exhausted",
            CampaignStatus::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// What time makes of a campaign that is `self`: a scheduled one starts at `start`, a
    /// running (active, paused or exhausted) one ends at `end`. Drafts move only when an
    /// operator schedules them; an ended one stays ended.
    pub fn at(self, start: DateTime<Utc>, end: DateTime<Utc>, now: DateTime<Utc>) -> CampaignStatus {
        match self {
            CampaignStatus::Draft | CampaignStatus::Ended => self,
            _ if now >= end => CampaignStatus::Ended,
            CampaignStatus::Scheduled if now >= start => CampaignStatus::Active,
            other => other,
        }
    }
}

/// A campaign that could apply to a reward, with what it would give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub boost: CampaignBoost,
    /// The reward under this campaign.
    pub reward_minor: i64,
    pub starts_at: DateTime<Utc>,
}

/// Overlapping campaigns do not stack: the one giving the larger reward applies; on a tie
/// the one that started first, then the name. `None` when no campaign beats the standing
/// reward.
pub fn best_campaign(standing_minor: i64, candidates: &[Candidate]) -> Option<&Candidate> {
    candidates
        .iter()
        .filter(|c| c.reward_minor > standing_minor)
        .max_by(|a, b| {
            a.reward_minor
                .cmp(&b.reward_minor)
                .then_with(|| b.starts_at.cmp(&a.starts_at))
                .then_with(|| b.boost.name.cmp(&a.boost.name))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    fn season(name: &str) -> Season {
        *SEASONS.iter().find(|s| s.name == name).unwrap()
    }

    #[test]
    fn each_window_holds_its_first_and_last_day_in_utc() {
        for s in SEASONS {
            let (start, end) = s.window(2027);
            assert!(s.contains(start), "{}", s.name);
            assert!(!s.contains(start - chrono::Duration::seconds(1)), "{}", s.name);
            assert!(s.contains(end - chrono::Duration::seconds(1)), "{} last second of the last day", s.name);
            assert!(!s.contains(end), "{}", s.name);
        }
        let new_year = season("New Year Planning Rush");
        assert!(new_year.contains(at(2027, 1, 31, 23, 59, 59)));
        assert!(!new_year.contains(at(2027, 2, 1, 0, 0, 0)));
        let black_friday = season("Black Friday Wedding Deals");
        assert!(!black_friday.contains(at(2026, 11, 19, 23, 59, 59)));
        assert!(black_friday.contains(at(2026, 11, 20, 0, 0, 0)));
    }

    #[test]
    fn spring_and_last_minute_summer_overlap_in_april_and_may() {
        let spring = season("Spring Booking Season");
        let summer = season("Last Minute Summer");
        for day in [at(2027, 4, 1, 0, 0, 0), at(2027, 5, 31, 23, 0, 0)] {
            assert!(spring.contains(day) && summer.contains(day));
        }
        assert!(spring.contains(at(2027, 3, 31, 12, 0, 0)) && !summer.contains(at(2027, 3, 31, 12, 0, 0)));
        assert!(!spring.contains(at(2027, 6, 1, 0, 0, 0)) && summer.contains(at(2027, 6, 1, 0, 0, 0)));
    }

    #[test]
    fn audiences_come_from_the_referrals_data() {
        let made = at(2027, 1, 10, 12, 0, 0);
        let date = |y, m, d| Some(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        assert!(Audience::NewlyEngaged.matches(None, made));
        assert!(Audience::NewlyEngaged.matches(date(2027, 10, 7), made)); // 270 days
        assert!(!Audience::NewlyEngaged.matches(date(2027, 10, 6), made));
        assert!(Audience::UrgentBookings.matches(date(2027, 4, 10), made)); // 90 days
        assert!(!Audience::UrgentBookings.matches(date(2027, 4, 11), made));
        assert!(!Audience::UrgentBookings.matches(None, made));
        assert!(!Audience::UrgentBookings.matches(date(2027, 1, 9), made), "a date in the past is no booking");
        assert!(Audience::AutumnWeddings.matches(date(2027, 9, 1), made) && Audience::AutumnWeddings.matches(date(2027, 11, 30), made));
        assert!(!Audience::AutumnWeddings.matches(date(2027, 12, 1), made));
        assert!(Audience::SpringWeddings.matches(date(2028, 3, 1), made) && !Audience::SpringWeddings.matches(date(2028, 6, 1), made));
        assert!(Audience::Everyone.matches(None, made));
    }

    #[test]
    fn time_moves_campaigns() {
        let (start, end) = (at(2027, 1, 1, 0, 0, 0), at(2027, 2, 1, 0, 0, 0));
        let before = start - chrono::Duration::seconds(1);
        assert_eq!(CampaignStatus::Scheduled.at(start, end, before), CampaignStatus::Scheduled);
        assert_eq!(CampaignStatus::Scheduled.at(start, end, start), CampaignStatus::Active);
        assert_eq!(CampaignStatus::Active.at(start, end, end - chrono::Duration::seconds(1)), CampaignStatus::Active);
        assert_eq!(CampaignStatus::Active.at(start, end, end), CampaignStatus::Ended);
        assert_eq!(CampaignStatus::Paused.at(start, end, end), CampaignStatus::Ended);
        assert_eq!(CampaignStatus::Paused.at(start, end, start), CampaignStatus::Paused, "an operator's pause holds");
        assert_eq!(CampaignStatus::Draft.at(start, end, end), CampaignStatus::Draft);
        assert_eq!(CampaignStatus::Scheduled.at(start, end, end), CampaignStatus::Ended, "a window missed entirely");
    }

    #[test]
    fn overlapping_campaigns_do_not_stack_the_larger_applies() {
        let c = |name: &str, reward, day| Candidate {
            boost: CampaignBoost { name: name.into(), multiplier_bp: 10_000, bonus_minor: 0 },
            reward_minor: reward,
            starts_at: at(2027, 3, day, 0, 0, 0),
        };
        let spring = c("Spring Booking Season", 1300, 1);
        let summer = c("Last Minute Summer", 1500, 31);
        assert_eq!(best_campaign(1000, &[spring.clone(), summer.clone()]).unwrap().boost.name, "Last Minute Summer");
        assert_eq!(best_campaign(1600, &[spring.clone(), summer.clone()]), None, "none beats the standing reward");
        let tie = c("Earlier start", 1500, 20);
        assert_eq!(best_campaign(1000, &[tie, summer.clone()]).unwrap().boost.name, "Earlier start", "a tie goes to the earlier start");
    }
}
