//! What an account is told when something happens to its referrals, in its reader's
//! language (docs/notifications.md, docs/couples.md): the words live in `notices.ftl`. A
//! notification keeps what happened (`Notice`) and is told again whenever it is read —
//! in the app or on the couple's page in the reader's language, by email in the account's
//! chosen one (English when it chose none: an email has no browser to ask).

use bouquet_core::Money;
use bouquet_core::money::CREDITS;
use bouquet_core::notifications::{Message, NotificationKind, NotificationView, Notice};
use bouquet_core::tiers::Tier;
use chrono::{DateTime, NaiveDate, Utc};

use crate::i18n::Tr;
use crate::store::StoredNotification;

/// A notice in words.
pub fn words(tr: &Tr, notice: &Notice) -> Message {
    match notice {
        Notice::RewardEarned { amount, reason, eligible_at } => reward_earned(tr, amount, reason, *eligible_at),
        Notice::RewardEligible { amount, reason, expires_at } => reward_eligible(tr, amount, reason, *expires_at),
        Notice::TierReached { tier } => tier_reached(tr, *tier),
        Notice::ReferralHeld { amount } => referral_held(tr, amount),
        Notice::ReviewDecided { approved, amount } => review_decided(tr, *approved, amount),
        Notice::CampaignStarted { name, multiplier_bp, bonus, ends } => campaign_started(tr, name, *multiplier_bp, bonus.as_ref(), *ends),
    }
}

/// A stored notification as its reader reads it: told again in their language from what
/// happened; one kept only as words is shown as it was written.
pub fn shown(tr: &Tr, stored: StoredNotification) -> NotificationView {
    match stored.notice {
        Some(notice) => {
            let told = words(tr, &notice);
            NotificationView { title: told.title, body: told.body, ..stored.view }
        }
        None => stored.view,
    }
}

/// How many, for a message's plural: the amount in whole units (1 credit, 2.5 credits).
fn count(m: &Money) -> fluent_templates::fluent_bundle::FluentValue<'static> {
    (m.amount_minor as f64 / 100.0).into()
}

/// An amount as people read it: credits by name, money with its currency.
pub fn amount(tr: &Tr, m: &Money) -> String {
    if m.currency == CREDITS {
        tr.credits(m.amount_minor)
    } else {
        tr.t_with("money", &[("amount", tr.number_minor(m.amount_minor).into()), ("currency", m.currency.clone().into())])
    }
}

/// A tier's name: "Bronze", "Plata".
pub fn tier_name(tr: &Tr, tier: Tier) -> String {
    tr.t(&format!("tier-{}", tier.as_str()))
}

/// What a tier grants, in a phrase.
pub fn perk(tr: &Tr, tier: Tier) -> String {
    tr.t(&format!("perk-{}", tier.perk().as_str()))
}

/// "Bronze tier (1 successful referral): a month of your plan free."
pub fn tier_reason(tr: &Tr, tier: Tier) -> String {
    tr.t_with(
        "notice-tier-body",
        &[("tier", tier_name(tr, tier).into()), ("count", tier.threshold().into()), ("perk", perk(tr, tier).into())],
    )
}

fn sentences(first: String, then: Option<String>) -> String {
    match then {
        Some(then) => format!("{first} {then}"),
        None => first,
    }
}

fn reward_earned(tr: &Tr, m: &Money, reason: &str, eligible_at: Option<DateTime<Utc>>) -> Message {
    Message {
        kind: NotificationKind::RewardEarned,
        title: tr.t_with("notice-earned-title", &[("amount", amount(tr, m).into())]),
        body: sentences(
            tr.t_with("notice-earned-body", &[("reason", reason.to_string().into())]),
            eligible_at.map(|at| tr.t_with("notice-earned-when", &[("day", tr.date(at).into())])),
        ),
    }
}

fn reward_eligible(tr: &Tr, m: &Money, reason: &str, expires_at: Option<DateTime<Utc>>) -> Message {
    Message {
        kind: NotificationKind::RewardEligible,
        title: tr.t_with("notice-eligible-title", &[("amount", amount(tr, m).into()), ("count", count(m))]),
        body: sentences(
            tr.t_with("notice-eligible-body", &[("reason", reason.to_string().into())]),
            expires_at.map(|at| tr.t_with("notice-eligible-until", &[("day", tr.date(at).into())])),
        ),
    }
}

fn tier_reached(tr: &Tr, tier: Tier) -> Message {
    Message {
        kind: NotificationKind::TierReached,
        title: tr.t_with("notice-tier-title", &[("tier", tier_name(tr, tier).into())]),
        body: tier_reason(tr, tier),
    }
}

/// A referral's conversion held for review: the referrer is told what waits, never the
/// fraud signals (those stay with the operators).
fn referral_held(tr: &Tr, m: &Money) -> Message {
    Message {
        kind: NotificationKind::ReferralHeld,
        title: tr.t("notice-held-title"),
        body: tr.t_with("notice-held-body", &[("amount", amount(tr, m).into()), ("count", count(m))]),
    }
}

fn review_decided(tr: &Tr, approved: bool, m: &Money) -> Message {
    let (title, body) = if approved { ("notice-approved-title", "notice-approved-body") } else { ("notice-rejected-title", "notice-rejected-body") };
    Message { kind: NotificationKind::ReviewDecided, title: tr.t(title), body: tr.t_with(body, &[("amount", amount(tr, m).into()), ("count", count(m))]) }
}

fn campaign_started(tr: &Tr, name: &str, multiplier_bp: u32, bonus: Option<&Money>, ends: NaiveDate) -> Message {
    let mut boost = Vec::new();
    if multiplier_bp != 10_000 {
        boost.push(tr.t_with("notice-campaign-multiplier", &[("factor", tr.factor_bp(multiplier_bp).into())]));
    }
    if let Some(bonus) = bonus.filter(|b| b.amount_minor > 0) {
        boost.push(tr.t_with("notice-campaign-bonus", &[("amount", amount(tr, bonus).into())]));
    }
    let day = tr.day(ends);
    let body = match boost.as_slice() {
        [] => tr.t_with("notice-campaign-body", &[("day", day.into()), ("name", name.to_string().into())]),
        parts => {
            let boost = parts[1..].iter().fold(parts[0].clone(), |first, second| {
                tr.t_with("notice-campaign-and", &[("first", first.into()), ("second", second.clone().into())])
            });
            tr.t_with("notice-campaign-boost-body", &[("day", day.into()), ("name", name.to_string().into()), ("boost", boost.into())])
        }
    };
    Message { kind: NotificationKind::CampaignStarted, title: tr.t_with("notice-campaign-title", &[("name", name.to_string().into())]), body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn english() -> Tr {
        Tr::for_account(None, None)
    }

    fn spanish() -> Tr {
        Tr::for_account(Some("es"), None)
    }

    #[test]
    fn amounts_name_credits_and_currencies() {
        let tr = english();
        assert_eq!(amount(&tr, &Money::credits(100)), "1 credit");
        assert_eq!(amount(&tr, &Money::credits(7_500)), "75 credits");
        assert_eq!(amount(&tr, &Money::credits(1_450)), "14.50 credits");
        assert_eq!(amount(&tr, &Money { amount_minor: 123_450, currency: "GBP".into() }), "1,234.50 GBP");
        assert_eq!(amount(&spanish(), &Money::credits(100)), "1 crédito");
        assert_eq!(amount(&spanish(), &Money::credits(1_450)), "14,50 créditos");
    }

    #[test]
    fn a_reward_says_what_it_is_for_and_when_it_can_be_claimed() {
        let at = Utc.with_ymd_and_hms(2026, 7, 14, 9, 0, 0).unwrap();
        let m = reward_earned(&english(), &Money::credits(7_500), "professional plan 25.00 × 2 (annual) × 1.5 (new referrer) = 75.00 credits", Some(at));
        assert_eq!(m.title, "You earned 75 credits");
        assert_eq!(
            m.body,
            "professional plan 25.00 × 2 (annual) × 1.5 (new referrer) = 75.00 credits. It can be claimed from 14 July 2026 once the customer has stayed past the holding period."
        );
        let m = reward_eligible(&spanish(), &Money::credits(500), "5% of 100.00 EUR = 5.00 credits", Some(at));
        assert_eq!(m.title, "5 créditos listos para canjear");
        assert!(m.body.ends_with("el periodo de espera ha terminado. Canjéalo antes del 14 de julio de 2026."), "{}", m.body);
    }

    #[test]
    fn tiers_and_reviews_in_both_languages() {
        let m = tier_reached(&english(), Tier::Bronze);
        assert_eq!((m.title.as_str(), m.body.as_str()), ("You reached the Bronze tier", "Bronze tier (1 successful referral): a month of your plan free."));
        let m = tier_reached(&spanish(), Tier::Active);
        assert_eq!(m.title, "Has alcanzado el nivel Activos");
        assert!(m.body.contains("recomendaciones con éxito): herramientas de planificación premium desbloqueadas."), "{}", m.body);
        let m = review_decided(&english(), false, &Money::credits(1_000));
        assert_eq!(m.title, "Your referral was not approved");
        assert!(m.body.contains("so 10 credits was voided"), "{}", m.body);
        assert_eq!(referral_held(&spanish(), &Money::credits(100)).title, "Estamos revisando una recomendación");
        // Spanish agrees with the amount: one credit is "listo", "vuelve", "se ha anulado".
        assert_eq!(reward_eligible(&spanish(), &Money::credits(100), "r", None).title, "1 crédito listo para canjear");
        assert!(review_decided(&spanish(), true, &Money::credits(100)).body.contains("1 crédito vuelve a ser tuyo"));
        assert!(review_decided(&spanish(), false, &Money::credits(100)).body.contains("1 crédito se ha anulado"));
        assert!(review_decided(&spanish(), false, &Money::credits(300)).body.contains("3 créditos se han anulado"));
    }

    #[test]
    fn a_campaign_names_its_boost() {
        let ends = NaiveDate::from_ymd_opt(2026, 8, 31).unwrap();
        let m = campaign_started(&english(), "Summer push", 15_000, Some(&Money::credits(500)), ends);
        assert_eq!(m.title, "Summer push has started");
        assert_eq!(m.body, "Referrals you make until 31 August 2026 count toward Summer push: rewards × 1.5 and a bonus of 5 credits per conversion.");
        let m = campaign_started(&spanish(), "Verano", 15_000, None, ends);
        assert_eq!(m.body, "Las recomendaciones que hagas hasta el 31 de agosto de 2026 cuentan para Verano: recompensas × 1,5.");
        let m = campaign_started(&english(), "Plain", 10_000, Some(&Money::credits(0)), ends);
        assert_eq!(m.body, "Referrals you make until 31 August 2026 count toward Plain.");
    }
}
