//! Couple → supplier recommendations over real HTTP on SQLite and PostgreSQL: suppliers'
//! profiles synced from their devices, the platform's reputation reports, scores worked
//! out by hand, inactive suppliers and other trades left out; acting on one makes a
//! couple → supplier referral that converts and rewards the couple like any other.

mod common;
use bouquet_server::on_both_backends;

use std::collections::BTreeMap;

use bouquet_core::api::{RewardsPage, SessionView};
use bouquet_core::rewards::RewardRole;
use bouquet_core::tiers::Tier;
use bouquet_core::recommend::{ActedOnRecommendation, RecommendationList, RecommendationProgress, RecommendationsReceived, RecommendedToFriends};
use bouquet_core::sync::{Entity, SCHEMA_VERSION};
use bouquet_core::{AccountKind, Hlc, ReferralMethod};
use chrono::{Duration, NaiveDate, Utc};
use common::people::{Platform, Via, account, code};
use common::{TestDb, TestServer, api, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

async fn photographer(server: &TestServer, email: &str, name: &str) -> SessionView {
    let body = json!({"kind": "supplier", "email": email, "password": "correct horse battery", "business_name": name, "vendor_type": "photographer"});
    json_of(api().post(format!("{}/api/v1/accounts", server.url)).json(&body).send().await.unwrap(), StatusCode::CREATED).await;
    let resp = api().post(format!("{}/api/v1/sessions", server.url)).json(&json!({"email": email, "password": "correct horse battery"})).send().await.unwrap();
    serde_json::from_value(json_of(resp, StatusCode::CREATED).await).unwrap()
}

/// The app's push of the supplier's profile record (its id the account's).
async fn push_profile(server: &TestServer, s: &SessionView, id: Uuid, seq: i64, fields: Value) -> reqwest::Response {
    let fields = fields.as_object().unwrap().clone();
    let clocks: BTreeMap<String, Hlc> = fields.keys().map(|k| (k.clone(), Hlc { wall_ms: Utc::now().timestamp_millis(), counter: seq as u32, node: "laptop".into() })).collect();
    let change = json!({"seq": seq, "entity": Entity::Profile, "id": id, "fields": fields, "clocks": clocks});
    api()
        .post(format!("{}/api/v1/sync/push", server.url))
        .bearer_auth(&s.token)
        .json(&json!({"schema_version": SCHEMA_VERSION, "changes": [change]}))
        .send()
        .await
        .unwrap()
}

async fn reputation(server: &TestServer, platform: &Platform, id: Uuid, body: Value) -> StatusCode {
    api().put(format!("{}/api/v1/platform/suppliers/{id}/reputation", server.url)).bearer_auth(&platform.key).json(&body).send().await.unwrap().status()
}

async fn get(server: &TestServer, token: &str, query: &str) -> (StatusCode, Value) {
    let resp = api().get(format!("{}{query}", server.url)).bearer_auth(token).send().await.unwrap();
    (resp.status(), resp.json().await.unwrap_or(Value::Null))
}

async fn act(server: &TestServer, token: &str, body: Value) -> (StatusCode, Value) {
    let resp = api().post(format!("{}/api/v1/recommendations/act", server.url)).bearer_auth(token).json(&body).send().await.unwrap();
    (resp.status(), resp.json().await.unwrap_or(Value::Null))
}

const SEARCH: &str = "/api/v1/recommendations?vendor_type=photographer&wedding_date=2027-06-19&location=bath&style=Rustic&budget_min=100000&budget_max=200000";

async fn couples_get_the_best_active_suppliers_scored_by_hand(db: &TestDb) {
    let server = TestServer::start(db).await;
    let platform = Platform::new(&server).await;
    let golden = photographer(&server, "hello@goldenhour.example", "Golden Hour").await;
    let bloom = photographer(&server, "hi@bloomlight.example", "Bloomlight").await;
    let plain = photographer(&server, "me@plainframe.example", "Plain Frame").await;
    let gone = photographer(&server, "old@gone.example", "Long Gone").await;
    let florist = account(&server, "supplier", "hello@petals.example", "Petals").await;
    let couple = account(&server, "couple", "amy.ben@example.com", "Amy & Ben").await;

    // Golden Hour: documentary and rustic, £1,500–£2,500 in Bath, booked on the 12th.
    let p = push_profile(&server, &golden, golden.account.id, 1, json!({"location": "Bath, Somerset", "styles": "Documentary, rustic",
        "budget_min_minor": 150_000, "budget_max_minor": 250_000, "booked_dates": "2027-06-12"})).await;
    json_of(p, StatusCode::OK).await;
    // Bloomlight: rustic, £1,000–£2,000 in Bath, booked on the couple's date.
    let p = push_profile(&server, &bloom, bloom.account.id, 1, json!({"location": "Bath", "styles": "rustic",
        "budget_min_minor": 100_000, "budget_max_minor": 200_000, "booked_dates": "2027-06-19, 2027-07-03"})).await;
    json_of(p, StatusCode::OK).await;
    // A full profile for the florist too: another trade, never suggested for photography.
    json_of(push_profile(&server, &florist, florist.account.id, 1, json!({"location": "Bath", "styles": "rustic"})).await, StatusCode::OK).await;
    for (s, body) in [
        (&golden, json!({"response_rate": 0.9, "avg_rating": 4.5, "review_count": 20, "couples_served": 150})),
        (&bloom, json!({"response_rate": 1.0, "avg_rating": 5.0, "review_count": 50, "couples_served": 100})),
        (&gone, json!({"response_rate": 1.0, "avg_rating": 5.0, "review_count": 500, "couples_served": 900})),
    ] {
        assert_eq!(reputation(&server, &platform, s.account.id, body).await, StatusCode::NO_CONTENT);
    }
    // Long Gone was last seen 100 days ago: inactive, never suggested however well rated.
    server.store.note_seen(gone.account.id, Utc::now() - Duration::days(100)).await.unwrap();
    // A couple signed up through Golden Hour: one couple in its network.
    let golden_code = code(&server, &golden).await;
    platform.signup(&server, "couple-1", "cara@example.com", Via::Code(&golden_code), "198.51.100.7", Utc::now()).await;

    let (status, body) = get(&server, &couple.token, SEARCH).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list: RecommendationList = serde_json::from_value(body).unwrap();
    assert_eq!(list.wedding_date, NaiveDate::from_ymd_opt(2027, 6, 19));
    let names: Vec<_> = list.items.iter().map(|r| r.business_name.as_deref().unwrap()).collect();
    assert_eq!(names, ["Bloomlight", "Golden Hour", "Plain Frame"]);
    let [bloom_r, golden_r, plain_r] = &list.items[..] else { unreachable!() };
    // Bloomlight: engagement 0.20 + 1.0 × 0.10 + 0.10 = 0.40; match: rustic 0.075 + the
    // whole budget 0.075 + Bath 0.075 + booked that day 0 = 0.225; social: 0.10 + 0.05 +
    // 0.05 = 0.20; viral 0. Total 0.825.
    assert_eq!((bloom_r.score.engagement.points, bloom_r.score.match_quality.points, bloom_r.score.social_proof.points), (0.4, 0.225, 0.2));
    assert_eq!(bloom_r.score.total, 0.825);
    assert!(bloom_r.reason.starts_with("Already booked on 19 June 2027"), "{}", bloom_r.reason);
    // Golden Hour: 0.20 + 0.09 + 0.10 = 0.39; 0.075 + half the budget 0.0375 + 0.075 +
    // free 0.075 = 0.2625; 0.09 + 0.02 + 0.05 = 0.16; one couple of 50: 0.08 ÷ 50 = 0.0016.
    assert_eq!((golden_r.score.engagement.points, golden_r.score.match_quality.points, golden_r.score.social_proof.points), (0.39, 0.2625, 0.16));
    assert_eq!(golden_r.score.viral_potential.points, 0.0016);
    assert_eq!(golden_r.score.total, 0.8141);
    assert!(golden_r.reason.starts_with("Free on 19 June 2027, works in a rustic style, partly within your budget, works in Bath, Somerset"), "{}", golden_r.reason);
    // Plain Frame never filled a profile: active 0.20 + a quarter of the profile (its
    // name) 0.025; only free on the date matches, 0.075. Total 0.30.
    assert_eq!(plain_r.score.total, 0.3);
    assert_eq!(plain_r.supplier_id, plain.account.id);

    // Another trade: its own suppliers only.
    let (_, body) = get(&server, &couple.token, "/api/v1/recommendations?vendor_type=florist").await;
    let list: RecommendationList = serde_json::from_value(body).unwrap();
    assert_eq!(list.items.iter().map(|r| r.supplier_id).collect::<Vec<_>>(), [florist.account.id]);
}

async fn bad_searches_and_the_wrong_callers_are_refused(db: &TestDb) {
    let server = TestServer::start(db).await;
    let platform = Platform::new(&server).await;
    let studio = photographer(&server, "hello@goldenhour.example", "Golden Hour").await;
    let couple = account(&server, "couple", "amy.ben@example.com", "Amy & Ben").await;
    for (query, needle) in [
        ("/api/v1/recommendations", "vendor_type must be one of"),
        ("/api/v1/recommendations?vendor_type=astronaut", "not 'astronaut'"),
        ("/api/v1/recommendations?vendor_type=venue&wedding_date=2027-02-30", "wedding_date must be a date"),
        ("/api/v1/recommendations?vendor_type=venue&budget_min=5&budget_max=4", "budget_min is above budget_max"),
        ("/api/v1/recommendations?vendor_type=venue&budget_min=-5", "cannot be negative"),
        ("/api/v1/recommendations?vendor_type=venue&colour=red", "colour"),
    ] {
        let (status, body) = get(&server, &couple.token, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["message"].as_str().unwrap().contains(needle), "{query}: {body}");
    }
    assert_eq!(get(&server, &studio.token, SEARCH).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get(&server, "nobody", SEARCH).await.0, StatusCode::UNAUTHORIZED);

    // A profile is the supplier's own, one per account, and checked as the editor checks it.
    for (who, id, fields, needle) in [
        (&couple, couple.account.id, json!({"styles": "boho"}), "only suppliers have a profile"),
        (&studio, Uuid::now_v7(), json!({"styles": "boho"}), "its account's id"),
        (&studio, studio.account.id, json!({"booked_dates": "2027-06-31"}), "is not a date"),
        (&studio, studio.account.id, json!({"budget_max_minor": -4}), "cannot be negative"),
    ] {
        let resp = push_profile(&server, who, id, 1, fields).await;
        let body = json_of(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(body["message"].as_str().unwrap().contains(needle), "{body}");
    }
    // Never deleted: its id is the account's, so it could never be made again.
    let clock = Hlc { wall_ms: Utc::now().timestamp_millis(), counter: 0, node: "laptop".into() };
    let delete = json!({"seq": 1, "entity": Entity::Profile, "id": studio.account.id, "fields": {}, "clocks": {}, "deleted": clock});
    let resp = api().post(format!("{}/api/v1/sync/push", server.url)).bearer_auth(&studio.token)
        .json(&json!({"schema_version": SCHEMA_VERSION, "changes": [delete]})).send().await.unwrap();
    assert!(json_of(resp, StatusCode::UNPROCESSABLE_ENTITY).await["message"].as_str().unwrap().contains("not deleted"));
    // Two devices' edits may merge into a reversed range (a device sending its whole
    // record again must not be refused for it): accepted, and read as no range.
    json_of(push_profile(&server, &studio, studio.account.id, 1, json!({"budget_min_minor": 5, "budget_max_minor": 4})).await, StatusCode::OK).await;
    let (_, body) = get(&server, &couple.token, "/api/v1/recommendations?vendor_type=photographer&budget_min=4&budget_max=5").await;
    assert_eq!(body["items"][0]["score"]["match_quality"]["points"], json!(0.225), "budget unknown: 0 of its 0.075");
    // An app from before profiles (it states no version) is not sent them; this one is.
    let (_, old_app) = get(&server, &studio.token, "/api/v1/sync/pull?after=0").await;
    assert_eq!(old_app["records"].as_array().unwrap().len(), 0, "{old_app}");
    assert!(old_app["next_after"].as_i64().unwrap() > 0, "the cursor moves past what was left out");
    let (_, new_app) = get(&server, &studio.token, &format!("/api/v1/sync/pull?after=0&schema_version={SCHEMA_VERSION}")).await;
    assert_eq!(new_app["records"][0]["entity"], json!("profile"), "{new_app}");

    // Reputation: the platform's word, within range, for a supplier.
    let rep = |rate: f64| json!({"response_rate": rate, "avg_rating": 4.0, "review_count": 3, "couples_served": 3});
    assert_eq!(reputation(&server, &platform, studio.account.id, rep(1.5)).await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reputation(&server, &platform, studio.account.id, json!({"avg_rating": 6.0})).await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reputation(&server, &platform, studio.account.id, json!({"review_count": -1})).await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reputation(&server, &platform, couple.account.id, rep(0.5)).await, StatusCode::NOT_FOUND);
    assert_eq!(reputation(&server, &platform, Uuid::now_v7(), rep(0.5)).await, StatusCode::NOT_FOUND);
    let resp = api().put(format!("{}/api/v1/platform/suppliers/{}/reputation", server.url, studio.account.id)).bearer_auth(&studio.token).json(&rep(0.5)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // Acting: couples only, on a supplier.
    let invite = |id: Uuid| json!({"supplier_id": id, "action": "invite_supplier"});
    assert_eq!(act(&server, &studio.token, invite(studio.account.id)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(act(&server, &couple.token, invite(couple.account.id)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(act(&server, &couple.token, json!({"supplier_id": studio.account.id, "action": "hug"})).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn acting_on_one_is_a_referral_that_converts_and_rewards_the_couple(db: &TestDb) {
    let server = TestServer::start(db).await;
    let platform = Platform::new(&server).await;
    let studio = photographer(&server, "hello@goldenhour.example", "Golden Hour").await;
    let couple = account(&server, "couple", "amy.ben@example.com", "Amy & Ben").await;

    let (status, first) = act(&server, &couple.token, json!({"supplier_id": studio.account.id, "action": "invite_supplier", "message": "You shot our friends' wedding!"})).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let first: ActedOnRecommendation = serde_json::from_value(first).unwrap();
    let r = &first.referral;
    assert_eq!((r.referrer_id, r.referrer_type, r.referee_type, r.method), (couple.account.id, AccountKind::Couple, AccountKind::Supplier, ReferralMethod::Email));
    assert_eq!(r.vendor_type.map(|v| v.as_str()), Some("photographer"));
    assert_eq!(r.message.as_deref(), Some("You shot our friends' wedding!"));
    // A second tap (or a retry) gives back the same referral; sharing is another one.
    let (_, again) = act(&server, &couple.token, json!({"supplier_id": studio.account.id, "action": "invite_supplier"})).await;
    assert_eq!(serde_json::from_value::<ActedOnRecommendation>(again).unwrap().referral.id, r.id);
    // Once the shared link has stopped working, sharing again makes a new one.
    let (_, share) = act(&server, &couple.token, json!({"supplier_id": studio.account.id, "action": "share_with_friend"})).await;
    let expired: ActedOnRecommendation = serde_json::from_value(share).unwrap();
    let mut tx = server.store.begin_sync().await.unwrap();
    tx.end_referral(expired.referral.code.as_str(), couple.account.id, Utc::now()).await.unwrap();
    tx.commit().await.unwrap();
    let (status, share) = act(&server, &couple.token, json!({"supplier_id": studio.account.id, "action": "share_with_friend"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let share: ActedOnRecommendation = serde_json::from_value(share).unwrap();
    assert_ne!(share.referral.id, r.id);
    assert_ne!(share.referral.id, expired.referral.id, "a working link replaces the expired one");
    let (_, again) = act(&server, &couple.token, json!({"supplier_id": studio.account.id, "action": "share_with_friend"})).await;
    assert_eq!(serde_json::from_value::<ActedOnRecommendation>(again).unwrap().referral.id, share.referral.id);
    assert_eq!(share.referral.method, ReferralMethod::Link);

    // The supplier joins the platform with the code and subscribes: the couple earns 5%.
    let code = r.code.to_string();
    platform.signup(&server, "studio-on-wedsync", "hello@goldenhour.example", Via::Code(&code), "203.0.113.9", Utc::now()).await;
    platform.convert(&server, "studio-on-wedsync", Utc::now()).await;
    let resp = api().get(format!("{}/api/v1/me/rewards?limit=50", server.url)).bearer_auth(&couple.token).send().await.unwrap();
    let page: RewardsPage = serde_json::from_value(json_of(resp, StatusCode::OK).await).unwrap();
    // 5% of £49.00 is 2.45 credits, for this referral; and the couple's first tier.
    let earned: Vec<_> = page.items.iter().filter(|i| i.role == RewardRole::Referrer).collect();
    assert_eq!(earned.len(), 1, "{:?}", page.items);
    assert_eq!((earned[0].amount.amount_minor, earned[0].amount.currency.as_str(), earned[0].referral_id), (245, "CRD", Some(r.id)));
    assert!(page.items.iter().any(|i| i.tier == Some(Tier::First)), "{:?}", page.items);
}

async fn to_friends(server: &TestServer, token: &str, body: Value) -> (StatusCode, Value) {
    let resp = api().post(format!("{}/api/v1/recommendations/friends", server.url)).bearer_auth(token).json(&body).send().await.unwrap();
    (resp.status(), resp.json().await.unwrap_or(Value::Null))
}

async fn received(server: &TestServer, token: &str) -> RecommendationsReceived {
    let (status, body) = get(server, token, "/api/v1/me/recommended-by").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

async fn a_couple_recommends_their_photographer_to_friends_and_the_photographer_sees_each(db: &TestDb) {
    let server = TestServer::start(db).await;
    let platform = Platform::new(&server).await;
    let studio = photographer(&server, "hello@goldenhour.example", "Golden Hour").await;
    let other = photographer(&server, "me@plainframe.example", "Plain Frame").await;
    let couple = account(&server, "couple", "amy.ben@example.com", "Amy & Ben").await;
    // Amy & Ben booked Golden Hour through its code: it is among the suppliers they booked.
    let studio_code = code(&server, &studio).await;
    platform.signup(&server, "amy-ben", "Amy.Ben@example.com", Via::Code(&studio_code), "198.51.100.7", Utc::now()).await;
    platform.convert(&server, "amy-ben", Utc::now()).await;
    let booked = server.store.booked_suppliers("amy.ben@example.com").await.unwrap();
    assert_eq!(booked.iter().map(|b| b.business_name.as_deref().unwrap()).collect::<Vec<_>>(), ["Golden Hour"]);
    let found = server.store.find_suppliers(Some("golden"), Some("photographer"), 10).await.unwrap();
    assert_eq!(found.iter().map(|b| b.id).collect::<Vec<_>>(), [studio.account.id]);
    // A search's `%` is a character, not a wildcard.
    assert!(server.store.find_suppliers(Some("%"), None, 10).await.unwrap().is_empty());

    // Two friends (one typed twice, an empty box left): a referral each.
    let body = json!({"supplier_id": studio.account.id, "message": "They were wonderful", "friends": ["cara@example.com", " Dan@Example.com", "cara@example.com", ""]});
    let (status, sent) = to_friends(&server, &couple.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let sent: RecommendedToFriends = serde_json::from_value(sent).unwrap();
    assert_eq!(sent.referrals.len(), 2);
    assert!(!sent.emailed, "no relay here: links only");
    let [cara, dan] = &sent.referrals[..] else { unreachable!() };
    assert_ne!(cara.code, dan.code);
    for r in [cara, dan] {
        assert_eq!((r.referrer_id, r.referee_type, r.method), (couple.account.id, AccountKind::Supplier, ReferralMethod::Email));
        assert_eq!(r.message.as_deref(), Some("They were wonderful"));
    }

    // Mistakes are named and make nothing.
    for (body, want) in [
        (json!({"supplier_id": studio.account.id, "friends": ["amy.ben@example.com"]}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"supplier_id": studio.account.id, "friends": ["not an address"]}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"supplier_id": studio.account.id, "friends": []}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"supplier_id": studio.account.id, "friends": ["a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com", "f@x.com"]}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"supplier_id": couple.account.id, "friends": ["a@x.com"]}), StatusCode::NOT_FOUND),
    ] {
        let (status, error) = to_friends(&server, &couple.token, body).await;
        assert_eq!(status, want, "{error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{error}");
    }
    let (status, _) = to_friends(&server, &studio.token, json!({"supplier_id": other.account.id, "friends": ["a@x.com"]})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "suppliers do not recommend through a couple's form");
    assert_eq!(get(&server, &couple.token, "/api/v1/me/recommended-by").await.0, StatusCode::FORBIDDEN);

    // The photographer sees both, newest first, sent; the other photographer sees none.
    let list = received(&server, &studio.token).await;
    assert_eq!(list.items.len(), 2);
    assert!(list.items.iter().all(|i| i.couple_names == "Amy & Ben" && i.progress == RecommendationProgress::Sent), "{list:?}");
    assert!(received(&server, &other.token).await.items.is_empty(), "one supplier never sees another's");

    // Cara signs up through her link and books: her line moves on, Dan's stays sent, and
    // the couple earns by the couple rules (5% of £49.00).
    platform.signup(&server, "cara", "cara@example.com", Via::Code(cara.code.as_str()), "203.0.113.20", Utc::now()).await;
    let list = received(&server, &studio.token).await;
    let progress = |list: &RecommendationsReceived, code: &str| list.items.iter().find(|i| i.code == code).unwrap().progress;
    assert_eq!(progress(&list, cara.code.as_str()), RecommendationProgress::SignedUp);
    platform.convert(&server, "cara", Utc::now()).await;
    let list = received(&server, &studio.token).await;
    assert_eq!(progress(&list, cara.code.as_str()), RecommendationProgress::Booked);
    assert_eq!(progress(&list, dan.code.as_str()), RecommendationProgress::Sent);
    let made = server.store.recommendations_made(couple.account.id, 10).await.unwrap();
    assert_eq!(made.len(), 2, "the couple's page lists both");
    let resp = api().get(format!("{}/api/v1/me/rewards?limit=50", server.url)).bearer_auth(&couple.token).send().await.unwrap();
    let page: RewardsPage = serde_json::from_value(json_of(resp, StatusCode::OK).await).unwrap();
    let earned: Vec<_> = page.items.iter().filter(|i| i.role == RewardRole::Referrer).collect();
    assert_eq!(earned.iter().map(|e| (e.amount.amount_minor, e.referral_id)).collect::<Vec<_>>(), [(245, Some(cara.id))]);
}

on_both_backends!(
    couples_get_the_best_active_suppliers_scored_by_hand,
    bad_searches_and_the_wrong_callers_are_refused,
    acting_on_one_is_a_referral_that_converts_and_rewards_the_couple,
    a_couple_recommends_their_photographer_to_friends_and_the_photographer_sees_each
);
