//! One conformance suite for the storage trait, run on SQLite and on PostgreSQL.

mod common;
use bouquet_server::on_both_backends;

use std::collections::HashSet;
use std::sync::Arc;

use bouquet_core::attribution::{Channel, Credit};
use bouquet_core::recommend::{RecommendationAction, SupplierReputation};
use bouquet_core::{AccountKind, AttributionModel, CodeNamespace, Money, ReferralCode};
use bouquet_server::store::{AssessmentRow, EventClaim, FraudSubjectRow, NewAccount, NewConversion, NewReferral, NewVisit, ReviewRow, Stage, Store, StoreError};
use chrono::{Duration, Utc};
use common::TestDb;
use uuid::Uuid;

async fn account(store: &Arc<dyn Store>, email: &str, kind: AccountKind) -> Uuid {
    let id = Uuid::now_v7();
    store
        .create_account(NewAccount {
            id,
            kind,
            email: email.into(),
            password_hash: "x".into(),
            business_name: Some(format!("{email} Ltd")),
            vendor_type: Some("photographer".into()),
            couple_names: None,
            wedding_date: None,
            location: None,
            locale: None,
            created_at: Utc::now(),
        })
        .await
        .unwrap();
    id
}

fn new_referral(referrer: Uuid, ns: &CodeNamespace, created_at: chrono::DateTime<Utc>) -> NewReferral {
    NewReferral {
        seasonal_campaigns: Vec::new(),
        id: Uuid::now_v7(),
        code: ReferralCode::generate(AccountKind::Supplier, ns, 0).to_string(),
        referrer_id: referrer,
        referrer_type: AccountKind::Supplier,
        referee_type: AccountKind::Couple,
        method: "qr".into(),
        campaign_id: None,
        source_url: None,
        utm_source: Some("fair".into()),
        utm_medium: None,
        utm_campaign: None,
        vendor_type: Some("photographer".into()),
        wedding_date: None,
        location: None,
        message: Some("Hello".into()),
        incentive_offered: None,
        incentive_amount: Some(Money { amount_minor: 1000, currency: "GBP".into() }),
        created_at,
        expires_at: Some(created_at + Duration::days(30)),
    }
}

fn visit(referral: Uuid, referrer: Uuid, visitor: &str, at: chrono::DateTime<Utc>, channel: Channel) -> NewVisit {
    NewVisit {
        touch_id: Uuid::now_v7(),
        referral_id: referral,
        referrer_id: referrer,
        channel,
        occurred_at: at,
        visitor_key: visitor.into(),
        ip_hash: Some("abc".into()),
        user_agent: Some("phone".into()),
        referer: None,
        utm_source: None,
        utm_medium: None,
        utm_campaign: None,
    }
}

async fn accounts_devices_and_namespaces(db: &TestDb) {
    let store = db.open().await;
    let a = account(&store, "a@example.com", AccountKind::Supplier).await;
    let b = account(&store, "b@example.com", AccountKind::Supplier).await;
    let dup = store
        .create_account(NewAccount {
            id: Uuid::now_v7(),
            kind: AccountKind::Couple,
            email: "a@example.com".into(),
            password_hash: "x".into(),
            business_name: None,
            vendor_type: None,
            couple_names: Some("A & B".into()),
            wedding_date: None,
            location: None,
            locale: None,
            created_at: Utc::now(),
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    let (found, hash) = store.account_by_email("a@example.com").await.unwrap().unwrap();
    assert_eq!((found.id, hash.as_str()), (a, "x"));
    assert!(store.account_by_email("nobody@example.com").await.unwrap().is_none());

    let mut namespaces = HashSet::new();
    for i in 0..40 {
        let (device, ns) = store.create_device(a, Some("laptop"), &format!("token-{i}")).await.unwrap();
        assert!(namespaces.insert(ns.clone()), "namespace {ns:?} issued twice");
        let caller = store.caller_by_token(&format!("token-{i}")).await.unwrap().unwrap();
        assert_eq!((caller.account.id, caller.device_id), (a, device));
        assert!(store.namespace_belongs_to(ns.as_str(), a).await.unwrap());
        assert!(!store.namespace_belongs_to(ns.as_str(), b).await.unwrap());
    }
    assert!(store.caller_by_token("token-unknown").await.unwrap().is_none());
    let server_ns = store.server_namespace(a).await.unwrap();
    assert_eq!(store.server_namespace(a).await.unwrap(), server_ns, "allocated once");
    assert!(!namespaces.contains(&server_ns));

    assert_eq!(store.shared_secret("salt", "first").await.unwrap(), "first");
    assert_eq!(store.shared_secret("salt", "second").await.unwrap(), "first");
    store.create_api_key("wedsync", "hash1").await.unwrap();
    assert!(matches!(store.create_api_key("wedsync", "hash2").await, Err(StoreError::Conflict(_))));
    assert!(store.api_key_exists("hash1").await.unwrap());
    assert!(!store.api_key_exists("hash2").await.unwrap());
}

async fn referrals_are_unique_and_paged_newest_first(db: &TestDb) {
    let store = db.open().await;
    let a = account(&store, "a@example.com", AccountKind::Supplier).await;
    let b = account(&store, "b@example.com", AccountKind::Supplier).await;
    let ns = store.server_namespace(a).await.unwrap();
    let start = Utc::now() - Duration::days(1);
    let mut made = Vec::new();
    let mut codes = Vec::new();
    for i in 0..7 {
        let r = store.create_referral(new_referral(a, &ns, start + Duration::minutes(i))).await.unwrap();
        assert_eq!(r.referrer_name, "a@example.com Ltd");
        made.push(r.view.id);
        codes.push(r.view.code.to_string());
    }
    store.create_referral(new_referral(b, &store.server_namespace(b).await.unwrap(), start)).await.unwrap();
    let taken = store.referral_by_code(&codes[0]).await.unwrap().unwrap();
    assert_eq!(taken.view.id, made[0]);
    let mut again = new_referral(a, &ns, start);
    again.code = taken.view.code.to_string();
    assert!(matches!(store.create_referral(again).await, Err(StoreError::Conflict(_))));
    assert_eq!(taken.view.incentive_amount, Some(Money { amount_minor: 1000, currency: "GBP".into() }));
    assert_eq!(taken.view.utm_source.as_deref(), Some("fair"));

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_referrals(a, after, 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|r| (r.view.created_at, r.view.id));
        seen.extend(page.into_iter().map(|r| r.view.id));
    }
    made.reverse();
    assert_eq!(seen, made, "every referral once, newest first, none of B's");
    let stats = store.stats(a, Utc::now()).await.unwrap();
    assert_eq!((stats.total_referrals, stats.active_referrals), (7, 7));
    let later = store.stats(a, Utc::now() + Duration::days(40)).await.unwrap();
    assert_eq!(later.active_referrals, 0, "expired codes are not active");
}

async fn visits_count_once_per_visitor_per_hour(db: &TestDb) {
    let store = db.open().await;
    let a = account(&store, "a@example.com", AccountKind::Supplier).await;
    let ns = store.server_namespace(a).await.unwrap();
    let r = store.create_referral(new_referral(a, &ns, Utc::now())).await.unwrap().view;
    let t0 = Utc::now();
    let window = Duration::hours(1);
    assert!(store.record_visit(visit(r.id, a, "v1", t0, Channel::Qr), window).await.unwrap());
    assert!(!store.record_visit(visit(r.id, a, "v1", t0 + Duration::minutes(59), Channel::Qr), window).await.unwrap());
    assert!(store.record_visit(visit(r.id, a, "v2", t0 + Duration::minutes(1), Channel::Link), window).await.unwrap());
    assert!(store.record_visit(visit(r.id, a, "v1", t0 + Duration::minutes(121), Channel::Qr), window).await.unwrap());
    let after = store.referral_by_code(r.code.as_str()).await.unwrap().unwrap().view;
    assert_eq!((after.unique_visits, after.qr_scans), (3, 2));
    assert_eq!(after.clicked_at.map(|t| t.timestamp_micros()), Some(t0.timestamp_micros()));
}

/// A fair's burst: hundreds of phones at once on two codes, some visitors twice, and one
/// visit to a referral that does not exist among them. Every visit answered is recorded,
/// each visitor counts once per code, and the bad visit fails alone.
async fn a_burst_of_visits_counts_each_visitor_once(db: &TestDb) {
    let store = db.open().await;
    let a = account(&store, "a@example.com", AccountKind::Supplier).await;
    let ns = store.server_namespace(a).await.unwrap();
    let codes = [
        store.create_referral(new_referral(a, &ns, Utc::now())).await.unwrap().view,
        store.create_referral(new_referral(a, &ns, Utc::now())).await.unwrap().view,
    ];
    let t0 = Utc::now();
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..400 {
        // 120 visitors, each on both codes, some of them more than once.
        let (store, referral) = (store.clone(), codes[(n / 120) % 2].id);
        let v = visit(referral, a, &format!("phone-{}", n % 120), t0 + Duration::milliseconds(n as i64), Channel::Qr);
        burst.spawn(async move { (v.touch_id, store.record_visit(v, Duration::hours(1)).await) });
    }
    let stray = visit(Uuid::now_v7(), a, "phone-stray", t0, Channel::Link);
    let stray_id = stray.touch_id;
    let stray_store = store.clone();
    burst.spawn(async move { (stray_id, stray_store.record_visit(stray, Duration::hours(1)).await) });
    let mut unique = 0;
    while let Some(joined) = burst.join_next().await {
        let (touch, result) = joined.unwrap();
        if touch == stray_id {
            assert!(result.is_err(), "a visit to no referral is refused");
            assert!(store.touch(touch).await.unwrap().is_none());
            continue;
        }
        unique += usize::from(result.expect("every other visit is recorded"));
        assert!(store.touch(touch).await.unwrap().is_some(), "an answered visit is in the database");
    }
    assert_eq!(unique, 240, "each of 120 visitors counts once on each of the two codes");
    for code in &codes {
        let after = store.referral_by_code(code.code.as_str()).await.unwrap().unwrap().view;
        assert_eq!((after.unique_visits, after.qr_scans), (120, 120));
    }
}

fn conversion(event_id: Uuid, user: &str, touch: Uuid, referral: Uuid, referrer: Uuid, value: i64) -> NewConversion {
    NewConversion {
        id: Uuid::now_v7(),
        event_id,
        platform_user_id: user.into(),
        model: AttributionModel::LastTouch,
        converted_at: Utc::now(),
        time_to_convert_seconds: 3600,
        plan: Some("pro".into()),
        value: Some(Money { amount_minor: value, currency: "GBP".into() }),
        annual: false,
        mrr: None,
        credits: vec![Credit {
            touch_id: touch,
            referral_id: referral,
            referrer_id: referrer,
            channel: Channel::Qr,
            touched_at: Utc::now() - Duration::hours(1),
            weight_ppm: 1_000_000,
            value_minor: value,
        }],
        primary: 0,
    }
}

async fn events_claim_once_and_conversions_count_once(db: &TestDb) {
    let store = db.open().await;
    let a = account(&store, "a@example.com", AccountKind::Supplier).await;
    let ns = store.server_namespace(a).await.unwrap();
    let r = store.create_referral(new_referral(a, &ns, Utc::now() - Duration::hours(2))).await.unwrap().view;
    let v = visit(r.id, a, "v1", Utc::now() - Duration::hours(1), Channel::Qr);
    let touch = v.touch_id;
    store.record_visit(v, Duration::hours(1)).await.unwrap();

    // A transaction dropped without finishing leaves nothing behind, not even its claim.
    {
        let mut tx = store.begin_event().await.unwrap();
        let (claim, _) = tx.claim(Uuid::now_v7(), "k1", "convert", Utc::now(), "u1", "{}").await.unwrap();
        assert_eq!(claim, EventClaim::New);
        tx.upsert_user("u1", AccountKind::Couple, Some("u1@example.com")).await.unwrap();
        assert_eq!(tx.link_touch(touch, "u1").await.unwrap(), 1);
    }
    let event_id = Uuid::now_v7();
    let mut tx = store.begin_event().await.unwrap();
    assert_eq!(tx.claim(event_id, "k1", "convert", Utc::now(), "u1", "{}").await.unwrap().0, EventClaim::New);
    tx.upsert_user("u1", AccountKind::Couple, None).await.unwrap();
    assert_eq!(tx.link_touch(touch, "u1").await.unwrap(), 1, "the rolled-back link is gone");
    tx.stamp_stage("u1", Stage::SignedUp, Utc::now()).await.unwrap();
    let touches = tx.touches_of("u1").await.unwrap();
    assert_eq!(touches.len(), 1);
    assert_eq!((touches[0].id, touches[0].channel), (touch, Channel::Qr));
    assert!(tx.record_conversion(&conversion(event_id, "u1", touch, r.id, a, 4900)).await.unwrap());
    tx.finish(event_id, "{\"outcome\":1}").await.unwrap();

    let mut tx = store.begin_event().await.unwrap();
    let (claim, outcome) = tx.claim(Uuid::now_v7(), "k1", "convert", Utc::now(), "u1", "{}").await.unwrap();
    assert_eq!((claim, outcome.as_deref()), (EventClaim::Replay, Some("{\"outcome\":1}")));
    drop(tx);

    let second = Uuid::now_v7();
    let mut tx = store.begin_event().await.unwrap();
    tx.claim(second, "k2", "convert", Utc::now(), "u1", "{}").await.unwrap();
    assert!(!tx.record_conversion(&conversion(second, "u1", touch, r.id, a, 9999)).await.unwrap(), "a user converts once");
    let existing = tx.conversion_of("u1").await.unwrap().unwrap();
    assert_eq!(existing.value, Some(Money { amount_minor: 4900, currency: "GBP".into() }));
    assert_eq!(existing.credits.len(), 1);
    tx.finish(second, "{}").await.unwrap();

    let stats = store.stats(a, Utc::now()).await.unwrap();
    assert_eq!(stats.successful_referrals, 1);
    assert_eq!(stats.signups, 1);
    assert_eq!(stats.value_generated, vec![Money { amount_minor: 4900, currency: "GBP".into() }]);
    assert_eq!(stats.total_time_to_convert_seconds, 3600);
    let converted = store.referral_by_code(r.code.as_str()).await.unwrap().unwrap().view;
    assert!(converted.converted_at.is_some() && converted.signed_up_at.is_some());
    assert_eq!(converted.conversion_plan.as_deref(), Some("pro"));
}

async fn concurrent_claims_of_one_key_apply_once(db: &TestDb) {
    let store = db.open().await;
    let mut handles = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut tx = store.begin_event().await.unwrap();
            let id = Uuid::now_v7();
            let (claim, _) = tx.claim(id, "same-key", "signup", Utc::now(), "u9", "{}").await.unwrap();
            if claim == EventClaim::New {
                tx.upsert_user("u9", AccountKind::Couple, None).await.unwrap();
                tx.finish(id, "{}").await.unwrap();
            }
            claim
        }));
    }
    let mut news = 0;
    for h in handles {
        if h.await.unwrap() == EventClaim::New {
            news += 1;
        }
    }
    assert_eq!(news, 1);
}

fn subject(user: &str, referrer: Uuid, at: chrono::DateTime<Utc>, marks: &[&str]) -> FraudSubjectRow {
    FraudSubjectRow {
        platform_user_id: user.into(),
        referrer_id: referrer,
        referral_id: None,
        email_key: Some(format!("{user}@mail.example")),
        name_key: None,
        signed_up_at: at,
        first_touch_at: Some(at),
        converted_at: None,
        fair_traffic: false,
        score_bp: 0,
        fired: Vec::new(),
        risk: "low".into(),
        action: "approve".into(),
        decided: false,
        assessed_at: at,
        marks: marks.iter().map(|m| m.to_string()).collect(),
    }
}

async fn fraud_subjects_neighbourhoods_and_the_review_queue(db: &TestDb) {
    let store = db.open().await;
    let flo = account(&store, "flo@example.com", AccountKind::Supplier).await;
    let sam = account(&store, "sam@example.com", AccountKind::Supplier).await;
    let admin = account(&store, "ops@example.com", AccountKind::Admin).await;
    let t = Utc::now() - Duration::days(2);
    let mut tx = store.begin_rewards().await.unwrap();
    for (i, user) in ["a", "b", "c"].iter().enumerate() {
        let row = subject(user, flo, t + Duration::hours(i as i64 * 10), &["ip:shared", &format!("cookie:{user}")]);
        tx.save_fraud_subject(&row).await.unwrap();
        tx.add_fraud_marks(user, &row.marks).await.unwrap();
    }
    tx.save_fraud_subject(&subject("other", sam, t, &[])).await.unwrap();
    // Marks are kept once; an unknown kind is ignored.
    tx.add_fraud_marks("a", &["ip:shared".into(), "mac:ab".into(), "ip:".into()]).await.unwrap();
    // A subject saved again keeps its marks and takes the new facts.
    let mut b = subject("b", flo, t + Duration::hours(10), &[]);
    b.action = "review".into();
    b.score_bp = 4000;
    tx.save_fraud_subject(&b).await.unwrap();
    let found = tx.fraud_subject("b").await.unwrap().unwrap();
    assert_eq!((found.action.as_str(), found.score_bp, found.marks.len()), ("review", 4000, 2));
    // The neighbourhood: this referrer's referees in the window, with their marks.
    let around = tx.fraud_neighbours(flo, t, t + Duration::hours(10)).await.unwrap();
    let mut users: Vec<&str> = around.iter().map(|s| s.platform_user_id.as_str()).collect();
    users.sort();
    assert_eq!(users, ["a", "b"]);
    assert_eq!(around.iter().find(|s| s.platform_user_id == "a").unwrap().marks.len(), 2);
    assert_eq!(tx.referred_signups(flo, t, t + Duration::hours(20)).await.unwrap(), 2, "the end is exclusive");
    let (email, kind, _, own) = tx.referrer_identity(flo, t).await.unwrap().unwrap();
    assert_eq!((email.as_str(), kind.as_str(), own.len()), ("flo@example.com", "supplier", 0));
    // Every assessment is kept; a case opens pending, follows newer assessments while
    // pending, and is decided once.
    let assess = |id: Uuid, action: &str, minutes: i64| AssessmentRow {
        id,
        platform_user_id: "b".into(),
        referrer_id: flo,
        cause: "signup".into(),
        score_bp: 4000,
        risk: "medium".into(),
        action: action.into(),
        signals: "[]".into(),
        policy_version: "p-test".into(),
        assessed_at: t + Duration::minutes(minutes),
    };
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    tx.insert_assessment(&assess(first, "review", 0)).await.unwrap();
    tx.insert_assessment(&assess(second, "hold", 5)).await.unwrap();
    let case = ReviewRow {
        id: Uuid::now_v7(),
        platform_user_id: "b".into(),
        referrer_id: flo,
        assessment_id: first,
        status: "pending".into(),
        opened_at: t,
        decided_at: None,
        decided_by: None,
        note: None,
    };
    tx.upsert_review(&case).await.unwrap();
    tx.upsert_review(&ReviewRow { id: Uuid::now_v7(), assessment_id: second, ..case.clone() }).await.unwrap();
    tx.commit().await.unwrap();
    let pending = store.fraud_reviews(true, None, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].0.id, pending[0].0.assessment_id, pending[0].1.action.as_str()), (case.id, second, "hold"));
    assert_eq!(store.fraud_assessments_of("b", 10).await.unwrap().iter().map(|a| a.id).collect::<Vec<_>>(), [second, first]);
    let mut tx = store.begin_rewards().await.unwrap();
    assert_eq!(tx.review_for_update(case.id).await.unwrap().unwrap().status, "pending");
    assert!(tx.decide_review(case.id, "approved", admin, Some("known couple"), Utc::now()).await.unwrap());
    assert!(!tx.decide_review(case.id, "rejected", admin, None, Utc::now()).await.unwrap(), "decided once");
    // A decided case is not reopened by a later assessment.
    tx.upsert_review(&ReviewRow { id: Uuid::now_v7(), status: "pending".into(), ..case.clone() }).await.unwrap();
    tx.commit().await.unwrap();
    let decided = store.fraud_review(case.id).await.unwrap().unwrap();
    assert_eq!((decided.status.as_str(), decided.decided_by, decided.note.as_deref()), ("approved", Some(admin), Some("known couple")));
    assert!(store.fraud_reviews(true, None, 10).await.unwrap().is_empty());
    assert_eq!(store.fraud_reviews(false, None, 10).await.unwrap().len(), 1);
    // Paging by cursor: newest first, strictly after the cursor.
    assert!(store.fraud_reviews(false, Some((decided.opened_at, decided.id)), 10).await.unwrap().is_empty());
    // The referrer's own network, refreshed rather than duplicated.
    store.record_account_mark(flo, "ip:home", Utc::now()).await.unwrap();
    store.record_account_mark(flo, "ip:home", Utc::now()).await.unwrap();
    store.record_account_mark(flo, "nonsense", Utc::now()).await.unwrap();
    let mut tx = store.begin_rewards().await.unwrap();
    assert_eq!(tx.referrer_identity(flo, Utc::now() - Duration::days(30)).await.unwrap().unwrap().3, vec!["ip:home".to_string()]);
    // A network last seen before `since` is no longer the account's own.
    assert!(tx.referrer_identity(flo, Utc::now() + Duration::minutes(1)).await.unwrap().unwrap().3.is_empty());
}

async fn suppliers_for_recommendations_reputation_and_acts(db: &TestDb) {
    let store = db.open().await;
    let now = Utc::now();
    let seen = account(&store, "seen@studio.example", AccountKind::Supplier).await;
    let unseen = account(&store, "unseen@studio.example", AccountKind::Supplier).await;
    let couple = account(&store, "amy@example.com", AccountKind::Couple).await;
    store.note_seen(seen, now - Duration::days(3)).await.unwrap();
    store.note_seen(unseen, now - Duration::days(120)).await.unwrap();

    // Reputation is stored exactly and only for suppliers; a second report replaces it.
    let rep = |rate: f64, rating: f64, reviews: i64| SupplierReputation { response_rate: Some(rate), avg_rating: Some(rating), review_count: reviews, couples_served: 7 };
    assert!(store.set_reputation(seen, &rep(0.5, 3.0, 1), now).await.unwrap());
    assert!(store.set_reputation(seen, &rep(0.8125, 4.37, 12), now).await.unwrap());
    assert!(!store.set_reputation(couple, &rep(0.5, 3.0, 1), now).await.unwrap());
    assert!(!store.set_reputation(Uuid::now_v7(), &rep(0.5, 3.0, 1), now).await.unwrap());

    // Only the trade asked for, and only suppliers seen since the cut-off.
    let facts = store.supplier_facts("photographer", now - Duration::days(90)).await.unwrap();
    assert_eq!(facts.iter().map(|f| f.account_id).collect::<Vec<_>>(), [seen]);
    let f = &facts[0];
    assert_eq!((f.response_rate, f.avg_rating, f.review_count, f.couples_served), (Some(0.8125), Some(4.37), 12, 7));
    assert_eq!((f.successful_referrals, f.couple_connections), (0, 0));
    assert!(f.last_active_at.is_some_and(|at| (at - (now - Duration::days(3))).num_milliseconds().abs() < 1));
    assert!(store.supplier_facts("venue", now - Duration::days(90)).await.unwrap().is_empty());

    // An act is recorded once per couple, supplier and action; a renewal replaces its
    // referral only if the earlier one is still the act's.
    let ns = store.server_namespace(couple).await.unwrap();
    let first = store.create_referral(new_referral(couple, &ns, now)).await.unwrap().view;
    let mut second = new_referral(couple, &ns, now);
    second.code = ReferralCode::generate(AccountKind::Supplier, &ns, 1).to_string();
    let second = store.create_referral(second).await.unwrap().view;
    let invite = RecommendationAction::InviteSupplier;
    assert_eq!(store.acted_referral(couple, seen, invite).await.unwrap(), None);
    assert!(store.record_act(couple, seen, invite, first.id, None, now).await.unwrap());
    assert!(!store.record_act(couple, seen, invite, second.id, None, now).await.unwrap(), "already acted on");
    assert_eq!(store.acted_referral(couple, seen, invite).await.unwrap(), Some((first.id, first.code.to_string())));
    assert!(!store.record_act(couple, seen, invite, second.id, Some(second.id), now).await.unwrap(), "not the act's referral");
    assert!(store.record_act(couple, seen, invite, second.id, Some(first.id), now).await.unwrap());
    assert_eq!(store.acted_referral(couple, seen, invite).await.unwrap(), Some((second.id, second.code.to_string())));
    assert_eq!(store.acted_referral(couple, seen, RecommendationAction::ShareWithFriend).await.unwrap(), None);
}

async fn wrong_passwords_count_in_a_row_and_locks_lapse(db: &TestDb) {
    let store = db.open().await;
    let (amy, ben, here, there) = ("amy-hash", "ben-hash", "client-1", "client-2");
    let t0 = Utc::now();
    let forget = |at: chrono::DateTime<Utc>| at - Duration::minutes(60);
    for n in 1..=3 {
        let at = t0 + Duration::seconds(n);
        assert_eq!(store.begin_sign_in(amy, here, at, forget(at)).await.unwrap(), (n, None));
    }
    assert_eq!(store.begin_sign_in(ben, here, t0, forget(t0)).await.unwrap().0, 1, "each email counts its own");
    assert_eq!(store.begin_sign_in(amy, there, t0, forget(t0)).await.unwrap().0, 1, "and each client");
    let until = t0 + Duration::minutes(15);
    store.lock_sign_in(amy, here, until).await.unwrap();
    // While locked the lock is told and the count goes on; once it has passed, both start again.
    let during = t0 + Duration::minutes(5);
    let (n, locked) = store.begin_sign_in(amy, here, during, forget(during)).await.unwrap();
    assert_eq!((n, locked.map(|t| t.timestamp())), (4, Some(until.timestamp())));
    assert_eq!(store.begin_sign_in(amy, there, during, forget(during)).await.unwrap(), (2, None), "another client is not locked");
    let after = t0 + Duration::minutes(16);
    assert_eq!(store.begin_sign_in(amy, here, after, forget(after)).await.unwrap(), (1, None), "a lapsed lock is gone");
    // An old attempt is forgotten.
    let much_later = after + Duration::hours(2);
    assert_eq!(store.begin_sign_in(amy, here, much_later, forget(much_later)).await.unwrap(), (1, None));
    // A right password clears one client's count; a sign-in link every client's.
    store.clear_sign_in_failures(ben, Some(here)).await.unwrap();
    assert_eq!(store.begin_sign_in(ben, here, much_later, forget(much_later)).await.unwrap().0, 1);
    store.clear_sign_in_failures(amy, None).await.unwrap();
    assert_eq!(store.begin_sign_in(amy, there, much_later, forget(much_later)).await.unwrap().0, 1);
    assert_eq!(store.begin_sign_in(amy, here, much_later, forget(much_later)).await.unwrap().0, 1);
}

on_both_backends!(
    suppliers_for_recommendations_reputation_and_acts,
    fraud_subjects_neighbourhoods_and_the_review_queue,
    accounts_devices_and_namespaces,
    referrals_are_unique_and_paged_newest_first,
    visits_count_once_per_visitor_per_hour,
    a_burst_of_visits_counts_each_visitor_once,
    events_claim_once_and_conversions_count_once,
    concurrent_claims_of_one_key_apply_once,
    wrong_passwords_count_in_a_row_and_locks_lapse,
);
