//! Fraud detection over real HTTP on SQLite and PostgreSQL: each signal fires on its
//! pattern and not on the near miss, a ring's first members are caught once the ring
//! shows, a fair's couples on the venue's network are spared, held rewards are released
//! or voided through the ledger, the review queue and its decisions, and the supplier
//! seeing only where review stands.

mod common;
use bouquet_server::on_both_backends;

use bouquet_core::api::{BalanceView, FraudAssessmentPage, ReviewCase, ReviewPage, RewardView, RewardsPage, SessionView, TierView};
use bouquet_core::fraud::{FraudAction, FraudPolicy, Risk, Signal};
use bouquet_core::reward_status::RewardStatus;
use bouquet_core::rewards::RewardRole;
use bouquet_core::sync::CodeStatus;
use chrono::{DateTime, Duration, Timelike, Utc};
use common::people::{Platform, Via, account, code, push_fair_and_code, scan};
use common::{TestDb, TestServer, api, json_of};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

async fn get<T: serde::de::DeserializeOwned>(server: &TestServer, token: &str, path: &str) -> T {
    let resp = api().get(format!("{}{path}", server.url)).bearer_auth(token).send().await.unwrap();
    serde_json::from_value(json_of(resp, StatusCode::OK).await).unwrap()
}

async fn current(server: &TestServer, admin: &SessionView, user: &str) -> (Risk, FraudAction, Vec<Signal>) {
    let page: FraudAssessmentPage = get(server, &admin.token, &format!("/api/v1/admin/fraud/assessments?user_id={user}")).await;
    let now = &page.items[0];
    (now.risk, now.action, now.signals.iter().filter(|s| s.triggered).map(|s| s.signal).collect())
}

/// One signal is enough to hold for review: each near miss must then stay approved.
fn sensitive() -> FraudPolicy {
    FraudPolicy { medium_from: 0.1, ..FraudPolicy::default() }
}

fn t0() -> DateTime<Utc> {
    (Utc::now() - Duration::days(3)).with_nanosecond(0).unwrap()
}

/// Irregular gaps (no machine cadence), seconds: people arrive unevenly.
fn human_gap(i: i64) -> Duration {
    Duration::seconds(300 + (i * 7919) % 1700)
}

async fn each_signal_fires_on_its_pattern_and_not_on_the_near_miss(db: &TestDb) {
    let server = TestServer::start_with(db, |s| s.fraud = sensitive()).await;
    let platform = Platform::new(&server).await;
    let admin = account(&server, "admin", "ops@bouquet.example", "").await;
    let mut n = 0;
    let mut supplier = || {
        n += 1;
        let server = &server;
        async move {
            let s = account(server, "supplier", &format!("studio{n}@studio{n}.example"), &format!("Studio {n}")).await;
            code(server, &s).await
        }
    };

    // Velocity: 10 sign-ups in a day pass, the 11th is one too many.
    for (count, fires) in [(10, false), (11, true)] {
        let c = supplier().await;
        let mut at = t0();
        let mut last = String::new();
        for i in 0..count {
            last = format!("vel-{c}-{i}");
            platform.signup(&server, &last, &format!("{}@guest{i}.example", ["amelia", "noah", "isla", "leo", "freya", "arlo", "ivy", "theo", "rosie", "jude", "maya"][i as usize]), Via::Code(&c), &format!("198.51.100.{i}"), at).await;
            at += human_gap(i) * 2;
        }
        let (_, action, signals) = current(&server, &admin, &last).await;
        assert_eq!(signals.contains(&Signal::Velocity), fires, "{count} sign-ups: {signals:?}");
        assert_eq!(action == FraudAction::Review, fires);
    }

    // IP clustering: 4 referees from one network pass, the 5th makes a cluster.
    for (count, fires) in [(4, false), (5, true)] {
        let c = supplier().await;
        let mut at = t0();
        let mut last = String::new();
        for i in 0..count {
            last = format!("ip-{c}-{i}");
            let who = ["harriet", "oscar", "poppy", "felix", "edith"][i as usize];
            platform.signup(&server, &last, &format!("{who}.{}@mail{i}.example", i * 31), Via::Code(&c), "203.0.113.9", at).await;
            at += human_gap(i);
        }
        let (_, _, signals) = current(&server, &admin, &last).await;
        assert_eq!(signals.contains(&Signal::IpCluster), fires, "{count} on one IP: {signals:?}");
    }

    // Similarity: 0.8 similar is one identity, 0.79 is not.
    for (a, b, fires) in [("abcdefghij", "abcdefghxy", true), ("abcdefghijklmnopqrs", "abcdefghijklmnowxyz", false)] {
        let c = supplier().await;
        platform.signup(&server, &format!("sim-{c}-1"), &format!("{a}@mail.example"), Via::Code(&c), "198.51.100.70", t0()).await;
        platform.signup(&server, &format!("sim-{c}-2"), &format!("{b}@mail.example"), Via::Code(&c), "198.51.100.71", t0() + Duration::hours(2)).await;
        let (_, _, signals) = current(&server, &admin, &format!("sim-{c}-2")).await;
        assert_eq!(signals.contains(&Signal::Similarity), fires, "{a} / {b}: {signals:?}");
    }

    // Conversion speed: 4 min 59 s after the typed code's sign-up is too fast; 5 min 1 s is not.
    for (seconds, fires) in [(299, true), (301, false)] {
        let c = supplier().await;
        let user = format!("speed-{c}");
        platform.signup(&server, &user, "someone.unique@mail.example", Via::Code(&c), "198.51.100.80", t0()).await;
        let outcome = platform.convert(&server, &user, t0() + Duration::seconds(seconds)).await;
        let verdict = outcome.fraud.expect("a referred conversion is assessed");
        assert_eq!(verdict.action == FraudAction::Review, fires, "{seconds} s");
        let (_, _, signals) = current(&server, &admin, &user).await;
        assert_eq!(signals.contains(&Signal::ConversionSpeed), fires);
    }

    // Timing: six sign-ups a minute apart are a script; six people are not.
    for (scripted, fires) in [(true, true), (false, false)] {
        let c = supplier().await;
        let mut at = t0();
        for i in 0..6 {
            let who = ["ada", "bea", "cal", "dot", "eve", "fay"][i as usize];
            platform.signup(&server, &format!("tim-{c}-{i}"), &format!("{who}{}@m{i}.example", i * 13), Via::Code(&c), &format!("198.51.100.{}", 90 + i), at).await;
            at += if scripted { Duration::seconds(60) } else { human_gap(i) };
        }
        let (_, _, signals) = current(&server, &admin, &format!("tim-{c}-5")).await;
        assert_eq!(signals.contains(&Signal::Timing), fires, "scripted {scripted}: {signals:?}");
    }

    // Hard rules: a disposable domain and the referrer's own business domain are rejected.
    let s = account(&server, "supplier", "hello@bloomandstem.example", "Bloom & Stem").await;
    let c = code(&server, &s).await;
    let out = platform.signup(&server, "throwaway", "x7@mailinator.com", Via::Code(&c), "198.51.100.120", t0()).await;
    assert_eq!(out.fraud.map(|v| (v.risk, v.action)), Some((Risk::High, FraudAction::Reject)));
    let out = platform.signup(&server, "self", "orders@bloomandstem.example", Via::Code(&c), "198.51.100.121", t0()).await;
    assert_eq!(out.fraud.map(|v| v.action), Some(FraudAction::Reject));
    let (_, _, signals) = current(&server, &admin, "self").await;
    assert_eq!(signals, vec![Signal::SelfReferral]);
    // An organic user is not assessed at all.
    let out = platform.event(&server, json!({"idempotency_key": "organic", "type": "signup", "occurred_at": t0(), "user": {"id": "organic", "kind": "couple"}})).await;
    assert_eq!(out.fraud, None);
    // A raw IP is never kept: not in the event's stored payload, only its keyed hash.
    let bad = api()
        .post(format!("{}/api/v1/events", server.url))
        .bearer_auth(&platform.key)
        .json(&json!({"idempotency_key": "bad-ip", "type": "signup", "occurred_at": t0(), "user": {"id": "x", "kind": "couple", "ip": "not-an-ip"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(bad, StatusCode::UNPROCESSABLE_ENTITY).await["message"], "user.ip is not an IP address");
}

async fn a_rings_first_members_are_caught_once_the_ring_shows(db: &TestDb) {
    let server = TestServer::start(db).await;
    let platform = Platform::new(&server).await;
    let admin = account(&server, "admin", "ops@bouquet.example", "").await;
    let flo = account(&server, "supplier", "flo@petalandstem.example", "Petal & Stem").await;
    let c = code(&server, &flo).await;
    // Look-alike Gmail addresses (dots and +tags), signed up by a script every 60 s.
    let emails = ["anna.test1@gmail.com", "annatest2+x@gmail.com", "anna.test3@googlemail.com", "a.nna.test4@gmail.com", "annatest5@gmail.com", "anna.test6+ring@gmail.com"];
    let mut outcomes = Vec::new();
    let start = t0();
    for (i, email) in emails.iter().enumerate() {
        outcomes.push(platform.signup(&server, &format!("ring{i}"), email, Via::Code(&c), &format!("198.51.100.{i}"), start + Duration::seconds(60 * i as i64)).await);
    }
    // Alone, the first looked honest; the fifth is only similar (0.25: low).
    assert_eq!(outcomes[0].fraud.unwrap().action, FraudAction::Approve);
    assert_eq!(outcomes[4].fraud.unwrap().action, FraudAction::Approve);
    // The sixth completes the cadence: look-alikes (0.25) + timing (0.15) = 0.40, review.
    assert_eq!(outcomes[5].fraud.unwrap().action, FraudAction::Review);
    // …and the first is assessed again: newest first, the reassessment holds it too.
    let page: FraudAssessmentPage = get(&server, &admin.token, "/api/v1/admin/fraud/assessments?user_id=ring0").await;
    assert_eq!(page.items.len(), 2);
    assert_eq!((page.items[0].cause.as_str(), page.items[0].action), ("reassessment", FraudAction::Review));
    assert_eq!((page.items[1].cause.as_str(), page.items[1].action), ("signup", FraudAction::Approve));
    assert!((page.items[0].score - 0.4).abs() < 1e-9);
    let timing = page.items[0].signals.iter().find(|s| s.signal == Signal::Timing).unwrap();
    assert!(timing.triggered && timing.value == Some(0.0), "{timing:?}");
    assert!(timing.sentence.contains("60 s apart"), "{}", timing.sentence);
    for i in 0..6 {
        assert_eq!(current(&server, &admin, &format!("ring{i}")).await.1, FraudAction::Review, "ring{i}");
    }
    let queue: ReviewPage = get(&server, &admin.token, "/api/v1/admin/fraud/reviews?status=pending").await;
    assert_eq!(queue.items.len(), 6);
    // The case shows the evidence: the other referees with their emails as compared.
    let case: ReviewCase = get(&server, &admin.token, &format!("/api/v1/admin/fraud/reviews/{}", queue.items[0].id)).await;
    let evidence = case.evidence.expect("the case's evidence");
    assert_eq!(evidence.referees.len(), 6);
    assert!(evidence.referees.iter().any(|r| r.email.as_deref() == Some("annatest2@gmail.com")));
    // The supplier sees where review stands, not why.
    let codes: Vec<CodeStatus> = get(&server, &flo.token, "/api/v1/sync/codes").await;
    assert_eq!(codes.iter().find(|s| s.code == c).unwrap().fraud_status, "under_review");
    let raw = api().get(format!("{}/api/v1/sync/codes", server.url)).bearer_auth(&flo.token).send().await.unwrap().text().await.unwrap();
    assert!(!raw.contains("anna") && !raw.contains("timing"), "{raw}");
}

async fn rewards(server: &TestServer, s: &SessionView) -> Vec<RewardView> {
    get::<RewardsPage>(server, &s.token, "/api/v1/me/rewards?limit=200").await.items
}

async fn balance(server: &TestServer, s: &SessionView) -> (i64, i64, i64) {
    let b: BalanceView = get(server, &s.token, "/api/v1/me/balance").await;
    (b.pending.amount_minor, b.available.amount_minor, b.held.amount_minor)
}

async fn decide(server: &TestServer, admin: &SessionView, case: Uuid, decision: &str, note: &str) -> reqwest::Response {
    api()
        .post(format!("{}/api/v1/admin/fraud/reviews/{case}/decision", server.url))
        .bearer_auth(&admin.token)
        .json(&json!({"decision": decision, "note": note}))
        .send()
        .await
        .unwrap()
}

async fn held_rewards_are_released_or_voided_through_the_ledger(db: &TestDb) {
    let server = TestServer::start_with(db, |s| s.fraud = sensitive()).await;
    let platform = Platform::new(&server).await;
    let admin = account(&server, "admin", "ops@bouquet.example", "").await;
    let flo = account(&server, "supplier", "flo@petalandstem.example", "Petal & Stem").await;
    let c = code(&server, &flo).await;
    let now = Utc::now();
    // Three instant conversions (held for review under the sensitive policy): one recent,
    // one whose holding period has passed, one that will be rejected.
    for (user, at) in [("recent", now - Duration::minutes(10)), ("old", now - Duration::days(20)), ("fake", now - Duration::minutes(5))] {
        platform.signup(&server, user, &format!("{user}.couple@mail.example"), Via::Code(&c), "198.51.100.7", at - Duration::seconds(30)).await;
        let out = platform.convert(&server, user, at).await;
        assert_eq!(out.fraud.unwrap().action, FraudAction::Review);
        assert!(out.rewards.iter().all(|r| r.status == RewardStatus::Held), "{:?}", out.rewards);
        assert!(out.rewards.iter().any(|r| r.role == RewardRole::Referee));
        assert!(!out.rewards.iter().any(|r| r.role == RewardRole::Tier), "a held conversion reaches no tier");
    }
    // Each 25.00 × 2 (annual) × 1.5 (new referrer: held conversions do not count), all
    // held; none counts toward a tier.
    assert_eq!(balance(&server, &flo).await, (0, 0, 7500 * 3));
    let tier: TierView = get(&server, &flo.token, "/api/v1/me/tier").await;
    assert_eq!(tier.successful_referrals, 0);
    let queue: ReviewPage = get(&server, &admin.token, "/api/v1/admin/fraud/reviews").await;
    let case_of = |user: &str| queue.items.iter().find(|c| c.platform_user_id == user).unwrap().id;

    // Approve the recent one: pending again, with its original dates; it counts (bronze).
    let resp = decide(&server, &admin, case_of("recent"), "approve", "known couple, booked in person").await;
    let decided: ReviewCase = serde_json::from_value(json_of(resp, StatusCode::OK).await).unwrap();
    assert_eq!((decided.status.as_str(), decided.decided_by, decided.note.as_deref()), ("approved", Some(admin.account.id), Some("known couple, booked in person")));
    let mine = rewards(&server, &flo).await;
    let recent = mine.iter().find(|r| r.role == RewardRole::Referrer && r.status == RewardStatus::Pending).expect("released to pending");
    assert_eq!(recent.eligible_at.unwrap().timestamp(), (now - Duration::minutes(10) + Duration::days(14)).timestamp());
    assert!(mine.iter().any(|r| r.role == RewardRole::Tier), "the released success reaches bronze");
    // Approve the old one: its holding period has passed, so it is eligible at once.
    json_of(decide(&server, &admin, case_of("old"), "approve", "").await, StatusCode::OK).await;
    // Reject the fake: voided, its referee's incentive too.
    json_of(decide(&server, &admin, case_of("fake"), "reject", "ring").await, StatusCode::OK).await;
    let (pending, available, held) = balance(&server, &flo).await;
    assert_eq!((pending, available, held), (7500, 7500, 0), "the old conversion's reward is eligible at once");
    let referee: bouquet_core::api::PlatformUserRewards = get(&server, &platform.key, "/api/v1/platform/users/fake/rewards").await;
    assert!(referee.items.iter().all(|r| r.status == RewardStatus::Voided), "{:?}", referee.items);
    let tier: TierView = get(&server, &flo.token, "/api/v1/me/tier").await;
    assert_eq!(tier.successful_referrals, 2);
    // Decided once: a second decision is refused, and the queue is empty.
    assert_eq!(decide(&server, &admin, case_of("fake"), "approve", "").await.status(), StatusCode::CONFLICT);
    let bad = decide(&server, &admin, case_of("old"), "maybe", "").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let pending_now: ReviewPage = get(&server, &admin.token, "/api/v1/admin/fraud/reviews?status=pending").await;
    assert!(pending_now.items.is_empty());
    let decided_now: ReviewPage = get(&server, &admin.token, "/api/v1/admin/fraud/reviews?status=decided").await;
    assert_eq!(decided_now.items.len(), 3);
    let audit = server.store.audit_ledger().await.unwrap();
    assert!(audit.is_clean(), "{audit:?}");
    // The supplier's codes: the rejected one shows as rejected.
    let codes: Vec<CodeStatus> = get(&server, &flo.token, "/api/v1/sync/codes").await;
    assert_eq!(codes.iter().find(|s| s.code == c).unwrap().fraud_status, "rejected");
}

async fn only_operators_reach_the_fraud_api(db: &TestDb) {
    let server = TestServer::start(db).await;
    let flo = account(&server, "supplier", "flo@petalandstem.example", "Petal & Stem").await;
    let case = Uuid::now_v7();
    let paths = [
        ("GET", "/api/v1/admin/fraud/reviews".to_string()),
        ("GET", "/api/v1/admin/fraud/reviews?status=decided".to_string()),
        ("GET", format!("/api/v1/admin/fraud/reviews/{case}")),
        ("POST", format!("/api/v1/admin/fraud/reviews/{case}/decision")),
        ("GET", "/api/v1/admin/fraud/assessments?user_id=u1".to_string()),
    ];
    for (method, path) in &paths {
        let url = format!("{}{path}", server.url);
        let request = |token: Option<&str>| {
            let r = if *method == "GET" { api().get(&url) } else { api().post(&url).json(&json!({"decision": "approve"})) };
            match token {
                Some(t) => r.bearer_auth(t),
                None => r,
            }
        };
        assert_eq!(request(Some(&flo.token)).send().await.unwrap().status(), StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(request(None).send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    let admin = account(&server, "admin", "ops@bouquet.example", "").await;
    let missing = api().get(format!("{}/api/v1/admin/fraud/reviews/{case}", server.url)).bearer_auth(&admin.token).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let bad = api().get(format!("{}/api/v1/admin/fraud/reviews?status=maybe", server.url)).bearer_auth(&admin.token).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

async fn a_fairs_couples_on_the_venue_network_are_not_held(db: &TestDb) {
    let server = TestServer::start_with(db, |s| s.trust_forwarded_for = true).await;
    let platform = Platform::new(&server).await;
    let admin = account(&server, "admin", "ops@bouquet.example", "").await;
    let today = Utc::now().date_naive().to_string();
    // The supplier's own device syncs from the venue too.
    let flo = account(&server, "supplier", "flo@petalandstem.example", "Petal & Stem").await;
    let _ = api().get(format!("{}/api/v1/me/stats", server.url)).bearer_auth(&flo.token).header("x-forwarded-for", "192.0.2.44").send().await.unwrap();
    let fair_code = push_fair_and_code(&server, &flo, &today).await;
    // The same crowd on a code tied to no fair, for contrast.
    let other = account(&server, "supplier", "sam@samsphotos.example", "Sam's Photos").await;
    let plain_code = code(&server, &other).await;
    let surnames = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright"];
    let firsts = ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia", "Grace", "Freya", "Willow", "Evie", "Florence", "Emily", "Ella", "Poppy", "Sienna", "Elsie"];
    for (label, code) in [("fair", fair_code.as_str()), ("plain", plain_code.as_str())] {
        for i in 0..40u32 {
            let touch = scan(&server, code, "192.0.2.44", i % 7).await;
            let user = format!("{label}-{i}");
            // Couples share popular first names and surnames.
            let email = format!("{}.{}{}@gmail.com", firsts[i as usize % 20].to_lowercase(), surnames[(i as usize / 4) % 10].to_lowercase(), 1980 + i);
            let at = Utc::now() - Duration::minutes(40) + Duration::seconds(i64::from(i) * 45 + i64::from(i * i * 37 % 41));
            platform.signup(&server, &user, &email, Via::Touch(&touch), "192.0.2.44", at).await;
        }
    }
    for i in 0..40 {
        let (_, action, signals) = current(&server, &admin, &format!("fair-{i}")).await;
        assert_eq!(action, FraudAction::Approve, "fair couple {i}: {signals:?}");
    }
    // Without the fair, 40 sign-ups in 40 minutes from one network are a pattern.
    let (risk, action, signals) = current(&server, &admin, "plain-39").await;
    assert!(signals.contains(&Signal::Velocity) && signals.contains(&Signal::IpCluster), "{signals:?}");
    assert_eq!((risk, action), (Risk::Medium, FraudAction::Review));
}

on_both_backends!(
    each_signal_fires_on_its_pattern_and_not_on_the_near_miss,
    a_rings_first_members_are_caught_once_the_ring_shows,
    held_rewards_are_released_or_voided_through_the_ledger,
    only_operators_reach_the_fraud_api,
    a_fairs_couples_on_the_venue_network_are_not_held,
);
