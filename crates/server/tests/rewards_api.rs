//! Rewards over real HTTP on SQLite and PostgreSQL: what a conversion earns, holding,
//! claims, refunds before and after eligibility, free plans, expiry by the scheduler,
//! tiers, admin adjustments and leaderboards — with the ledger audited after each.

mod common;
use bouquet_server::on_both_backends;

use std::sync::Arc;

use bouquet_core::api::{BalanceView, EventOutcome, Leaderboard, LedgerPage, PlatformUserRewards, RewardView, RewardsPage, SessionView, TierView};
use bouquet_core::reward_status::RewardStatus;
use bouquet_core::rewards::RewardRole;
use bouquet_core::tiers::Tier;
use bouquet_server::service::rewards::process_due;
use bouquet_server::store::Store;
use chrono::{DateTime, Duration, Utc};
use common::{TestDb, TestServer, api, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn account(server: &TestServer, kind: &str, email: &str, name: &str) -> SessionView {
    let body = if kind == "supplier" {
        json!({"kind": "supplier", "email": email, "password": "correct horse battery", "business_name": name, "vendor_type": "florist"})
    } else {
        json!({"kind": "couple", "email": email, "password": "correct horse battery", "couple_names": name})
    };
    json_of(api().post(format!("{}/api/v1/accounts", server.url)).json(&body).send().await.unwrap(), StatusCode::CREATED).await;
    let session = api()
        .post(format!("{}/api/v1/sessions", server.url))
        .json(&json!({"email": email, "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    serde_json::from_value(json_of(session, StatusCode::CREATED).await).unwrap()
}

async fn code(server: &TestServer, s: &SessionView, incentive_minor: Option<i64>) -> String {
    let mut body = json!({"method": "link"});
    if let Some(minor) = incentive_minor {
        body["incentive_amount"] = json!({"amount_minor": minor, "currency": "GBP"});
        body["incentive_offered"] = json!("£10 off your first month");
    }
    let resp = api().post(format!("{}/api/v1/referrals", server.url)).bearer_auth(&s.token).json(&body).send().await.unwrap();
    json_of(resp, StatusCode::CREATED).await["code"].as_str().unwrap().to_string()
}

struct Platform {
    key: String,
}

impl Platform {
    async fn new(server: &TestServer) -> Self {
        let key = bouquet_server::service::accounts::create_api_key(&server.store, &format!("wedsync-{}", uuid::Uuid::new_v4())).await.unwrap();
        Self { key }
    }

    async fn event(&self, server: &TestServer, body: Value) -> EventOutcome {
        let resp = api().post(format!("{}/api/v1/events", server.url)).bearer_auth(&self.key).json(&body).send().await.unwrap();
        serde_json::from_value(json_of(resp, StatusCode::OK).await).unwrap()
    }

    /// A user who typed `code` at sign-up converts on `plan`, at `at`.
    async fn convert(&self, server: &TestServer, user: &str, code: &str, plan: &str, annual: bool, value_minor: i64, at: DateTime<Utc>) -> EventOutcome {
        self.event(server, json!({"idempotency_key": format!("convert-{user}-{plan}"), "type": "convert", "occurred_at": at,
            "user": {"id": user, "kind": "supplier"}, "code": code, "plan": plan, "annual": annual,
            "value": {"amount_minor": value_minor, "currency": "GBP"}}))
            .await
    }

    async fn undo(&self, server: &TestServer, user: &str, kind: &str, at: DateTime<Utc>) -> EventOutcome {
        self.event(server, json!({"idempotency_key": format!("{kind}-{user}"), "type": kind, "occurred_at": at,
            "user": {"id": user, "kind": "supplier"}}))
            .await
    }
}

async fn get<T: serde::de::DeserializeOwned>(server: &TestServer, s: &SessionView, path: &str) -> T {
    let resp = api().get(format!("{}{path}", server.url)).bearer_auth(&s.token).send().await.unwrap();
    serde_json::from_value(json_of(resp, StatusCode::OK).await).unwrap()
}

async fn balance(server: &TestServer, s: &SessionView) -> (i64, i64, i64, i64) {
    let b: BalanceView = get(server, s, "/api/v1/me/balance").await;
    assert!(b.pending.currency == "CRD" && b.lifetime.amount_minor == b.pending.amount_minor + b.available.amount_minor + b.claimed.amount_minor + b.held.amount_minor);
    (b.pending.amount_minor, b.available.amount_minor, b.claimed.amount_minor, b.held.amount_minor)
}

async fn rewards(server: &TestServer, s: &SessionView) -> Vec<RewardView> {
    get::<RewardsPage>(server, s, "/api/v1/me/rewards?limit=200").await.items
}

/// Every test that touches money ends with the books checked.
async fn assert_books_balance(store: &Arc<dyn Store>) {
    let audit = store.audit_ledger().await.unwrap();
    assert!(audit.is_clean(), "{audit:?}");
}

async fn claim(server: &TestServer, s: &SessionView, id: uuid::Uuid) -> reqwest::Response {
    api().post(format!("{}/api/v1/me/rewards/{id}/claim", server.url)).bearer_auth(&s.token).send().await.unwrap()
}

async fn a_conversion_earns_the_seed_reward_and_the_referee_incentive(db: &TestDb) {
    let server = TestServer::start(db).await;
    let flo = account(&server, "supplier", "flo@example.com", "Petal & Stem").await;
    let platform = Platform::new(&server).await;
    let c = code(&server, &flo, Some(1000)).await;
    let now = Utc::now();
    let outcome = platform.convert(&server, "u1", &c, "Professional", true, 4900, now).await;
    // 25.00 (professional) × 2 (annual) × 1.5 (no earlier successes) = 75.00 credits.
    let mine: Vec<&RewardView> = outcome.rewards.iter().filter(|r| r.role == RewardRole::Referrer).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0].amount.amount_minor, mine[0].amount.currency.as_str(), mine[0].status), (7500, "CRD", RewardStatus::Pending));
    assert!(mine[0].reason.contains("× 2") && mine[0].reason.contains("× 1.5") && mine[0].reason.contains("75.00"), "{}", mine[0].reason);
    assert_eq!(mine[0].eligible_at.unwrap().timestamp(), (now + Duration::days(14)).timestamp());
    let referee: Vec<&RewardView> = outcome.rewards.iter().filter(|r| r.role == RewardRole::Referee).collect();
    assert_eq!((referee[0].amount.amount_minor, referee[0].amount.currency.as_str()), (1000, "GBP"));
    // The bronze tier on the first success, its perk as a reward row.
    assert!(outcome.rewards.iter().any(|r| r.role == RewardRole::Tier && r.tier == Some(Tier::Bronze)));
    assert_eq!(balance(&server, &flo).await, (7500, 0, 0, 0));
    let tier: TierView = get(&server, &flo, "/api/v1/me/tier").await;
    assert_eq!((tier.successful_referrals, tier.tier.map(|t| t.tier), tier.referrals_to_next), (1, Some(Tier::Bronze), Some(2)));

    // The platform sees what the referee is owed.
    let resp = api().get(format!("{}/api/v1/platform/users/u1/rewards", server.url)).bearer_auth(&platform.key).send().await.unwrap();
    let owed: PlatformUserRewards = serde_json::from_value(json_of(resp, StatusCode::OK).await).unwrap();
    assert_eq!(owed.items.len(), 1);
    assert_eq!(owed.items[0].amount.amount_minor, 1000);

    // A replay of the conversion pays nothing more.
    let replay = platform.convert(&server, "u1", &c, "Professional", true, 4900, now).await;
    assert_eq!(replay.rewards.len(), outcome.rewards.len());
    assert_eq!(balance(&server, &flo).await, (7500, 0, 0, 0));
    assert_eq!(rewards(&server, &flo).await.iter().filter(|r| r.role == RewardRole::Referrer).count(), 1);

    // Pending cannot be claimed; the scheduler makes it eligible after 14 days.
    assert_eq!(json_of(claim(&server, &flo, mine[0].id).await, StatusCode::CONFLICT).await["code"], "conflict");
    assert_eq!(process_due(&server.store, now + Duration::days(14) - Duration::seconds(1), 100).await.unwrap().0, 0);
    assert_eq!(process_due(&server.store, now + Duration::days(14) + Duration::seconds(1), 100).await.unwrap().0, 1);
    assert_eq!(balance(&server, &flo).await, (0, 7500, 0, 0));
    let claimed: RewardView = serde_json::from_value(json_of(claim(&server, &flo, mine[0].id).await, StatusCode::OK).await).unwrap();
    assert_eq!(claimed.status, RewardStatus::Claimed);
    assert_eq!(balance(&server, &flo).await, (0, 0, 7500, 0));
    assert_eq!(json_of(claim(&server, &flo, mine[0].id).await, StatusCode::CONFLICT).await["code"], "conflict");
    // Another account cannot see or claim it.
    let other = account(&server, "supplier", "other@example.com", "Other").await;
    assert_eq!(json_of(claim(&server, &other, mine[0].id).await, StatusCode::NOT_FOUND).await["code"], "not_found");
    assert!(rewards(&server, &other).await.is_empty());

    // Second and third successes still earn the new-referrer bonus; the fourth does not.
    for (i, expected) in [(2, 1500), (3, 1500), (4, 1000)] {
        let out = platform.convert(&server, &format!("u{i}"), &c, "starter", false, 2900, now).await;
        let r = out.rewards.iter().find(|r| r.role == RewardRole::Referrer).unwrap();
        assert_eq!(r.amount.amount_minor, expected, "success #{i}: {}", r.reason);
    }
    assert!(rewards(&server, &flo).await.iter().any(|r| r.tier == Some(Tier::Silver)));
    assert_books_balance(&server.store).await;
}

async fn refunds_void_before_eligibility_and_claw_back_after(db: &TestDb) {
    let server = TestServer::start(db).await;
    let flo = account(&server, "supplier", "flo@example.com", "Petal & Stem").await;
    let platform = Platform::new(&server).await;
    let c = code(&server, &flo, None).await;
    let now = Utc::now();
    // Refunded within the holding period: voided, and it no longer counts.
    platform.convert(&server, "early", &c, "scale", false, 9900, now - Duration::days(3)).await;
    let undone = platform.undo(&server, "early", "refund", now - Duration::days(1)).await;
    assert_eq!(undone.rewards.iter().filter(|r| r.status == RewardStatus::Voided).count(), 1, "{:?}", undone.rewards);
    assert_eq!(balance(&server, &flo).await, (0, 0, 0, 0));
    let tier: TierView = get(&server, &flo, "/api/v1/me/tier").await;
    assert_eq!(tier.successful_referrals, 0);

    // Backdated past the holding period: eligible at once; claimed; refunded → clawed back.
    let out = platform.convert(&server, "late", &c, "scale", false, 9900, now - Duration::days(20)).await;
    let r = out.rewards.iter().find(|r| r.role == RewardRole::Referrer).unwrap().clone();
    assert_eq!(r.status, RewardStatus::Eligible);
    // 50.00 × 1.5: no earlier successes count (the voided one does not).
    assert_eq!(r.amount.amount_minor, 7500);
    json_of(claim(&server, &flo, r.id).await, StatusCode::OK).await;
    let undone = platform.undo(&server, "late", "refund", now).await;
    assert!(undone.rewards.iter().any(|x| x.id == r.id && x.status == RewardStatus::ClawedBack));
    assert_eq!(balance(&server, &flo).await, (0, 0, 0, 0));

    // A churn after eligibility changes nothing; a churn before it voids.
    let kept = platform.convert(&server, "kept", &c, "starter", false, 2900, now - Duration::days(30)).await;
    platform.undo(&server, "kept", "churn", now).await;
    let k = kept.rewards.iter().find(|r| r.role == RewardRole::Referrer).unwrap();
    assert!(rewards(&server, &flo).await.iter().any(|x| x.id == k.id && x.status == RewardStatus::Eligible));
    platform.convert(&server, "gone", &c, "starter", false, 2900, now - Duration::days(2)).await;
    let undone = platform.undo(&server, "gone", "churn", now).await;
    assert_eq!(undone.rewards.iter().filter(|r| r.status == RewardStatus::Voided).count(), 1);
    assert_books_balance(&server.store).await;
}

async fn a_free_plan_waits_for_payment_and_unclaimed_rewards_expire(db: &TestDb) {
    let server = TestServer::start(db).await;
    let flo = account(&server, "supplier", "flo@example.com", "Petal & Stem").await;
    let platform = Platform::new(&server).await;
    let c = code(&server, &flo, None).await;
    let now = Utc::now();
    let out = platform.convert(&server, "free-user", &c, "free", false, 0, now - Duration::days(20)).await;
    let r = out.rewards.iter().find(|r| r.role == RewardRole::Referrer).unwrap().clone();
    assert_eq!(r.status, RewardStatus::Pending, "{}", r.reason);
    assert!(r.reason.contains("paid plan"), "{}", r.reason);
    process_due(&server.store, now, 100).await.unwrap();
    assert_eq!(balance(&server, &flo).await.0, r.amount.amount_minor, "still pending after the holding period");
    // The referee pays: the reward becomes eligible (its holding period is over).
    platform.convert(&server, "free-user", &c, "professional", false, 4900, now).await;
    assert!(rewards(&server, &flo).await.iter().any(|x| x.id == r.id && x.status == RewardStatus::Eligible));
    // Unclaimed for a year after eligibility: expired by the scheduler, back to the program.
    let expires = r.expires_at.unwrap();
    assert_eq!(process_due(&server.store, expires - Duration::seconds(1), 100).await.unwrap().1, 0);
    let (_, expired) = process_due(&server.store, expires + Duration::seconds(1), 100).await.unwrap();
    assert!(expired >= 1);
    assert!(rewards(&server, &flo).await.iter().any(|x| x.id == r.id && x.status == RewardStatus::Expired));
    assert_eq!(balance(&server, &flo).await, (0, 0, 0, 0));
    assert_books_balance(&server.store).await;
}

async fn admins_adjust_with_a_reason_and_others_are_refused(db: &TestDb) {
    let server = TestServer::start(db).await;
    let flo = account(&server, "supplier", "flo@example.com", "Petal & Stem").await;
    bouquet_server::service::accounts::create_admin(&server.store, "ops@example.com", "correct horse battery".into()).await.unwrap();
    let session = api()
        .post(format!("{}/api/v1/sessions", server.url))
        .json(&json!({"email": "ops@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    let ops: SessionView = serde_json::from_value(json_of(session, StatusCode::CREATED).await).unwrap();
    let url = format!("{}/api/v1/admin/ledger/adjustments", server.url);
    let body = json!({"account_id": flo.account.id, "amount": {"amount_minor": 1250, "currency": "CRD"}, "reason": "goodwill: late payout", "idempotency_key": "adj-1"});
    json_of(api().post(&url).bearer_auth(&flo.token).json(&body).send().await.unwrap(), StatusCode::FORBIDDEN).await;
    json_of(api().post(&url).json(&body).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    json_of(api().post(&url).bearer_auth(&ops.token).json(&body).send().await.unwrap(), StatusCode::CREATED).await;
    // A retry with the same key posts nothing more.
    json_of(api().post(&url).bearer_auth(&ops.token).json(&body).send().await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(balance(&server, &flo).await, (0, 1250, 0, 0));
    let no_reason = json!({"account_id": flo.account.id, "amount": {"amount_minor": 100, "currency": "CRD"}, "reason": " "});
    assert_eq!(json_of(api().post(&url).bearer_auth(&ops.token).json(&no_reason).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await["code"], "invalid_field");
    let too_much = json!({"account_id": flo.account.id, "amount": {"amount_minor": -5000, "currency": "CRD"}, "reason": "reverse goodwill"});
    assert_eq!(json_of(api().post(&url).bearer_auth(&ops.token).json(&too_much).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await["code"], "insufficient_balance");
    assert_eq!(balance(&server, &flo).await, (0, 1250, 0, 0));
    let ledger_url = format!("{}/api/v1/admin/accounts/{}/ledger", server.url, flo.account.id);
    json_of(api().get(&ledger_url).bearer_auth(&flo.token).send().await.unwrap(), StatusCode::FORBIDDEN).await;
    let page: LedgerPage = serde_json::from_value(json_of(api().get(&ledger_url).bearer_auth(&ops.token).send().await.unwrap(), StatusCode::OK).await).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!((page.items[0].memo.as_deref(), page.items[0].created_by), (Some("goodwill: late payout"), Some(ops.account.id)));
    let own: LedgerPage = get(&server, &flo, "/api/v1/me/ledger").await;
    assert_eq!(own.items, page.items);
    assert_books_balance(&server.store).await;
}

async fn leaderboards_rank_real_accounts_and_respect_opt_outs(db: &TestDb) {
    let server = TestServer::start(db).await;
    let a = account(&server, "supplier", "a@example.com", "Alpha Flowers").await;
    let b = account(&server, "supplier", "b@example.com", "Bravo Venue").await;
    let c = account(&server, "supplier", "c@example.com", "Charlie Cakes").await;
    let platform = Platform::new(&server).await;
    let now = Utc::now();
    let (ca, cb) = (code(&server, &a, None).await, code(&server, &b, None).await);
    for i in 0..3 {
        platform.convert(&server, &format!("a{i}"), &ca, "starter", false, 1000, now - Duration::days(40)).await;
    }
    for i in 0..2 {
        platform.convert(&server, &format!("b{i}"), &cb, "starter", false, 1000, now).await;
    }
    let all: Leaderboard = get(&server, &c, "/api/v1/leaderboards?kind=supplier&period=all").await;
    let names: Vec<&str> = all.entries.iter().map(|e| e.display_name.as_str()).collect();
    assert_eq!(names, ["Alpha Flowers", "Bravo Venue"], "no padding, no account without a success");
    assert_eq!((all.entries[0].rank, all.entries[0].tier, all.entries[0].successful_referrals), (1, Some(Tier::Silver), 3));
    assert!(all.you.is_none(), "Charlie has no success yet");
    // This week Bravo leads (Alpha's were 40 days ago).
    let week: Leaderboard = get(&server, &b, "/api/v1/leaderboards?kind=supplier&period=week").await;
    assert_eq!(week.entries.len(), 1);
    assert!(week.entries[0].is_you && week.you.as_ref().unwrap().rank == 1);
    // Alpha opts out: shown without its name.
    let resp = api().put(format!("{}/api/v1/me/leaderboard-visibility", server.url)).bearer_auth(&a.token).json(&json!({"show_name": false})).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let all: Leaderboard = get(&server, &b, "/api/v1/leaderboards?kind=supplier").await;
    assert_eq!(all.entries[0].display_name, "A Bouquet supplier");
    assert_eq!(all.you.unwrap().rank, 2);
    let bad = api().get(format!("{}/api/v1/leaderboards?kind=admin", server.url)).bearer_auth(&a.token).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_books_balance(&server.store).await;
}

async fn schedulers_running_together_move_each_reward_once(db: &TestDb) {
    // Thirty conversions at one instant are a script fraud rules rightly hold; this test is
    // about the schedulers, so scoring is off (tests/fraud_api.rs covers holds).
    let server = TestServer::start_with(db, |s| s.fraud.enabled = false).await;
    let flo = account(&server, "supplier", "flo@example.com", "Petal & Stem").await;
    let platform = Platform::new(&server).await;
    let c = code(&server, &flo, None).await;
    let now = Utc::now();
    for i in 0..30 {
        platform.convert(&server, &format!("s{i}"), &c, "starter", false, 2900, now - Duration::days(13)).await;
    }
    // Four schedulers (as on four server processes) wake at once, two days later, in
    // batches smaller than the work.
    let later = now + Duration::days(2);
    let runs: Vec<_> = (0..4).map(|_| {
        let store = server.store.clone();
        tokio::spawn(async move { process_due(&store, later, 7).await.unwrap() })
    }).collect();
    let mut moved = 0;
    for run in runs {
        moved += run.await.unwrap().0;
    }
    assert_eq!(moved, 30, "each reward made eligible exactly once");
    let all = rewards(&server, &flo).await;
    assert_eq!(all.iter().filter(|r| r.role == RewardRole::Referrer && r.status == RewardStatus::Eligible).count(), 30);
    // 3 × 15.00 (new referrer) + 27 × 10.00.
    assert_eq!(balance(&server, &flo).await, (0, 3 * 1500 + 27 * 1000, 0, 0));
    assert_books_balance(&server.store).await;
}

on_both_backends!(
    schedulers_running_together_move_each_reward_once,
    a_conversion_earns_the_seed_reward_and_the_referee_incentive,
    refunds_void_before_eligibility_and_claw_back_after,
    a_free_plan_waits_for_payment_and_unclaimed_rewards_expire,
    admins_adjust_with_a_reason_and_others_are_refused,
    leaderboards_rank_real_accounts_and_respect_opt_outs,
);
