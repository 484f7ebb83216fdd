//! Growth analytics over real HTTP on SQLite and PostgreSQL, against a small population
//! whose every figure is worked out by hand below: an empty week, a zero denominator, a
//! referral converting weeks after it was made, a refund, a rejected referee left out, a
//! referrer who sees only their own figures.

mod common;
use bouquet_server::on_both_backends;

use std::collections::BTreeMap;

use bouquet_core::analytics::{AnalyticsReport, GrowthFigures, LoopReport};
use bouquet_core::api::SessionView;
use bouquet_core::fraud::{FraudAction, FraudPolicy};
use bouquet_core::code::ReferralCode;
use bouquet_core::metrics::{FunnelStep, GrowthStatus, Kpi, Period, period_start};
use bouquet_core::sync::{Entity, SCHEMA_VERSION};
use bouquet_core::{AccountKind, Hlc};
use chrono::{DateTime, Duration, Utc};
use common::people::{Platform, Via, account, scan};
use common::{TestDb, TestServer, api, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// A code made on a device at `created_at` (offline, synced later), as the app pushes it.
async fn push_code(server: &TestServer, s: &SessionView, method: &str, serial: u64, created_at: DateTime<Utc>) -> String {
    let code = ReferralCode::generate(AccountKind::Supplier, &s.code_namespace, serial as usize).to_string();
    let fields = json!({"code": code, "method": method, "link": format!("{}/r/{code}", server.url), "created_at": created_at.to_rfc3339()});
    let clocks: BTreeMap<String, Hlc> =
        fields.as_object().unwrap().keys().map(|k| (k.clone(), Hlc { wall_ms: Utc::now().timestamp_millis(), counter: serial as u32, node: "laptop".into() })).collect();
    let change = json!({"seq": serial, "entity": Entity::Code, "id": Uuid::now_v7(), "fields": fields, "clocks": clocks});
    let resp = api()
        .post(format!("{}/api/v1/sync/push", server.url))
        .bearer_auth(&s.token)
        .json(&json!({"schema_version": SCHEMA_VERSION, "changes": [change]}))
        .send()
        .await
        .unwrap();
    json_of(resp, StatusCode::OK).await;
    code
}

async fn report<T: serde::de::DeserializeOwned>(server: &TestServer, token: &str, query: &str) -> T {
    let resp = api().get(format!("{}{query}", server.url)).bearer_auth(token).send().await.unwrap();
    serde_json::from_value(json_of(resp, StatusCode::OK).await).unwrap()
}

async fn status_of(server: &TestServer, token: &str, query: &str) -> (StatusCode, Value) {
    let resp = api().get(format!("{}{query}", server.url)).bearer_auth(token).send().await.unwrap();
    (resp.status(), resp.json().await.unwrap_or(Value::Null))
}

async fn event(platform: &Platform, server: &TestServer, kind: &str, user: &str, at: DateTime<Utc>) {
    platform.event(server, json!({"idempotency_key": format!("{kind}-{user}"), "type": kind, "occurred_at": at, "user": {"id": user, "kind": "couple"}})).await;
}

fn figures(referrals: i64, referrers: i64, visits: i64, sign_ups: i64, conversions: i64) -> GrowthFigures {
    GrowthFigures {
        referrals_made: referrals,
        unique_referrers: referrers,
        unique_visits: visits,
        sign_ups,
        conversions,
        conversion_rate: (referrals > 0).then(|| conversions as f64 / referrals as f64),
        ..GrowthFigures::default()
    }
}

async fn every_figure_matches_the_hand_worked_population(db: &TestDb) {
    // Codes made six weeks ago must still work, and their conversions' rewards be due at once.
    let server = TestServer::start_with(db, |s| {
        s.referral_lifetime = Duration::days(365);
        s.attribution.window = Duration::days(365);
    })
    .await;
    let platform = Platform::new(&server).await;
    let admin = account(&server, "admin", "ops@bouquet.example", "").await;
    let studio = account(&server, "supplier", "studio@goldenhour.example", "Golden Hour Studio").await;
    let florist = account(&server, "supplier", "hello@petals.example", "Petals").await;

    // Three whole weeks, the last ending at least 3 weeks ago: every conversion below is
    // more than 30 days old (retention is decided) and past the 14-day holding period.
    let w1 = period_start(Utc::now() - Duration::days(42), Period::Week);
    let at = |days: i64, hours: i64| w1 + Duration::days(days) + Duration::hours(hours);
    let range = format!("period=week&from={}&to={}", w1.format("%Y-%m-%d"), (w1 + Duration::days(20)).format("%Y-%m-%d"));

    // Week 1, the studio: a link (A) and a QR code (B).
    let a = push_code(&server, &studio, "link", 1, at(1, 10)).await;
    let b = push_code(&server, &studio, "qr", 2, at(2, 9)).await;
    // Two couples type A's code; both activate and convert. One converts an hour after
    // signing up and is refunded two days later; the other converts a week later (week 2).
    platform.signup(&server, "u1", "maya.jones@mail.example", Via::Code(&a), "198.51.100.1", at(1, 12)).await;
    platform.signup(&server, "u2", "tom.hart@post.example", Via::Code(&a), "198.51.100.2", at(1, 13)).await;
    event(&platform, &server, "activate", "u2", at(1, 13) + Duration::minutes(30)).await;
    platform.convert(&server, "u2", at(1, 14)).await;
    event(&platform, &server, "refund", "u2", at(3, 14)).await;
    event(&platform, &server, "activate", "u1", at(2, 12)).await;
    platform.convert(&server, "u1", at(8, 12)).await;
    // B: a couple at the studio's own business domain is a self-referral, rejected and left out.
    let rejected = platform.signup(&server, "u3", "cousin@goldenhour.example", Via::Code(&b), "198.51.100.3", at(2, 10)).await;
    assert_eq!(rejected.fraud.map(|f| f.action), Some(FraudAction::Reject));
    // Phones open A and B (visits that did not sign up).
    scan(&server, &a, "203.0.113.10", 1).await;
    scan(&server, &b, "203.0.113.11", 2).await;
    // Week 2: nothing from the studio. The florist makes E; a couple signs up, activates, converts.
    let e = push_code(&server, &florist, "link", 1, at(9, 9)).await;
    platform.signup(&server, "u4", "ivy.lee@mail.example", Via::Code(&e), "198.51.100.4", at(9, 10)).await;
    event(&platform, &server, "activate", "u4", at(9, 11)).await;
    platform.convert(&server, "u4", at(10, 10)).await;
    // Week 3, the studio: an email invitation (D) nobody has answered.
    push_code(&server, &studio, "email", 3, at(15, 9)).await;

    // ---- The studio's own report ----
    let mine: AnalyticsReport = report(&server, &studio.token, &format!("/api/v1/me/analytics?{range}")).await;
    assert_eq!(mine.account_id, Some(studio.account.id));
    assert!(mine.exclusions.contains("held or rejected"));
    let starts: Vec<DateTime<Utc>> = mine.series.iter().map(|p| p.start).collect();
    assert_eq!(starts, [w1, w1 + Duration::days(7), w1 + Duration::days(14)]);

    // Week 1: A and B made by one referrer. Visits: u1's and u2's typed codes and the two
    // phones (u3's is left out) = 4. Sign-ups u1, u2 = 2; both converted, counted in week 1
    // although u1 converted in week 2. Times to convert: u2 1 h = 3,600 s; u1 from 12:00
    // on day 1 to 12:00 on day 8 = 604,800 s; mean and median (3,600 + 604,800) ÷ 2 =
    // 304,200. Value: u1's 49.00 only (u2 was refunded).
    let week1 = &mine.series[0].figures;
    assert_eq!(
        *week1,
        GrowthFigures {
            avg_time_to_convert_seconds: Some(304_200.0),
            median_time_to_convert_seconds: Some(304_200.0),
            conversion_value_minor: 4_900,
            avg_conversion_value_minor: Some(4_900),
            ..figures(2, 1, 4, 2, 2)
        }
    );
    // Week 2 is empty: zeros, and no rate (nothing to divide by) rather than 0%.
    assert_eq!(mine.series[1].figures, GrowthFigures::default());
    assert_eq!(mine.series[1].figures.conversion_rate, None);
    // Week 3: one invitation, nothing yet: a real 0%, but no time or value to average.
    assert_eq!(mine.series[2].figures, figures(1, 1, 0, 0, 0));
    assert_eq!(mine.series[2].figures.conversion_rate, Some(0.0));
    // The range: 3 referrals, 2 conversions → 2 ÷ 3.
    assert_eq!(
        mine.total,
        GrowthFigures {
            avg_time_to_convert_seconds: Some(304_200.0),
            median_time_to_convert_seconds: Some(304_200.0),
            conversion_value_minor: 4_900,
            avg_conversion_value_minor: Some(4_900),
            ..figures(3, 1, 4, 2, 2)
        }
    );

    // Funnel: invited 3, visited 4, signed up 2 (2 ÷ 4 = 0.5, 0.8 of its 0.625 benchmark:
    // the bottleneck), activated 2 (1.0), converted 2 (1.0), both matured, 1 retained
    // (u2's refund within 30 days) → 0.5 of 0.9 = 0.556, further below than signing up.
    let step = |s: FunnelStep| mine.funnel.steps.iter().find(|r| r.step == s).unwrap().clone();
    let counts: Vec<i64> = mine.funnel.steps.iter().map(|s| s.count).collect();
    assert_eq!(counts, [3, 4, 2, 2, 2, 1]);
    assert_eq!(step(FunnelStep::Invited).rate, None);
    assert_eq!(step(FunnelStep::SignedUp).rate, Some(0.5));
    assert_eq!(step(FunnelStep::Retained).rate, Some(0.5));
    assert_eq!(mine.funnel.bottleneck, Some(FunnelStep::Retained));
    assert_eq!(mine.funnel.recommendation.as_deref(), Some(FunnelStep::Retained.recommendation()));
    assert_eq!(mine.funnel.referral_conversion_rate, Some(2.0 / 3.0));

    // Money: revenue 49.00. Rewards: u2 converted first (75.00 = 25 × 2 annual × 1.5 new
    // referrer), due at once and then clawed back by the refund; u1's 75.00 (still × 1.5:
    // one earlier success) due at once: paid 75.00, pending 0. ROI 4,900 ÷ 7,500.
    assert_eq!(mine.money.referral_revenue_minor, 4_900);
    assert_eq!((mine.money.rewards_paid_minor, mine.money.rewards_pending_minor), (7_500, 0));
    assert_eq!(mine.money.reward_roi, Some(4_900.0 / 7_500.0));
    // Fraud: u1, u2 and u3 assessed, u3 rejected.
    assert_eq!((mine.money.fraud_assessed, mine.money.fraud_held_or_rejected), (3, 1));
    assert_eq!(mine.money.fraud_rate, Some(1.0 / 3.0));
    let kpi = |r: &AnalyticsReport, k: Kpi| r.kpis.iter().find(|c| c.kpi == k).copied();
    assert_eq!(kpi(&mine, Kpi::ReferralConversionRate).and_then(|c| c.met), Some(true));
    assert_eq!(kpi(&mine, Kpi::RewardRoi).and_then(|c| c.met), Some(false));
    assert!(kpi(&mine, Kpi::ViralCoefficient).is_none(), "the loop is a platform figure");

    // ---- The platform, split by method ----
    let all: AnalyticsReport = report(&server, &admin.token, &format!("/api/v1/admin/analytics?{range}&split=method")).await;
    assert_eq!(all.account_id, None);
    // Week 2 now has the florist's E: 1 referral, 1 visit (u4's code), 1 sign-up, 1 conversion
    // a day later (86,400 s), 49.00.
    assert_eq!(
        all.series[1].figures,
        GrowthFigures {
            avg_time_to_convert_seconds: Some(86_400.0),
            median_time_to_convert_seconds: Some(86_400.0),
            conversion_value_minor: 4_900,
            avg_conversion_value_minor: Some(4_900),
            ..figures(1, 1, 1, 1, 1)
        }
    );
    // Whole range: 4 referrals by 2 referrers, 5 visits, 3 sign-ups, 3 conversions; times
    // 3,600, 86,400 and 604,800 → median 86,400, mean 231,600; value 98.00 over 2.
    assert_eq!(
        all.total,
        GrowthFigures {
            avg_time_to_convert_seconds: Some(231_600.0),
            median_time_to_convert_seconds: Some(86_400.0),
            conversion_value_minor: 9_800,
            avg_conversion_value_minor: Some(4_900),
            ..figures(4, 2, 5, 3, 3)
        }
    );
    let groups: Vec<(&str, i64, i64)> = all.groups.iter().map(|g| (g.key.as_str(), g.total.referrals_made, g.total.conversions)).collect();
    assert_eq!(groups, [("email", 1, 0), ("link", 2, 3), ("qr", 1, 0)]);
    assert_eq!(all.groups[1].series.len(), 3, "each group has every bucket");
    // Rewards paid: 75.00 each to the studio (u1) and the florist (u4); ROI 9,800 ÷ 15,000.
    assert_eq!(all.money.rewards_paid_minor, 15_000);
    assert_eq!(all.money.reward_roi, Some(9_800.0 / 15_000.0));
    assert_eq!((all.money.fraud_assessed, all.money.fraud_held_or_rejected), (4, 1));

    // The loop: supplier → couple, 2 active referrers, 4 invitations, 3 conversions:
    // 2 per referrer × 0.75 = K 1.5; no couple has referred a supplier, so the full loop
    // has no K and no status.
    let lp: LoopReport = report(&server, &admin.token, &format!("/api/v1/admin/analytics/loop?{range}")).await;
    let s2c = lp.viral_loop.directions[0];
    assert_eq!((s2c.active_referrers, s2c.invitations, s2c.conversions), (2, 4, 3));
    assert_eq!((s2c.invitations_per_referrer, s2c.conversion_per_invitation, s2c.k), (Some(2.0), Some(0.75), Some(1.5)));
    assert_eq!(lp.viral_loop.full_loop_k, None);
    assert_eq!(lp.viral_loop.growth_status, None::<GrowthStatus>);

    // An operator may look at one referrer; the florist sees only the florist.
    let one: AnalyticsReport = report(&server, &admin.token, &format!("/api/v1/admin/analytics?{range}&account_id={}", studio.account.id)).await;
    assert_eq!(one.total, mine.total);
    let theirs: AnalyticsReport = report(&server, &florist.token, &format!("/api/v1/me/analytics?{range}")).await;
    assert_eq!((theirs.total.referrals_made, theirs.total.conversions), (1, 1));

    // By day: 21 buckets, the conversion still in the day A was made.
    let by_day: AnalyticsReport = report(&server, &studio.token, &format!("/api/v1/me/analytics?{}", range.replace("week", "day"))).await;
    assert_eq!(by_day.series.len(), 21);
    assert_eq!((by_day.series[1].figures.referrals_made, by_day.series[1].figures.conversions), (1, 2));
    assert_eq!(by_day.series[8].figures, GrowthFigures::default());
    // The platform's figures are summed in the database; one fact per referral gives the
    // same, for every period and split.
    bouquet_server::testing::assert_platform_sums_match_facts(&server.store, w1 - Duration::days(40), w1 + Duration::days(60)).await;
}

async fn bad_requests_and_strangers_are_refused(db: &TestDb) {
    let server = TestServer::start(db).await;
    let studio = account(&server, "supplier", "studio@goldenhour.example", "Golden Hour Studio").await;
    let admin = account(&server, "admin", "ops@bouquet.example", "").await;
    for (query, needle) in [
        ("period=year", "period"),
        ("from=yesterday", "from"),
        ("from=2026-03-10&to=2026-03-01", "before it starts"),
        ("period=day&from=2000-01-01&to=2026-01-01", "more than 1000"),
        ("split=colour", "split"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = status_of(&server, &studio.token, &format!("/api/v1/me/analytics?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["message"].as_str().unwrap_or_default().contains(needle), "{query}: {body}");
    }
    // With no range given: the last 12 weeks, ending now, empty.
    let empty: AnalyticsReport = report(&server, &studio.token, "/api/v1/me/analytics").await;
    assert_eq!((empty.period, empty.series.len()), (Period::Week, 12));
    assert!(empty.to <= Utc::now() && empty.to > Utc::now() - Duration::minutes(1));
    assert_eq!(empty.funnel.bottleneck, None);
    assert_eq!(empty.funnel.referral_conversion_rate, None);

    for path in ["/api/v1/admin/analytics", "/api/v1/admin/analytics/loop"] {
        assert_eq!(status_of(&server, &studio.token, path).await.0, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(api().get(format!("{}{path}", server.url)).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(api().get(format!("{}/api/v1/me/analytics", server.url)).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let (status, _) = status_of(&server, &admin.token, &format!("/api/v1/admin/analytics?account_id={}", Uuid::new_v4())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}



/// A referral made through the API at `made_at` (a couple's referral of a supplier, or a
/// supplier's of a couple).
async fn refer(server: &TestServer, who: &SessionView, made_at: DateTime<Utc>) -> String {
    let body = json!({"method": "link", "created_at": made_at});
    let resp = api().post(format!("{}/api/v1/referrals", server.url)).bearer_auth(&who.token).json(&body).send().await.unwrap();
    json_of(resp, StatusCode::CREATED).await["code"].as_str().unwrap().to_owned()
}

async fn k_and_cycle_time_on_two_generations(db: &TestDb) {
    let server = TestServer::start(db).await;
    let platform = Platform::new(&server).await;
    let admin = account(&server, "admin", "ops@bouquet.example", "").await;
    let t0 = period_start(Utc::now() - Duration::days(20), Period::Day);
    let day = |d: i64| t0 + Duration::days(d);

    // Generation 0: two suppliers invite four couples; three convert.
    let s1 = account(&server, "supplier", "hello@first.example", "First Light").await;
    let s2 = account(&server, "supplier", "hello@second.example", "Second Nature").await;
    let (a, b) = (refer(&server, &s1, day(0)).await, refer(&server, &s1, day(0)).await);
    let (c, _unanswered) = (refer(&server, &s2, day(0)).await, refer(&server, &s2, day(0)).await);
    for (user, email, code) in [("c1", "cleo@mail.example", &a), ("c2", "dev@post.example", &b), ("c3", "esme@inbox.example", &c)] {
        platform.signup(&server, user, email, Via::Code(code), "198.51.100.20", day(1)).await;
        platform.convert(&server, user, day(1) + Duration::hours(2)).await;
    }
    // Generation 1: couples c1 and c2 (with Bouquet accounts under the emails they signed up
    // with) each invite a supplier; c1's converts 4 days after c1 joined.
    let cleo = account(&server, "couple", "cleo@mail.example", "Cleo & Sam").await;
    let dev = account(&server, "couple", "dev@post.example", "Dev & Ola").await;
    let to_s3 = refer(&server, &cleo, day(2)).await;
    refer(&server, &dev, day(2)).await;
    platform.signup(&server, "s3", "hello@third.example", Via::Code(&to_s3), "198.51.100.21", day(4)).await;
    platform.convert(&server, "s3", day(5)).await;
    // The supplier who joined through Cleo invites a couple, who converts 6 days after.
    let s3 = account(&server, "supplier", "hello@third.example", "Third Eye").await;
    let from_s3 = refer(&server, &s3, day(6)).await;
    platform.signup(&server, "c4", "fay@mail.example", Via::Code(&from_s3), "198.51.100.22", day(8)).await;
    platform.convert(&server, "c4", day(10)).await;

    let range = format!("period=week&from={}&to={}", day(0).format("%Y-%m-%d"), day(14).format("%Y-%m-%d"));
    let lp: LoopReport = report(&server, &admin.token, &format!("/api/v1/admin/analytics/loop?{range}")).await;
    let d = |i: usize| lp.viral_loop.directions[i];
    // Supplier → couple: s1, s2, s3 active; 5 invitations; c1, c2, c3, c4 converted: K = 4 ÷ 3.
    assert_eq!((d(0).active_referrers, d(0).invitations, d(0).conversions), (3, 5, 4));
    assert_eq!(d(0).k, Some(4.0 / 3.0));
    // Couple → supplier: Cleo and Dev, 2 invitations, 1 converted: K = 0.5.
    assert_eq!((d(1).active_referrers, d(1).invitations, d(1).conversions), (2, 2, 1));
    assert_eq!(d(1).k, Some(0.5));
    // The full loop: 4/3 × 0.5 = 2/3, sub-viral, so no doubling time.
    let k = lp.viral_loop.full_loop_k.unwrap();
    assert!((k - 2.0 / 3.0).abs() < 1e-12, "{k}");
    assert_eq!(lp.viral_loop.growth_status, Some(GrowthStatus::SubViral));
    assert_eq!(lp.viral_loop.doubling_time_days, None);
    // Cycle: Cleo joined on day 1 and her first success was on day 5 (4 days); the third
    // supplier joined on day 4 and first succeeded on day 10 (6 days): 4 + 6 = 10.
    let cycle = lp.viral_loop.cycle_time_days.unwrap();
    assert!((cycle - 10.0).abs() < 1e-9, "{cycle}");
    let met = |kpi: Kpi| lp.kpis.iter().find(|c| c.kpi == kpi).and_then(|c| c.met);
    assert_eq!((met(Kpi::ViralCoefficient), met(Kpi::FullLoopDays)), (Some(false), Some(true)));
}

/// The platform's report reads whole days from the daily rollup; changes to a day's facts
/// must reach it: a visit, a sign-up, an activation, a conversion with its reward, a
/// refund, a churn.
async fn the_daily_rollup_follows_every_change(db: &TestDb) {
    let server = TestServer::start(db).await;
    let platform = Platform::new(&server).await;
    let admin = account(&server, "admin", "ops@bouquet.example", "").await;
    let studio = account(&server, "supplier", "studio@goldenhour.example", "Golden Hour Studio").await;
    let made = Utc::now() - Duration::days(3);
    let code = push_code(&server, &studio, "link", 1, made).await;
    let (from, to) = (period_start(made, Period::Day) - Duration::days(2), period_start(made, Period::Day) + Duration::days(2));
    let query = format!("/api/v1/admin/analytics?period=day&from={}&to={}", from.format("%Y-%m-%d"), (to - Duration::days(1)).format("%Y-%m-%d"));
    let store = server.store.clone();
    let read = || {
        let (server, store, token, query) = (&server, store.clone(), admin.token.clone(), query.clone());
        async move {
            bouquet_server::testing::assert_platform_sums_match_facts(&store, from, to).await;
            let r: AnalyticsReport = report(server, &token, &query).await;
            (r.total.referrals_made, r.total.unique_visits, r.total.sign_ups, r.total.conversions, r.money.referral_revenue_minor)
        }
    };
    // The scheduler's round rebuilds what is marked (the new referral's day), then nothing.
    assert!(server.store.rebuild_analytics_days().await.unwrap() >= 1);
    assert_eq!(server.store.rebuild_analytics_days().await.unwrap(), 0);
    assert_eq!(read().await, (1, 0, 0, 0, 0));
    let touch = scan(&server, &code, "203.0.113.5", 1).await;
    assert_eq!(read().await, (1, 1, 0, 0, 0), "a visit");
    platform.signup(&server, "u1", "amy@example.com", Via::Touch(&touch), "203.0.113.5", Utc::now()).await;
    assert_eq!(read().await, (1, 1, 1, 0, 0), "a sign-up");
    event(&platform, &server, "activate", "u1", Utc::now()).await;
    platform.event(&server, json!({"idempotency_key": "convert-u1", "type": "convert", "occurred_at": Utc::now(),
        "user": {"id": "u1", "kind": "couple"}, "plan": "professional", "annual": false, "value": {"amount_minor": 4900, "currency": "GBP"}})).await;
    assert_eq!(read().await, (1, 1, 1, 1, 4900), "a conversion");
    event(&platform, &server, "refund", "u1", Utc::now()).await;
    assert_eq!(read().await, (1, 1, 1, 1, 0), "a refund: still a conversion, no longer revenue");
    // A churn changes only retention, which the comparison with the raw facts checks.
    event(&platform, &server, "churn", "u1", Utc::now()).await;
    assert_eq!(read().await, (1, 1, 1, 1, 0), "a churn");
}

/// A referral made through the API at `at`, by `method`, of a `referee` ("couple" or
/// "supplier").
async fn refer_by(server: &TestServer, who: &SessionView, method: &str, referee: &str, at: DateTime<Utc>) {
    let body = json!({"method": method, "referee_type": referee, "created_at": at});
    let resp = api().post(format!("{}/api/v1/referrals", server.url)).bearer_auth(&who.token).json(&body).send().await.unwrap();
    json_of(resp, StatusCode::CREATED).await;
}

/// Unique referrers are counted once per period however many referrals each made — read
/// from counts kept as referrals are made, folded by the scheduler, and from the
/// referrals themselves where a range cuts a period — and agree with the raw facts on
/// every period and split, before and after each fold, including under racing writers.
async fn unique_referrers_follow_every_referral(db: &TestDb) {
    let server = TestServer::start(db).await;
    let admin = account(&server, "admin", "ops@bouquet.example", "").await;
    let studio = account(&server, "supplier", "studio@goldenhour.example", "Golden Hour Studio").await;
    let florist = account(&server, "supplier", "hello@petals.example", "Petals").await;
    let venue = account(&server, "supplier", "events@oldmill.example", "The Old Mill").await;
    let couple = account(&server, "couple", "amy.ben@example.com", "Amy & Ben").await;
    // Two whole weeks, eight weeks back: Monday 10:00 of the first.
    let monday = period_start(Utc::now() - Duration::weeks(8), Period::Week) + Duration::hours(10);
    let at = |days: i64, hours: i64| monday + Duration::days(days) + Duration::hours(hours);
    refer_by(&server, &studio, "link", "couple", at(0, 0)).await;
    refer_by(&server, &studio, "qr", "couple", at(0, 5)).await;
    refer_by(&server, &studio, "link", "supplier", at(3, 0)).await;
    refer_by(&server, &florist, "email", "couple", at(3, 1)).await;
    refer_by(&server, &florist, "link", "couple", at(7, 0)).await;
    refer_by(&server, &couple, "link", "supplier", at(8, 0)).await;

    let (from, to) = (monday - Duration::hours(10), monday + Duration::weeks(2) - Duration::hours(10));
    let weekly = |split: &str| {
        format!("/api/v1/admin/analytics?period=week&from={}&to={}{split}", from.format("%Y-%m-%d"), (to - Duration::days(1)).format("%Y-%m-%d"))
    };
    let unique = |r: &AnalyticsReport| (r.series.iter().map(|p| p.figures.unique_referrers).collect::<Vec<_>>(), r.total.unique_referrers);
    let store = server.store.clone();
    let check = || {
        let (server, store, token) = (&server, store.clone(), admin.token.clone());
        async move {
            bouquet_server::testing::assert_platform_sums_match_facts(&store, from, to).await;
            // A range cutting both weeks, through days that have referrals outside it.
            bouquet_server::testing::assert_platform_sums_match_facts(&store, at(0, 2), at(7, 2)).await;
            let r: AnalyticsReport = report(server, &token, &weekly("")).await;
            let by_method: AnalyticsReport = report(server, &token, &weekly("&split=method")).await;
            let methods: BTreeMap<String, i64> = by_method.groups.iter().map(|g| (g.key.clone(), g.total.unique_referrers)).collect();
            (unique(&r), methods)
        }
    };
    let methods = |pairs: &[(&str, i64)]| pairs.iter().map(|&(k, n)| (k.to_owned(), n)).collect::<BTreeMap<_, _>>();
    // Week 1: the studio (three referrals) and the florist; week 2: the florist and the couple.
    let expected = ((vec![2, 2], 3), methods(&[("email", 1), ("link", 3), ("qr", 1)]));
    assert_eq!(check().await, expected, "before the scheduler folds the new marks");
    server.store.rebuild_analytics_days().await.unwrap();
    assert_eq!(check().await, expected, "after the fold");

    // More referrals by the same referrers change no unique count; a new referrer does.
    refer_by(&server, &studio, "link", "couple", at(1, 0)).await;
    refer_by(&server, &florist, "qr", "couple", at(8, 3)).await;
    assert_eq!(check().await, ((vec![2, 2], 3), methods(&[("email", 1), ("link", 3), ("qr", 2)])), "the same referrers again");
    refer_by(&server, &venue, "qr", "couple", at(9, 0)).await;
    let expected = ((vec![2, 3], 4), methods(&[("email", 1), ("link", 3), ("qr", 3)]));
    assert_eq!(check().await, expected, "a third referrer in week 2, unfolded");
    server.store.rebuild_analytics_days().await.unwrap();
    assert_eq!(check().await, expected, "folded onto counts that already held the week");

    // Racing writers: the venue makes eight referrals at once on a day of week 1.
    let mut racing = Vec::new();
    for i in 0..8 {
        let (url, token) = (server.url.clone(), venue.token.clone());
        let body = json!({"method": "email", "referee_type": "couple", "created_at": at(4, i)});
        racing.push(tokio::spawn(async move {
            api().post(format!("{url}/api/v1/referrals")).bearer_auth(token).json(&body).send().await.unwrap().status()
        }));
    }
    for r in racing {
        assert_eq!(r.await.unwrap(), StatusCode::CREATED);
    }
    assert_eq!(check().await, ((vec![3, 3], 4), methods(&[("email", 2), ("link", 3), ("qr", 3)])), "eight racing referrals, one referrer");
    server.store.rebuild_analytics_days().await.unwrap();
    assert_eq!(check().await.0, (vec![3, 3], 4));
}

/// The daily rollup after fraud decisions (under review, then approved or rejected) and
/// after a landing-page lead is linked to a sign-up by its email: each is a change to
/// facts of days already built, which their triggers must mark.
async fn the_daily_rollup_follows_fraud_decisions_and_lead_links(db: &TestDb) {
    // One signal is enough to hold a conversion for review.
    let server = TestServer::start_with(db, |s| s.fraud = FraudPolicy { medium_from: 0.1, ..FraudPolicy::default() }).await;
    let platform = Platform::new(&server).await;
    let admin = account(&server, "admin", "ops@bouquet.example", "").await;
    let studio = account(&server, "supplier", "studio@goldenhour.example", "Golden Hour Studio").await;
    let (held_code, lead_code) = (push_code(&server, &studio, "link", 1, Utc::now() - Duration::days(3)).await, push_code(&server, &studio, "email", 2, Utc::now() - Duration::days(2)).await);
    let (from, to) = (period_start(Utc::now(), Period::Day) - Duration::days(5), period_start(Utc::now(), Period::Day) + Duration::days(1));
    let query = format!("/api/v1/admin/analytics?period=day&from={}&to={}", from.format("%Y-%m-%d"), (to - Duration::days(1)).format("%Y-%m-%d"));
    let store = server.store.clone();
    let read = || {
        let (server, store, token, query) = (&server, store.clone(), admin.token.clone(), query.clone());
        async move {
            // Built before each read, as the scheduler would, so a missed mark shows as a
            // difference from the raw facts.
            store.rebuild_analytics_days().await.unwrap();
            bouquet_server::testing::assert_platform_sums_match_facts(&store, from, to).await;
            let r: AnalyticsReport = report(server, &token, &query).await;
            (r.total.unique_visits, r.total.sign_ups, r.total.conversions)
        }
    };
    assert_eq!(read().await, (0, 0, 0));
    // Two instant conversions, held for review: counted while under review (docs/metrics.md).
    for user in ["u1", "u2"] {
        platform.signup(&server, user, &format!("{user}.couple@mail.example"), Via::Code(&held_code), "198.51.100.7", Utc::now() - Duration::seconds(30)).await;
        assert_eq!(platform.convert(&server, user, Utc::now()).await.fraud.unwrap().action, FraudAction::Review);
    }
    assert_eq!(read().await, (2, 2, 2), "people under review still count");
    let queue: Value = json_of(api().get(format!("{}/api/v1/admin/fraud/reviews", server.url)).bearer_auth(&admin.token).send().await.unwrap(), StatusCode::OK).await;
    let case_of = |user: &str| queue["items"].as_array().unwrap().iter().find(|c| c["platform_user_id"] == user).unwrap()["id"].as_str().unwrap().to_owned();
    let decide = |case: String, decision: &'static str| {
        let (url, token) = (server.url.clone(), admin.token.clone());
        async move {
            let resp = api().post(format!("{url}/api/v1/admin/fraud/reviews/{case}/decision")).bearer_auth(token).json(&json!({"decision": decision, "note": ""})).send().await.unwrap();
            json_of(resp, StatusCode::OK).await;
        }
    };
    decide(case_of("u1"), "approve").await;
    assert_eq!(read().await, (2, 2, 2), "approved: still counted");
    decide(case_of("u2"), "reject").await;
    assert_eq!(read().await, (1, 1, 1), "rejected: left out of the days already built");

    // A couple leaves their email on the landing page, then signs up on the platform with
    // it and no code: the lead's touch is linked to them afterwards.
    let phone = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let lead = phone
        .post(format!("{}/r/{lead_code}", server.url))
        .form(&[("couple_names", "Cleo & Dev"), ("email", "cleo@mail.example"), ("wedding_date", "2027-06-12")])
        .send()
        .await
        .unwrap();
    assert_eq!(lead.status(), StatusCode::SEE_OTHER);
    assert_eq!(read().await, (2, 1, 1), "a lead is a visit");
    let signup = platform
        .event(&server, json!({"idempotency_key": "signup-u3", "type": "signup", "occurred_at": Utc::now(),
            "user": {"id": "u3", "kind": "couple", "email": "cleo@mail.example"}}))
        .await;
    assert_eq!(signup.touches_linked, 1);
    assert_eq!(read().await.1, 2, "the linked lead's sign-up counts for the lead's referral");
}

/// Migration 12 marks and counts the referrals made before it: its backfill, run again
/// on a database with referrals and no marks, gives what the raw facts give.
async fn the_migration_counts_referrals_made_before_it(db: &TestDb) {
    let server = TestServer::start(db).await;
    let studio = account(&server, "supplier", "studio@goldenhour.example", "Golden Hour Studio").await;
    let couple = account(&server, "couple", "amy.ben@example.com", "Amy & Ben").await;
    let monday = period_start(Utc::now() - Duration::weeks(10), Period::Week);
    for (who, method, referee, days) in [(&studio, "link", "couple", 0), (&studio, "qr", "supplier", 1), (&studio, "link", "couple", 9), (&couple, "link", "supplier", 9), (&couple, "email", "supplier", 40)] {
        refer_by(&server, who, method, referee, monday + Duration::days(days) + Duration::hours(11)).await;
    }
    let sqlite = db.url.starts_with("sqlite");
    let backfill = if sqlite {
        let m = include_str!("../../../migrations/server-sqlite/0012_analytics_referrer_marks.sql");
        &m[..m.find("CREATE TRIGGER").unwrap()]
    } else {
        let m = include_str!("../../../migrations/server-postgres/0012_analytics_referrer_marks.sql");
        &m[m.find("INSERT INTO analytics_referrer_marks").unwrap()..m.find("CREATE FUNCTION analytics_referrer_marked").unwrap()]
    };
    let wipe = "DELETE FROM analytics_referrer_marks; DELETE FROM analytics_referrer_counts; DELETE FROM analytics_referrer_new;";
    let run = |sql: String| async {
        if sqlite {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
        } else {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
        }
    };
    run(format!("{wipe}\n{backfill}")).await;
    let (from, to) = (monday - Duration::weeks(1), monday + Duration::weeks(8));
    bouquet_server::testing::assert_platform_sums_match_facts(&server.store, from, to).await;
    let r: AnalyticsReport = report(&server, &account(&server, "admin", "ops@bouquet.example", "").await.token, &format!(
        "/api/v1/admin/analytics?period=month&from={}&to={}", from.format("%Y-%m-%d"), (to - Duration::days(1)).format("%Y-%m-%d"))).await;
    assert_eq!(r.total.unique_referrers, 2);
}

on_both_backends!(
    every_figure_matches_the_hand_worked_population,
    bad_requests_and_strangers_are_refused,
    k_and_cycle_time_on_two_generations,
    the_daily_rollup_follows_every_change,
    unique_referrers_follow_every_referral,
    the_daily_rollup_follows_fraud_decisions_and_lead_links,
    the_migration_counts_referrals_made_before_it
);
