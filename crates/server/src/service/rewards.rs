//! Rewards as the business runs them: what a conversion earns and for whom, what a refund
//! or churn undoes, what time makes eligible or expires, claims, adjustments, tiers and
//! leaderboards. Every change of a balance posts to the ledger in the same transaction as
//! the change; the amounts and statuses come from `bouquet_core::{rewards, ledger, tiers}`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use bouquet_core::api::{
    BalanceView, Leaderboard, LeaderboardEntry, LedgerAdjustment, LedgerEntryView, RewardView, TierView,
};
use bouquet_core::leaderboard::{LEADERBOARD_SIZE, LeaderboardPeriod, Standing, display_name, leaderboard_entry};
use bouquet_core::ledger::{self, LedgerBucket, LedgerCause};
use bouquet_core::money::{CREDITS, format_minor_grouped};
use bouquet_core::reward_status::{RewardEvent, RewardStatus, is_due};
use bouquet_core::rewards::{
    RewardInput, RewardRole, RewardRules, referee_incentive, referrer_reward, reward_dates, split_among_referrers,
};
use bouquet_core::tiers::{Tier, tier_view, tiers_reached};
use bouquet_core::{AccountKind, Money};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use bouquet_core::campaigns::{Candidate, best_campaign};

use crate::error::ApiError;
use crate::service::{announce, campaigns, experiments};
use bouquet_core::api::ExperimentSubject;
use crate::store::{CampaignRow, ExperimentRow, NewConversion, ReferralFacts, RewardRow, RewardTx, StandingRow, Store, StoreError, Transfer};

/// The ledger holder of a platform user (a referee, who has no Bouquet account): a
/// name-based uuid of their platform id, the same on every server process.
pub fn platform_holder(user_id: &str) -> Uuid {
    let digest = Sha256::digest(format!("bouquet platform user\0{user_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

pub fn view(r: &RewardRow) -> RewardView {
    RewardView {
        id: r.id,
        role: r.role,
        amount: r.amount.clone(),
        status: r.status,
        reason: r.reason.clone(),
        referral_id: r.referral_id,
        conversion_id: r.conversion_id,
        created_at: r.created_at,
        eligible_at: r.eligible_at,
        expires_at: r.expires_at,
        claimed_at: r.claimed_at,
        tier: r.tier,
    }
}

/// Posts a reward's status change and moves it, or does nothing if another process moved
/// it first (compare-and-set on the status).
pub(crate) async fn move_reward(tx: &mut dyn RewardTx, r: &RewardRow, event: RewardEvent, now: DateTime<Utc>) -> Result<Option<RewardStatus>, ApiError> {
    let step = ledger::transition(r.holder, r.amount.amount_minor, r.status, event)
        .map_err(|e| ApiError::Conflict(e.to_string()))?;
    if !tx.set_reward_status(r.id, r.status, step.status, now).await? {
        return Ok(None);
    }
    tx.post(&Transfer {
        postings: step.postings,
        currency: r.amount.currency.clone(),
        reward_id: Some(r.id),
        memo: None,
        created_by: None,
        idempotency_key: None,
        at: now,
    })
    .await?;
    announce::reward_moved(tx, r, &event, step.status, now).await?;
    Ok(Some(step.status))
}

/// Issues a new reward: the row, and program → pending on the ledger. A backdated
/// conversion whose holding period already ended is eligible at once — unless fraud rules
/// withhold it (`held`): it is then held straight from pending, and its holder is told it
/// is under review rather than that they earned it.
async fn issue(tx: &mut dyn RewardTx, mut r: RewardRow, cause: LedgerCause, held: bool, now: DateTime<Utc>) -> Result<Option<RewardRow>, ApiError> {
    if !tx.insert_reward(&r).await? {
        return Ok(None);
    }
    let postings = ledger::issue_postings(r.holder, r.amount.amount_minor, cause).map_err(|e| ApiError::Internal(e.to_string()))?;
    tx.post(&Transfer { postings, currency: r.amount.currency.clone(), reward_id: Some(r.id), memo: None, created_by: None, idempotency_key: None, at: now })
        .await?;
    announce::reward_issued(tx, &r, !held, now).await?;
    let event = if held {
        Some(RewardEvent::Hold)
    } else if r.status == RewardStatus::Pending && r.eligible_at.is_some_and(|at| is_due(at, r.awaiting_paid_plan, now)) {
        Some(RewardEvent::HoldingPeriodPassed { awaiting_paid_plan: false })
    } else {
        None
    };
    if let Some(event) = event {
        if let Some(status) = move_reward(tx, &r, event, now).await? {
            r.status = status;
        }
    }
    Ok(Some(r))
}

/// What a new conversion earns, all in its transaction:
/// - each referrer the attribution credited gets their weight's share of their own
///   reward (`referrer_reward`: the plan, annual, a new referrer's bonus, or a couple's
///   5%), counted as one more successful referral;
/// - every tier that count crosses is recorded once, with its perk as a reward row;
/// - the referee gets the incentive the primary referral offered, as their own reward.
///
/// A conversion fraud rules `withheld` issues every reward held: it is not counted as a
/// success (nor toward tiers) until an operator approves it (`service::fraud::release`).
///
/// A campaign's budget is charged at commit unless it is in `charge_at_once` (see
/// `CampaignTx::reserve_budget_at_commit`).
pub async fn reward_conversion(
    tx: &mut dyn RewardTx,
    rules: &RewardRules,
    c: &NewConversion,
    withheld: bool,
    charge_at_once: &BTreeSet<Uuid>,
    now: DateTime<Utc>,
) -> Result<Vec<RewardRow>, ApiError> {
    // A referrer with several touches is one referrer: their weights and values add up.
    let mut referrers: BTreeMap<Uuid, (u32, i64, Uuid)> = BTreeMap::new();
    for credit in &c.credits {
        let entry = referrers.entry(credit.referrer_id).or_insert((0, 0, credit.referral_id));
        entry.0 += credit.weight_ppm;
        entry.1 += credit.value_minor;
        entry.2 = credit.referral_id; // credits run oldest first: keep the latest referral
    }
    let (eligible_at, expires_at) = reward_dates(rules, c.converted_at);
    let primary = &c.credits[c.primary];
    let mut quotes = Vec::new();
    // Read once in this transaction: the primary referral's facts and campaigns (the
    // referee's offer needs them again), and each campaign's running experiment.
    let mut primary_context: Option<(ReferralFacts, Vec<CampaignRow>)> = None;
    let mut tests: HashMap<Uuid, Option<ExperimentRow>> = HashMap::new();
    // BTreeMap order: standings are locked in account order, so two conversions sharing
    // referrers never wait on each other in opposite orders.
    for (&referrer, &(weight, value_minor, referral_id)) in referrers.iter().filter(|(_, (w, _, _))| *w > 0) {
        let Some(facts) = tx.referral_facts(referral_id).await? else { continue };
        let kind = facts.referrer_kind;
        let counted = i64::from(!withheld);
        let (prior, after) = tx.add_to_standing(referrer, kind, counted, value_minor * counted, c.converted_at).await?;
        // Conversions held for fraud review are not successes yet (tiers wait for them),
        // but they are not the referrer's first either: priced as counted, so approving
        // them later never pays a new referrer's bonus twice (read under the standing's lock).
        let priced_prior = prior + tx.held_successes(referrer).await?;
        let input = |boost| RewardInput {
            referrer_kind: kind,
            plan: c.plan.as_deref(),
            annual: c.annual,
            conversion_value: c.value.as_ref(),
            prior_successful: priced_prior,
            boost,
        };
        let standing = referrer_reward(rules, &input(None));
        // The one place campaigns enter: of those covering this referral, the one giving
        // the larger reward (they never stack).
        let open = tx.campaigns_for(facts.campaign_id, facts.created_at).await?;
        let mut covering = campaigns::covering(&open, &facts, priced_prior);
        // A campaign testing its referrer incentive pays this referrer their variant's.
        for (row, boost) in covering.iter_mut() {
            if let Some(test) = running_test(tx, &mut tests, row.id).await? {
                if test.subject == ExperimentSubject::ReferrerIncentive.as_str() {
                    if let Some((_, v)) = experiments::variant_of(&test, referrer) {
                        boost.multiplier_bp = v.multiplier_bp.map_or(boost.multiplier_bp, |m| u32::try_from(m).unwrap_or(u32::MAX));
                        boost.bonus_minor = v.bonus_minor.unwrap_or(boost.bonus_minor);
                        boost.name = format!("{} — {}", row.name, v.name);
                    }
                }
            }
        }
        let candidates: Vec<Candidate> = covering
            .iter()
            .map(|(row, boost)| Candidate {
                boost: boost.clone(),
                reward_minor: referrer_reward(rules, &input(Some(boost))).amount_minor,
                starts_at: row.starts_at,
            })
            .collect();
        let chosen = best_campaign(standing.amount_minor, &candidates).and_then(|best| {
            covering
                .iter()
                .find(|(row, boost)| *boost == best.boost && row.starts_at == best.starts_at)
                .map(|(row, boost)| (row.id, row.budget_minor - row.spent_minor, boost.clone()))
        });
        let quote = match &chosen {
            Some((_, _, boost)) => {
                let mut q = referrer_reward(rules, &input(Some(boost)));
                if covering.len() > 1 {
                    q.reason.push_str(&format!(" (the larger of {} overlapping campaigns; they do not stack)", covering.len()));
                }
                q
            }
            None => standing.clone(),
        };
        if referral_id == primary.referral_id {
            primary_context = Some((facts.clone(), open));
        }
        quotes.push((referrer, weight, value_minor, referral_id, quote, standing, chosen.map(|(id, headroom, _)| (id, headroom)), kind, prior, after));
    }
    let shares = split_among_referrers(&quotes.iter().map(|q| (q.4.amount_minor, q.1)).collect::<Vec<_>>());
    let mut issued = Vec::new();
    for ((referrer, weight, value_minor, referral_id, mut quote, standing, chosen, kind, prior, after), mut share) in quotes.into_iter().zip(shares) {
        let mut campaign = chosen.map(|(id, _)| id);
        // The hard cap: the campaign pays this share only if it fits in the budget;
        // otherwise the standing reward applies, never a partial one.
        if let Some((id, headroom)) = chosen {
            // Charged as the transaction's last write when the budget read above holds
            // it (its row, shared by every conversion under the campaign, then stays
            // locked for the commit alone); at once when it looked short, or when a
            // first try found it taken at commit, so the refusal is decided here.
            let charged = if share <= headroom && !charge_at_once.contains(&id) {
                tx.reserve_budget_at_commit(id, share);
                true
            } else {
                tx.reserve_budget(id, share, now).await?
            };
            if !charged {
                share = split_among_referrers(&[(standing.amount_minor, weight)])[0];
                let name = quote.campaign.clone().unwrap_or_default();
                quote = standing.clone();
                quote.reason.push_str(&format!("; campaign \"{name}\" has spent its budget, so the standing reward applies"));
                campaign = None;
            }
        }
        let reason = if weight < bouquet_core::attribution::FULL_WEIGHT {
            format!(
                "{}; your share under {} attribution: {}.{:04}% = {} credits",
                quote.reason,
                c.model.as_str().replace('_', "-"),
                weight / 10_000,
                weight % 10_000,
                format_minor_grouped(share)
            )
        } else {
            quote.reason.clone()
        };
        let row = RewardRow {
            id: Uuid::now_v7(),
            holder: referrer,
            account_id: Some(referrer),
            platform_user_id: None,
            role: RewardRole::Referrer,
            amount: Money::credits(share),
            value_minor,
            status: RewardStatus::Pending,
            reason,
            referral_id: Some(referral_id),
            conversion_id: Some(c.id),
            campaign_id: campaign,
            referee_user_id: Some(c.platform_user_id.clone()),
            tier: None,
            awaiting_paid_plan: quote.awaiting_paid_plan,
            created_at: now,
            earned_at: c.converted_at,
            eligible_at: Some(eligible_at),
            expires_at: Some(expires_at),
            claimed_at: None,
            status_at: now,
        };
        issued.extend(issue(tx, row, LedgerCause::Conversion, withheld, now).await?);
        for tier in tiers_reached(kind, prior, after) {
            issued.extend(grant_tier(tx, referrer, tier, after, now).await?);
        }
    }
    // The referee's incentive, from the primary referral's offer.
    let primary_context = match primary_context {
        Some(known) => Some(known),
        None => match tx.referral_facts(primary.referral_id).await? {
            Some(facts) => {
                let open = tx.campaigns_for(facts.campaign_id, facts.created_at).await?;
                Some((facts, open))
            }
            None => None,
        },
    };
    if let Some((facts, open)) = primary_context {
        // The referral's own offer, else that of a campaign it was made under.
        let campaign_offer = match facts.campaign_id {
            Some(id) => {
                let offer = open.iter().find(|c| c.id == id).and_then(|c| c.referee_incentive.clone());
                // A campaign testing its referee incentive offers the variant of the referrer.
                match running_test(tx, &mut tests, id).await? {
                    Some(test) if test.subject == ExperimentSubject::RefereeIncentive.as_str() => {
                        experiments::variant_of(&test, primary.referrer_id).and_then(|(_, v)| v.referee_incentive.clone()).or(offer)
                    }
                    _ => offer,
                }
            }
            None => None,
        };
        if let Some(amount) = referee_incentive(facts.incentive.as_ref()).or_else(|| referee_incentive(campaign_offer.as_ref())) {
            let reason = format!("the incentive your referral offered: {} {}", format_minor_grouped(amount.amount_minor), amount.currency);
            let row = RewardRow {
                id: Uuid::now_v7(),
                holder: platform_holder(&c.platform_user_id),
                account_id: None,
                platform_user_id: Some(c.platform_user_id.clone()),
                role: RewardRole::Referee,
                amount,
                value_minor: 0,
                // The referee's incentive is theirs at once (the platform applies it to
                // the purchase); a refund still claws it back.
                status: RewardStatus::Pending,
                reason,
                referral_id: Some(primary.referral_id),
                conversion_id: Some(c.id),
                campaign_id: None,
                referee_user_id: Some(c.platform_user_id.clone()),
                tier: None,
                awaiting_paid_plan: false,
                created_at: now,
                earned_at: c.converted_at,
                eligible_at: Some(c.converted_at.min(now)),
                expires_at: Some(expires_at),
                claimed_at: None,
                status_at: now,
            };
            issued.extend(issue(tx, row, LedgerCause::Conversion, withheld, now).await?);
        }
    }
    Ok(issued)
}

/// The campaign's running experiment, read once per transaction.
async fn running_test(tx: &mut dyn RewardTx, cache: &mut HashMap<Uuid, Option<ExperimentRow>>, campaign: Uuid) -> Result<Option<ExperimentRow>, ApiError> {
    if let Some(known) = cache.get(&campaign) {
        return Ok(known.clone());
    }
    let test = tx.running_experiment_in_tx(campaign).await?;
    cache.insert(campaign, test.clone());
    Ok(test)
}

/// A tier reached: recorded once, its perk a reward row (perks are not paid in credits:
/// the row has 0 credits and is eligible at once for the platform to apply).
pub(crate) async fn grant_tier(tx: &mut dyn RewardTx, account: Uuid, tier: Tier, successful: i64, now: DateTime<Utc>) -> Result<Option<RewardRow>, ApiError> {
    let row = RewardRow {
        id: Uuid::now_v7(),
        holder: account,
        account_id: Some(account),
        platform_user_id: None,
        role: RewardRole::Tier,
        amount: Money::credits(0),
        value_minor: 0,
        status: RewardStatus::Pending,
        reason: tier.reward_reason(),
        referral_id: None,
        conversion_id: None,
        campaign_id: None,
        referee_user_id: None,
        tier: Some(tier),
        awaiting_paid_plan: false,
        created_at: now,
        earned_at: now,
        eligible_at: Some(now),
        expires_at: None,
        claimed_at: None,
        status_at: now,
    };
    // The reward's unique (holder, tier) grants it once; the tier change then records it.
    let Some(granted) = issue(tx, row, LedgerCause::TierPerk, false, now).await? else { return Ok(None) };
    tx.record_tier(account, tier, successful, granted.id, now).await?;
    announce::tier_reached(tx, account, tier, successful, &granted, now).await?;
    Ok(Some(granted))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo {
    Refund,
    Churn,
}

/// A refund or churn for the referee, at `at`: before a reward's eligibility it is
/// voided; a refund after it claws the reward back (a churn after it changes nothing —
/// the customer paid and stayed past the holding period). A referrer's voided or clawed
/// back reward no longer counts as a successful referral.
pub async fn undo_conversion(tx: &mut dyn RewardTx, user_id: &str, undo: Undo, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<Vec<RewardRow>, ApiError> {
    let mut changed = Vec::new();
    for mut r in tx.rewards_of_referee(user_id).await? {
        if r.status.is_final() {
            continue;
        }
        let before_eligible = r.eligible_at.is_none_or(|e| at < e);
        if undo == Undo::Churn && !before_eligible {
            continue;
        }
        let Some(status) = move_reward(tx, &r, RewardEvent::RefundOrChurn { before_eligible }, now).await? else { continue };
        if r.role == RewardRole::Referrer {
            // A held reward was not counted as a success (fraud review), so nothing to remove.
            if let (Some(account), false) = (r.account_id, r.status == RewardStatus::Held) {
                tx.remove_success(account, r.value_minor).await?;
            }
            // A voided or clawed-back grant returns its campaign's budget.
            if let Some(campaign) = r.campaign_id {
                tx.release_budget(campaign, r.amount.amount_minor).await?;
            }
        }
        r.status = status;
        r.reason = format!("{} — {} by a {} on {}", r.reason, status.as_str().replace('_', " "), match undo {
            Undo::Refund => "refund",
            Undo::Churn => "cancellation",
        }, at.format("%Y-%m-%d"));
        changed.push(r);
    }
    Ok(changed)
}

/// The referee paid after a free-plan conversion: their rewards stop waiting, and those
/// whose holding period ended become eligible now.
pub async fn paid_plan_reached(tx: &mut dyn RewardTx, user_id: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    if tx.clear_awaiting_paid_plan(user_id).await? == 0 {
        return Ok(());
    }
    for r in tx.rewards_of_referee(user_id).await? {
        if r.status == RewardStatus::Pending && r.eligible_at.is_some_and(|at| at <= now) {
            move_reward(tx, &RewardRow { awaiting_paid_plan: false, ..r }, RewardEvent::HoldingPeriodPassed { awaiting_paid_plan: false }, now)
                .await?;
        }
    }
    Ok(())
}

/// What time changes, without a request: rewards whose holding period ended become
/// eligible; unclaimed ones past their expiry expire. Batches of `batch`, each in its own
/// transaction; safe on several processes (each locks and skips the rows another holds,
/// and a status only moves from what it was read as). Returns (made eligible, expired).
pub async fn process_due(store: &Arc<dyn Store>, now: DateTime<Utc>, batch: i64) -> Result<(u64, u64), ApiError> {
    let (mut eligible, mut expired) = (0, 0);
    loop {
        let mut tx = store.begin_rewards().await?;
        let due = tx.due_rewards(now, batch).await?;
        for r in &due {
            eligible += u64::from(move_reward(tx.as_mut(), r, RewardEvent::HoldingPeriodPassed { awaiting_paid_plan: false }, now).await?.is_some());
        }
        let lapsed = tx.expired_rewards(now, batch).await?;
        for r in &lapsed {
            expired += u64::from(move_reward(tx.as_mut(), r, RewardEvent::ExpiryPassed, now).await?.is_some());
        }
        tx.commit().await?;
        if (due.len() as i64) < batch && (lapsed.len() as i64) < batch {
            return Ok((eligible, expired));
        }
    }
}

/// Runs [`process_due`] every `every` until the process ends, and rebuilds the analytics
/// days marked since the last round.
/// With `seed_calendar`, it also puts each new year's seasons on the calendar.
/// It also clears personal data that has outlived `retention` (docs/privacy.md).
pub async fn run_scheduler(store: Arc<dyn Store>, every: std::time::Duration, seed_calendar: bool, retention: crate::service::privacy::Retention) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // Next year's seasons go on the calendar as the year turns (each year once).
        if seed_calendar {
            if let Err(e) = crate::service::campaigns::seed_calendar(&store, Utc::now()).await {
                tracing::warn!(error = %e, "putting the seasonal calendar on failed; it will try again");
            }
        }
        if let Err(e) = store.advance_campaigns(Utc::now()).await {
            tracing::warn!(error = %e, "moving campaigns by time failed; it will try again");
        }
        if let Err(e) = crate::service::campaigns::announce_started(&store, Utc::now()).await {
            tracing::warn!(error = %e, "announcing started campaigns failed; it will try again");
        }
        match process_due(&store, Utc::now(), 500).await {
            Ok((0, 0)) => {}
            Ok((eligible, expired)) => tracing::info!(eligible, expired, "rewards moved by time"),
            Err(e) => tracing::warn!(error = %e, "the rewards scheduler failed; it will try again"),
        }
        // The daily analytics rollup, off the request path: a report then seldom finds a
        // marked day to rebuild first (after a migration or a bulk load, every day is).
        match store.rebuild_analytics_days().await {
            Ok(0) => {}
            Ok(days) => tracing::info!(days, "analytics days rebuilt"),
            Err(e) => tracing::warn!(error = %e, "rebuilding analytics days failed; it will try again"),
        }
        match crate::service::privacy::apply_retention(&store, retention, Utc::now()).await {
            Ok((0, 0)) => {}
            Ok((touches, leads)) => tracing::info!(touches, leads, "visits and leads past their retention anonymised"),
            Err(e) => tracing::warn!(error = %e, "applying the retention failed; it will try again"),
        }
    }
}

/// The holder claims an eligible reward: available → claimed.
pub async fn claim(store: &Arc<dyn Store>, holder: Uuid, reward_id: Uuid, now: DateTime<Utc>) -> Result<RewardView, ApiError> {
    let mut tx = store.begin_rewards().await?;
    // A refusal ends the transaction before answering: a dropped one keeps its row lock
    // until its connection is next used, and the scheduler would pass the reward by.
    let Some(mut r) = tx.reward_for_update(reward_id).await?.filter(|r| r.holder == holder) else {
        tx.rollback().await?;
        return Err(ApiError::NotFound("no such reward"));
    };
    if r.status != RewardStatus::Eligible {
        tx.rollback().await?;
        return Err(ApiError::Conflict(format!(
            "only an eligible reward can be claimed; this one is {}{}",
            r.status.as_str().replace('_', " "),
            match (r.status, r.eligible_at) {
                (RewardStatus::Pending, Some(at)) if !r.awaiting_paid_plan => format!(" until {}", at.format("%Y-%m-%d %H:%M UTC")),
                (RewardStatus::Pending, _) if r.awaiting_paid_plan => " until the referee pays".into(),
                _ => String::new(),
            }
        )));
    }
    let status = move_reward(tx.as_mut(), &r, RewardEvent::Claim, now).await?;
    tx.commit().await?;
    r.status = status.unwrap_or(RewardStatus::Claimed);
    r.claimed_at = Some(now);
    Ok(view(&r))
}

/// An admin's correction of an account's available credits, with the reason and who made
/// it on both entries. A removal never takes the balance below zero.
pub async fn adjust(store: &Arc<dyn Store>, admin: Uuid, req: LedgerAdjustment, now: DateTime<Utc>) -> Result<Vec<LedgerEntryView>, ApiError> {
    let reason = req.reason.trim();
    if reason.len() < 3 || reason.len() > 500 {
        return Err(ApiError::invalid("invalid_field", "reason must say why, in 3 to 500 characters"));
    }
    if req.amount.currency.trim().to_ascii_uppercase() != CREDITS {
        return Err(ApiError::invalid("invalid_field", "amount.currency must be CRD (credits)"));
    }
    if req.amount.amount_minor == 0 || req.amount.amount_minor.abs() > 100_000_000 {
        return Err(ApiError::invalid("invalid_field", "amount.amount_minor must be non-zero and at most 1,000,000.00 credits either way"));
    }
    let account = store.account(req.account_id).await?.ok_or(ApiError::NotFound("no such account"))?;
    if account.kind == AccountKind::Admin {
        return Err(ApiError::invalid("invalid_field", "admin accounts hold no credits"));
    }
    let key = req.idempotency_key.as_deref().map(str::trim).filter(|k| !k.is_empty()).map(|k| format!("adjustment:{}:{k}", account.id));
    let posting = ledger::adjustment_posting(account.id, req.amount.amount_minor).expect("non-zero");
    let mut tx = store.begin_rewards().await?;
    let result = tx
        .post(&Transfer {
            postings: vec![posting],
            currency: CREDITS.into(),
            reward_id: None,
            memo: Some(reason.to_string()),
            created_by: Some(admin),
            idempotency_key: key.clone(),
            at: now,
        })
        .await;
    match result {
        Ok(()) => tx.commit().await?,
        // A retry of an adjustment already posted: answered, not posted again.
        Err(StoreError::Conflict(_)) => {
            drop(tx);
            return Ok(ledger_entries(store, account.id, None, 2).await?.0);
        }
        Err(StoreError::Refused(_)) => {
            return Err(ApiError::invalid("insufficient_balance", "that would take the account's available credits below zero"));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(ledger_entries(store, account.id, None, 2).await?.0)
}

pub async fn balance(store: &Arc<dyn Store>, holder: Uuid) -> Result<BalanceView, ApiError> {
    let mut by_bucket: BTreeMap<LedgerBucket, i64> = BTreeMap::new();
    for (bucket, money) in store.balances_of(holder).await? {
        if money.currency == CREDITS {
            by_bucket.insert(bucket, money.amount_minor);
        }
    }
    let get = |b| Money::credits(*by_bucket.get(&b).unwrap_or(&0));
    Ok(BalanceView {
        pending: get(LedgerBucket::Pending),
        available: get(LedgerBucket::Available),
        claimed: get(LedgerBucket::Claimed),
        held: get(LedgerBucket::Held),
        lifetime: Money::credits(by_bucket.values().sum()),
    })
}

pub async fn ledger_entries(store: &Arc<dyn Store>, holder: Uuid, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> Result<(Vec<LedgerEntryView>, Option<(DateTime<Utc>, Uuid)>), ApiError> {
    let rows = store.ledger_of(holder, after, limit).await?;
    let next = (rows.len() as i64 == limit).then(|| rows.last().map(|r| (r.created_at, r.id))).flatten();
    let items = rows
        .into_iter()
        .filter_map(|r| {
            Some(LedgerEntryView {
                id: r.id,
                account: r.book?,
                amount: r.amount,
                cause: r.cause,
                reward_id: r.reward_id,
                memo: r.memo,
                created_by: r.created_by,
                created_at: r.created_at,
            })
        })
        .collect();
    Ok((items, next))
}

pub async fn tier(store: &Arc<dyn Store>, account_id: Uuid, kind: AccountKind) -> Result<TierView, ApiError> {
    let successful = store.standing(account_id).await?.map_or(0, |s| s.successful_referrals);
    Ok(tier_view(kind, successful))
}

fn entry(rank: i64, s: &StandingRow, you: Option<Uuid>, currency: &str) -> LeaderboardEntry {
    let standing = Standing {
        account_id: s.account_id,
        successful_referrals: s.successful_referrals,
        value_generated_minor: s.value_generated_minor,
        reached_at: s.reached_at,
    };
    let name = display_name(s.kind, s.name.as_deref(), !s.show_name);
    leaderboard_entry(s.kind, rank, &standing, name, currency, you == Some(s.account_id))
}

/// A leaderboard of real accounts only: those with at least one successful referral in
/// the period, best first by `leaderboard::leaderboard_order`, and the caller's own entry.
pub async fn leaderboard(
    store: &Arc<dyn Store>,
    kind: AccountKind,
    period: LeaderboardPeriod,
    caller: Option<(Uuid, AccountKind)>,
    currency: &str,
    now: DateTime<Utc>,
) -> Result<Leaderboard, ApiError> {
    if kind == AccountKind::Admin {
        return Err(ApiError::invalid("invalid_field", "kind must be supplier or couple"));
    }
    let since = period.start(now);
    let you_id = caller.map(|(id, _)| id);
    let rows = store.leaderboard(kind, since, LEADERBOARD_SIZE as i64).await?;
    let entries: Vec<LeaderboardEntry> = rows.iter().enumerate().map(|(i, s)| entry(i as i64 + 1, s, you_id, currency)).collect();
    let you = match caller {
        Some((id, k)) if k == kind => store.leaderboard_position(id, kind, since).await?.map(|(above, s)| entry(above + 1, &s, you_id, currency)),
        _ => None,
    };
    Ok(Leaderboard { kind, period, entries, you })
}
