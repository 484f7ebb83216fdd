//! Campaigns over real HTTP on SQLite and PostgreSQL: operators create and pause them,
//! suppliers see what is open to them, conversions under a campaign get its multiplier and
//! bonus (the larger of overlapping ones), the budget cap is hard — also under concurrent
//! conversions — and refunds give budget back.

mod common;
use bouquet_server::on_both_backends;

use std::sync::Arc;

use bouquet_core::api::{ActiveCampaign, CampaignView, EventOutcome, SessionView};
use bouquet_core::campaigns::CampaignStatus;
use bouquet_core::rewards::RewardRole;
use bouquet_server::store::Store;
use chrono::{Duration, Utc};
use common::{TestDb, TestServer, api, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn session(server: &TestServer, email: &str) -> SessionView {
    let resp = api().post(format!("{}/api/v1/sessions", server.url)).json(&json!({"email": email, "password": "correct horse battery"})).send().await.unwrap();
    serde_json::from_value(json_of(resp, StatusCode::CREATED).await).unwrap()
}

async fn supplier(server: &TestServer, email: &str, trade: &str) -> SessionView {
    let body = json!({"kind": "supplier", "email": email, "password": "correct horse battery", "business_name": email, "vendor_type": trade, "location": "Bath, UK"});
    json_of(api().post(format!("{}/api/v1/accounts", server.url)).json(&body).send().await.unwrap(), StatusCode::CREATED).await;
    session(server, email).await
}

async fn operator(server: &TestServer) -> SessionView {
    bouquet_server::service::accounts::create_admin(&server.store, "ops@example.com", "correct horse battery".into()).await.unwrap();
    session(server, "ops@example.com").await
}

async fn create_campaign(server: &TestServer, token: &str, body: Value) -> reqwest::Response {
    api().post(format!("{}/api/v1/admin/campaigns", server.url)).bearer_auth(token).json(&body).send().await.unwrap()
}

async fn referral(server: &TestServer, s: &SessionView, extra: Value) -> String {
    let mut body = json!({"method": "link"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let resp = api().post(format!("{}/api/v1/referrals", server.url)).bearer_auth(&s.token).json(&body).send().await.unwrap();
    json_of(resp, StatusCode::CREATED).await["code"].as_str().unwrap().to_string()
}

async fn convert(server: &TestServer, key: &str, user: &str, code: &str) -> EventOutcome {
    let event = json!({"idempotency_key": format!("convert-{user}"), "type": "convert", "occurred_at": Utc::now(),
        "user": {"id": user, "kind": "couple"}, "code": code, "plan": "starter", "value": {"amount_minor": 2900, "currency": "GBP"}});
    let resp = api().post(format!("{}/api/v1/events", server.url)).bearer_auth(key).json(&event).send().await.unwrap();
    serde_json::from_value(json_of(resp, StatusCode::OK).await).unwrap()
}

fn referrer_reward(outcome: &EventOutcome) -> (i64, String) {
    let r = outcome.rewards.iter().find(|r| r.role == RewardRole::Referrer).expect("a referrer reward");
    (r.amount.amount_minor, r.reason.clone())
}

async fn campaign(server: &TestServer, ops: &SessionView, id: &str) -> CampaignView {
    let resp = api().get(format!("{}/api/v1/admin/campaigns/{id}", server.url)).bearer_auth(&ops.token).send().await.unwrap();
    serde_json::from_value(json_of(resp, StatusCode::OK).await).unwrap()
}

async fn books_balance(store: &Arc<dyn Store>) {
    let audit = store.audit_ledger().await.unwrap();
    assert!(audit.is_clean(), "{audit:?}");
}

async fn a_targeted_campaign_pays_its_multiplier_within_a_hard_budget(db: &TestDb) {
    let server = TestServer::start(db).await;
    let ops = operator(&server).await;
    let flo = supplier(&server, "flo@example.com", "florist").await;
    let photo = supplier(&server, "photo@example.com", "photographer").await;
    let key = bouquet_server::service::accounts::create_api_key(&server.store, "wedsync").await.unwrap();
    let now = Utc::now();
    let body = json!({"name": "Florists' spring push", "kind": "targeted", "vendor_type": "florist",
        "starts_at": now - Duration::hours(1), "ends_at": now + Duration::days(30), "multiplier_bp": 20000,
        "bonus": {"amount_minor": 500, "currency": "CRD"}, "budget": {"amount_minor": 10000, "currency": "CRD"},
        "referee_incentive": {"amount_minor": 1500, "currency": "GBP"}, "referee_incentive_text": "£15 off",
        "target_referrals": 10, "target_conversions": 5, "landing_headline": "Spring blooms"});
    json_of(create_campaign(&server, &flo.token, body.clone()).await, StatusCode::FORBIDDEN).await;
    let created: CampaignView = serde_json::from_value(json_of(create_campaign(&server, &ops.token, body).await, StatusCode::CREATED).await).unwrap();
    assert_eq!(created.status, CampaignStatus::Active);
    let id = created.id.to_string();
    let bad = json!({"name": "x", "kind": "targeted", "starts_at": now, "ends_at": now - Duration::days(1), "budget": {"amount_minor": 1, "currency": "CRD"}});
    json_of(create_campaign(&server, &ops.token, bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;

    // Open to the florist, not to the photographer.
    let open: Vec<ActiveCampaign> = serde_json::from_value(json_of(api().get(format!("{}/api/v1/campaigns/active", server.url)).bearer_auth(&flo.token).send().await.unwrap(), StatusCode::OK).await).unwrap();
    assert_eq!(open.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["Florists' spring push"]);
    let closed: Vec<ActiveCampaign> = serde_json::from_value(json_of(api().get(format!("{}/api/v1/campaigns/active", server.url)).bearer_auth(&photo.token).send().await.unwrap(), StatusCode::OK).await).unwrap();
    assert!(closed.is_empty());
    let resp = api().post(format!("{}/api/v1/referrals", server.url)).bearer_auth(&photo.token).json(&json!({"method": "link", "campaign_id": id})).send().await.unwrap();
    assert_eq!(json_of(resp, StatusCode::UNPROCESSABLE_ENTITY).await["code"], "campaign_not_open");

    let code = referral(&server, &flo, json!({"campaign_id": id})).await;
    // The couple's page shows the campaign's headline and its offer while it runs.
    let page = |code: String| {
        let url = format!("{}/r/{code}", server.url);
        async move { api().get(url).header("user-agent", "Mozilla/5.0 (iPhone) Mobile Safari").send().await.unwrap().text().await.unwrap() }
    };
    let html = page(code.clone()).await;
    assert!(html.contains("Spring blooms") && html.contains("£15 off"), "{html}");
    // Starter 10.00 × 1.5 (new referrer) = 15.00; the campaign: × 2 + 5.00 = 35.00.
    let first = convert(&server, &key, "c1", &code).await;
    let (amount, reason) = referrer_reward(&first);
    assert_eq!(amount, 3500, "{reason}");
    assert!(reason.contains("Florists' spring push") && reason.contains("× 2") && reason.contains("5.00 bonus"), "{reason}");
    let referee = first.rewards.iter().find(|r| r.role == RewardRole::Referee).unwrap();
    assert_eq!((referee.amount.amount_minor, referee.amount.currency.as_str()), (1500, "GBP"), "the campaign's offer to the referee");
    assert_eq!(referrer_reward(&convert(&server, &key, "c2", &code).await).0, 3500);
    // 70.00 spent of 100.00: a third 35.00 would pass the cap → the standing 15.00, never a part.
    let (amount, reason) = referrer_reward(&convert(&server, &key, "c3", &code).await);
    assert_eq!(amount, 1500, "{reason}");
    assert!(reason.contains("spent its budget"), "{reason}");
    let view = campaign(&server, &ops, &id).await;
    assert_eq!((view.spent.amount_minor, view.conversions, view.referrals, view.status), (7000, 2, 1, CampaignStatus::Exhausted));
    // A refund gives its 35.00 back, and the next conversion uses it.
    let refund = json!({"idempotency_key": "refund-c1", "type": "refund", "occurred_at": Utc::now(), "user": {"id": "c1", "kind": "couple"}});
    json_of(api().post(format!("{}/api/v1/events", server.url)).bearer_auth(&key).json(&refund).send().await.unwrap(), StatusCode::OK).await;
    let view = campaign(&server, &ops, &id).await;
    assert_eq!((view.spent.amount_minor, view.conversions, view.status), (3500, 1, CampaignStatus::Active));
    // Third success again (c1 no longer counts): 10.00 × 1.5 × 2 + 5.00 = 35.00.
    assert_eq!(referrer_reward(&convert(&server, &key, "c4", &code).await).0, 3500);
    assert_eq!(campaign(&server, &ops, &id).await.spent.amount_minor, 7000);

    // Paused: nothing more under it, not offered.
    let resp = api().patch(format!("{}/api/v1/admin/campaigns/{id}", server.url)).bearer_auth(&ops.token).json(&json!({"action": "pause"})).send().await.unwrap();
    assert_eq!(json_of(resp, StatusCode::OK).await["status"], "paused");
    assert!(!page(code.clone()).await.contains("Spring blooms"), "a paused campaign's headline is gone");
    let (amount, _) = referrer_reward(&convert(&server, &key, "c5", &code).await);
    assert_eq!(amount, 1000, "a paused campaign pays nothing extra (4th success: no new-referrer bonus)");
    let resp = api().patch(format!("{}/api/v1/admin/campaigns/{id}", server.url)).bearer_auth(&ops.token).json(&json!({"budget": {"amount_minor": 100, "currency": "CRD"}})).send().await.unwrap();
    json_of(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    books_balance(&server.store).await;
}

async fn seasonal_campaigns_cover_their_audience_and_do_not_stack(db: &TestDb) {
    let server = TestServer::start(db).await;
    let ops = operator(&server).await;
    let flo = supplier(&server, "flo@example.com", "florist").await;
    let key = bouquet_server::service::accounts::create_api_key(&server.store, "wedsync").await.unwrap();
    let now = Utc::now();
    for (name, audience, bp) in [("Urgent", "urgent_bookings", 15000), ("Everyone", "everyone", 13000)] {
        let body = json!({"name": name, "kind": "seasonal", "audience": audience, "starts_at": now - Duration::days(1),
            "ends_at": now + Duration::days(10), "multiplier_bp": bp, "budget": {"amount_minor": 100000, "currency": "CRD"}});
        json_of(create_campaign(&server, &ops.token, body).await, StatusCode::CREATED).await;
    }
    let soon = (now + Duration::days(30)).date_naive();
    let later = (now + Duration::days(300)).date_naive();
    let urgent = referral(&server, &flo, json!({"wedding_date": soon})).await;
    let relaxed = referral(&server, &flo, json!({"wedding_date": later})).await;
    // Each seasonal campaign counts the referrals made in its window that its audience takes.
    let list = json_of(api().get(format!("{}/api/v1/admin/campaigns", server.url)).bearer_auth(&ops.token).send().await.unwrap(), StatusCode::OK).await;
    let referrals_of = |name: &str| list["items"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["referrals"].as_i64().unwrap();
    assert_eq!((referrals_of("Urgent"), referrals_of("Everyone")), (1, 2));
    // A wedding in 30 days: both cover it; ×1.5 beats ×1.3 and they do not stack.
    let (amount, reason) = referrer_reward(&convert(&server, &key, "u1", &urgent).await);
    assert_eq!(amount, 2250, "15.00 × 1.5: {reason}");
    assert!(reason.contains("\"Urgent\"") && reason.contains("larger of 2 overlapping"), "{reason}");
    // A wedding in 300 days: only "Everyone".
    let (amount, reason) = referrer_reward(&convert(&server, &key, "u2", &relaxed).await);
    assert_eq!(amount, 1950, "15.00 × 1.3: {reason}");
    assert!(reason.contains("\"Everyone\""), "{reason}");
    books_balance(&server.store).await;
}

async fn time_starts_and_ends_campaigns(db: &TestDb) {
    let server = TestServer::start(db).await;
    let ops = operator(&server).await;
    let now = Utc::now();
    let body = json!({"name": "Next week", "kind": "targeted", "starts_at": now + Duration::days(7), "ends_at": now + Duration::days(14),
        "budget": {"amount_minor": 1000, "currency": "CRD"}});
    let created: CampaignView = serde_json::from_value(json_of(create_campaign(&server, &ops.token, body).await, StatusCode::CREATED).await).unwrap();
    assert_eq!(created.status, CampaignStatus::Scheduled);
    let id = created.id.to_string();
    server.store.advance_campaigns(now + Duration::days(7) - Duration::seconds(1)).await.unwrap();
    assert_eq!(campaign(&server, &ops, &id).await.status, CampaignStatus::Scheduled);
    server.store.advance_campaigns(now + Duration::days(7)).await.unwrap();
    assert_eq!(campaign(&server, &ops, &id).await.status, CampaignStatus::Active);
    server.store.advance_campaigns(now + Duration::days(14)).await.unwrap();
    assert_eq!(campaign(&server, &ops, &id).await.status, CampaignStatus::Ended);
    let resp = api().patch(format!("{}/api/v1/admin/campaigns/{id}", server.url)).bearer_auth(&ops.token).json(&json!({"action": "resume"})).send().await.unwrap();
    json_of(resp, StatusCode::CONFLICT).await;
    // The seed's calendar, once, whatever the day.
    let added = bouquet_server::service::campaigns::seed_calendar(&server.store, now).await.unwrap();
    assert!(added >= 6, "{added}");
    // An operator renames a seeded season: a later start seeds nothing again.
    let seeded = server.store.campaigns(100).await.unwrap();
    let new_year = seeded.iter().find(|c| c.name == "New Year Planning Rush").expect("seeded");
    let resp = api().patch(format!("{}/api/v1/admin/campaigns/{}", server.url, new_year.id)).bearer_auth(&ops.token)
        .json(&json!({"name": "New Year rush (UK)"})).send().await.unwrap();
    json_of(resp, StatusCode::OK).await;
    assert_eq!(bouquet_server::service::campaigns::seed_calendar(&server.store, now).await.unwrap(), 0);
    let again = server.store.campaigns(100).await.unwrap();
    assert_eq!(again.len(), seeded.len());
    let named = |list: &[bouquet_server::store::CampaignRow]| list.iter().filter(|c| c.name == "New Year Planning Rush").count();
    assert_eq!(named(&again), named(&seeded) - 1, "the renamed season is not seeded twice");
}

async fn the_cap_holds_under_concurrent_conversions(db: &TestDb) {
    let server = TestServer::start(db).await;
    let ops = operator(&server).await;
    let flo = supplier(&server, "flo@example.com", "florist").await;
    let key = bouquet_server::service::accounts::create_api_key(&server.store, "wedsync").await.unwrap();
    let now = Utc::now();
    // Each grant is 15.00 × 2 = 30.00 for the first three, then 20.00: a 200.00 budget
    // covers about a third of 24 conversions.
    let body = json!({"name": "Race", "kind": "targeted", "starts_at": now - Duration::hours(1), "ends_at": now + Duration::days(1),
        "multiplier_bp": 20000, "budget": {"amount_minor": 20000, "currency": "CRD"}});
    let created: CampaignView = serde_json::from_value(json_of(create_campaign(&server, &ops.token, body).await, StatusCode::CREATED).await).unwrap();
    let code = referral(&server, &flo, json!({"campaign_id": created.id})).await;
    let mut racing = Vec::new();
    for i in 0..24 {
        let (url, key, code) = (server.url.clone(), key.clone(), code.clone());
        racing.push(tokio::spawn(async move {
            let event = json!({"idempotency_key": format!("race-{i}"), "type": "convert", "occurred_at": Utc::now(),
                "user": {"id": format!("racer-{i}"), "kind": "couple"}, "code": code, "plan": "starter"});
            let resp = api().post(format!("{url}/api/v1/events")).bearer_auth(key).json(&event).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.json::<EventOutcome>().await.unwrap()
        }));
    }
    let mut under_campaign = 0;
    let mut granted = 0;
    for r in racing {
        let outcome = r.await.unwrap();
        let (amount, reason) = referrer_reward(&outcome);
        if reason.contains("campaign \"Race\" ×") {
            under_campaign += amount;
            granted += 1;
        }
    }
    let view = campaign(&server, &ops, &created.id.to_string()).await;
    assert!(view.spent.amount_minor <= 20000, "never past the cap: {}", view.spent.amount_minor);
    assert_eq!(view.spent.amount_minor, under_campaign, "spend is exactly what was granted under it");
    assert_eq!(view.conversions, granted);
    assert!(granted >= 6 && granted < 24, "{granted}");
    let rewards = server.store.rewards_of(flo.account.id, None, 100).await.unwrap();
    assert_eq!(rewards.iter().filter(|r| r.role == RewardRole::Referrer).count(), 24, "every conversion rewarded once");
    books_balance(&server.store).await;
}

/// A conversion reads a campaign's budget early and charges it as its last write, just
/// before commit (the row every conversion under the campaign charges stays locked for the
/// commit alone). On PostgreSQL another writer can spend the rest in between: the charge
/// then finds no room, nothing of that try is kept, and the conversion runs again and pays
/// the standing reward. Never a credit past the cap, never a conversion lost or doubled.
#[tokio::test]
async fn a_budget_spent_while_a_conversion_ran_pays_the_standing_reward() {
    use sqlx::Connection;
    let Some(db) = TestDb::postgres().await else { return };
    let server = TestServer::start(&db).await;
    let ops = operator(&server).await;
    let flo = supplier(&server, "flo@example.com", "florist").await;
    let key = bouquet_server::service::accounts::create_api_key(&server.store, "wedsync").await.unwrap();
    let now = Utc::now();
    let body = json!({"name": "Last credits", "kind": "targeted", "starts_at": now - Duration::hours(1), "ends_at": now + Duration::days(1),
        "multiplier_bp": 20000, "budget": {"amount_minor": 20000, "currency": "CRD"}});
    let created: CampaignView = serde_json::from_value(json_of(create_campaign(&server, &ops.token, body).await, StatusCode::CREATED).await).unwrap();
    let code = referral(&server, &flo, json!({"campaign_id": created.id})).await;

    // Another writer spends the whole budget and keeps its transaction open.
    let mut other = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query("UPDATE campaigns SET spent_minor = budget_minor WHERE id = $1").bind(created.id).execute(&mut other).await.unwrap();
    // The conversion reads the budget as committed (room for it) and waits on the
    // campaign's row when it charges it, at its end.
    let (url, key_for_race, code_for_race) = (server.url.clone(), key.clone(), code.clone());
    let racing = tokio::spawn(async move {
        let event = json!({"idempotency_key": "convert-late", "type": "convert", "occurred_at": Utc::now(),
            "user": {"id": "late", "kind": "couple"}, "code": code_for_race, "plan": "starter"});
        let resp = api().post(format!("{url}/api/v1/events")).bearer_auth(key_for_race).json(&event).send().await.unwrap();
        serde_json::from_value::<EventOutcome>(json_of(resp, StatusCode::OK).await).unwrap()
    });
    // Watched from outside the open transaction (inside it, PostgreSQL's activity view
    // keeps the snapshot of its first read).
    let mut watcher = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut waiting = Vec::new();
    for _ in 0..200 {
        waiting = sqlx::query_scalar("SELECT query FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
            .fetch_all(&mut watcher)
            .await
            .unwrap();
        if !waiting.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let waiting: Vec<String> = waiting;
    assert!(waiting.len() == 1 && waiting[0].trim_start().starts_with("UPDATE campaigns"), "the conversion waits on the campaign's charge: {waiting:?}");
    // ...as its last write: its reward and ledger entries are written already.
    let written: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
         JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.datname = current_database() AND a.wait_event_type = 'Lock' AND l.mode = 'RowExclusiveLock'",
    )
    .fetch_all(&mut watcher)
    .await
    .unwrap();
    assert!(["rewards", "ledger_entries", "events"].iter().all(|t| written.iter().any(|w| w == t)), "{written:?}");
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();

    let outcome = racing.await.unwrap();
    let (amount, reason) = referrer_reward(&outcome);
    assert!(reason.contains("campaign \"Last credits\" has spent its budget, so the standing reward applies"), "{reason}");
    assert_eq!(amount, 1500, "the standing reward for a first starter conversion: {reason}");
    let view = campaign(&server, &ops, &created.id.to_string()).await;
    assert_eq!((view.spent.amount_minor, view.conversions), (20000, 0), "nothing charged past the cap");
    assert_eq!(view.status, CampaignStatus::Exhausted, "{view:?}");
    let rewards = server.store.rewards_of(flo.account.id, None, 100).await.unwrap();
    assert_eq!(rewards.iter().filter(|r| r.role == RewardRole::Referrer).count(), 1, "one reward: the first try left nothing");
    books_balance(&server.store).await;
    server.stop().await;
}

async fn experiments_assign_stably_and_declare_a_winner_only_when_the_numbers_say_so(db: &TestDb) {
    let server = TestServer::start(db).await;
    let ops = operator(&server).await;
    let key = bouquet_server::service::accounts::create_api_key(&server.store, "wedsync").await.unwrap();
    let now = Utc::now();
    let body = json!({"name": "Incentive test", "kind": "targeted", "starts_at": now - Duration::hours(1), "ends_at": now + Duration::days(30),
        "budget": {"amount_minor": 10_000_000, "currency": "CRD"}});
    let created: CampaignView = serde_json::from_value(json_of(create_campaign(&server, &ops.token, body).await, StatusCode::CREATED).await).unwrap();
    let test = json!({"name": "Double or not", "subject": "referrer_incentive", "variants": [
        {"name": "control", "weight": 50, "multiplier_bp": 10000}, {"name": "double", "weight": 50, "multiplier_bp": 20000}]});
    let url = format!("{}/api/v1/admin/campaigns/{}/experiments", server.url, created.id);
    let bad = json!({"name": "One", "subject": "referrer_incentive", "variants": [{"name": "only", "weight": 1, "multiplier_bp": 10000}]});
    json_of(api().post(&url).bearer_auth(&ops.token).json(&bad).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    let view = json_of(api().post(&url).bearer_auth(&ops.token).json(&test).send().await.unwrap(), StatusCode::CREATED).await;
    let experiment_id: uuid::Uuid = serde_json::from_value(view["id"].clone()).unwrap();
    json_of(api().post(&url).bearer_auth(&ops.token).json(&test).send().await.unwrap(), StatusCode::CONFLICT).await;

    // Suppliers until both variants have one; each referrer keeps the variant the hash gives.
    let mut by_variant: [Option<SessionView>; 2] = [None, None];
    for n in 0..40 {
        let s = supplier(&server, &format!("s{n}@example.com"), "florist").await;
        let v = bouquet_core::experiments::assign(experiment_id, s.account.id, &[50, 50]).unwrap();
        if by_variant[v].is_none() {
            by_variant[v] = Some(s);
        }
        if by_variant.iter().all(Option::is_some) {
            break;
        }
    }
    let [Some(control), Some(double)] = by_variant else { panic!("40 accounts never covered both variants") };
    let mut codes: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for (i, s) in [&control, &double].into_iter().enumerate() {
        for _ in 0..110 {
            codes[i].push(referral(&server, s, json!({"campaign_id": created.id})).await);
        }
    }
    // The variant's values are what the referrals use: 15.00 × 1 vs × 2.
    let (amount, reason) = referrer_reward(&convert(&server, &key, "ctl-0", &codes[0][0]).await);
    assert_eq!(amount, 1500, "{reason}");
    let (amount, reason) = referrer_reward(&convert(&server, &key, "dbl-0", &codes[1][0]).await);
    assert_eq!(amount, 3000, "{reason}");
    assert!(reason.contains("Incentive test — double"), "{reason}");
    let results = |server_url: String| {
        let token = ops.token.clone();
        async move {
            let resp = api().get(format!("{server_url}/api/v1/admin/experiments/{experiment_id}")).bearer_auth(token).send().await.unwrap();
            json_of(resp, StatusCode::OK).await
        }
    };
    let early = results(server.url.clone()).await;
    assert_eq!(early["variants"][0]["referrals"], 110);
    assert_eq!(early["variants"][1]["conversions"], 1);
    assert_eq!(early["variants"][1]["verdict"]["verdict"], "sample_too_small");
    let resp = api().post(format!("{}/api/v1/admin/experiments/{experiment_id}/apply", server.url)).bearer_auth(&ops.token).send().await.unwrap();
    assert!(json_of(resp, StatusCode::CONFLICT).await["message"].as_str().unwrap().contains("no variant has won yet"));

    // 11/110 vs 40/110 converts: a clear winner.
    for i in 1..11 {
        convert(&server, &key, &format!("ctl-{i}"), &codes[0][i]).await;
    }
    for i in 1..40 {
        convert(&server, &key, &format!("dbl-{i}"), &codes[1][i]).await;
    }
    let decided = results(server.url.clone()).await;
    assert_eq!((decided["variants"][0]["conversions"].as_i64(), decided["variants"][1]["conversions"].as_i64()), (Some(11), Some(40)));
    assert_eq!(decided["variants"][1]["verdict"]["verdict"], "winner", "{decided}");
    assert_eq!(decided["winner"], 1);
    assert!(decided["variants"][1]["comparison"]["p_value"].as_f64().unwrap() < 0.001);
    // The same results from a restarted server: assignment does not depend on the process.
    server.stop().await;
    let server = TestServer::start(db).await;
    assert_eq!(results(server.url.clone()).await, decided);
    let resp = api().post(format!("{}/api/v1/admin/experiments/{experiment_id}/apply", server.url)).bearer_auth(&ops.token).send().await.unwrap();
    assert_eq!(json_of(resp, StatusCode::OK).await["status"], "applied");
    assert_eq!(campaign(&server, &ops, &created.id.to_string()).await.multiplier_bp, 20000, "the winner's values are the campaign's");
    books_balance(&server.store).await;
}

async fn a_tier_targeted_campaign_opens_when_the_referrer_reaches_the_tier(db: &TestDb) {
    let server = TestServer::start(db).await;
    let ops = operator(&server).await;
    let flo = supplier(&server, "flo@example.com", "florist").await;
    let key = bouquet_server::service::accounts::create_api_key(&server.store, "wedsync").await.unwrap();
    let now = Utc::now();
    let body = json!({"name": "Silver club", "kind": "milestone", "referrer_kind": "supplier", "min_tier": "silver",
        "starts_at": now - Duration::hours(1), "ends_at": now + Duration::days(30), "bonus": {"amount_minor": 1000, "currency": "CRD"},
        "budget": {"amount_minor": 100000, "currency": "CRD"}});
    let created: CampaignView = serde_json::from_value(json_of(create_campaign(&server, &ops.token, body).await, StatusCode::CREATED).await).unwrap();
    let wrong = json!({"name": "Mixed", "kind": "milestone", "referrer_kind": "couple", "min_tier": "silver", "starts_at": now, "ends_at": now + Duration::days(1),
        "budget": {"amount_minor": 1, "currency": "CRD"}});
    json_of(create_campaign(&server, &ops.token, wrong).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let active = |token: String| {
        let url = format!("{}/api/v1/campaigns/active", server.url);
        async move { api().get(url).bearer_auth(token).send().await.unwrap().json::<Vec<ActiveCampaign>>().await.unwrap() }
    };
    assert!(active(flo.token.clone()).await.is_empty(), "not silver yet");
    let resp = api().post(format!("{}/api/v1/referrals", server.url)).bearer_auth(&flo.token).json(&json!({"method": "link", "campaign_id": created.id})).send().await.unwrap();
    assert_eq!(json_of(resp, StatusCode::UNPROCESSABLE_ENTITY).await["code"], "campaign_not_open");
    let plain = referral(&server, &flo, json!({})).await;
    for i in 0..3 {
        convert(&server, &key, &format!("t{i}"), &plain).await;
    }
    assert_eq!(active(flo.token.clone()).await.len(), 1, "silver now");
    let code = referral(&server, &flo, json!({"campaign_id": created.id})).await;
    // Fourth success: 10.00 standing + 10.00 bonus.
    let (amount, reason) = referrer_reward(&convert(&server, &key, "t3", &code).await);
    assert_eq!(amount, 2000, "{reason}");
    assert!(reason.contains("Silver club"), "{reason}");
    books_balance(&server.store).await;
}

on_both_backends!(
    a_tier_targeted_campaign_opens_when_the_referrer_reaches_the_tier,
    experiments_assign_stably_and_declare_a_winner_only_when_the_numbers_say_so,
    a_targeted_campaign_pays_its_multiplier_within_a_hard_budget,
    seasonal_campaigns_cover_their_audience_and_do_not_stack,
    time_starts_and_ends_campaigns,
    the_cap_holds_under_concurrent_conversions,
);
