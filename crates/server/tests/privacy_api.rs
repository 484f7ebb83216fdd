//! Personal data on request and by age (docs/privacy.md), on both databases: an account
//! exports everything it has and deletes itself; the platform erases one of its users;
//! old visits and leads are anonymised. What is deleted is looked for in every table
//! afterwards, and the books still balance.

mod common;

use bouquet_core::api::{SessionView, StatsView};
use bouquet_server::on_both_backends;
use chrono::{Duration, Utc};
use common::people::{Platform, Via, account, code, push_fair_and_code};
use common::{TestDb, TestServer, api, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A couple leaves their details on the supplier's landing page, as a phone would.
async fn leave_lead(server: &TestServer, code: &str, names: &str, email: &str) {
    let phone = reqwest::Client::builder()
        .user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Safari/604.1")
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = phone.get(format!("{}/r/{code}", server.url)).header("x-forwarded-for", "198.51.100.23").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let lead = phone
        .post(format!("{}/r/{code}", server.url))
        .header("x-forwarded-for", "198.51.100.23")
        .form(&[("couple_names", names), ("email", email), ("wedding_date", "2027-06-12")])
        .send()
        .await
        .unwrap();
    assert_eq!(lead.status(), StatusCode::SEE_OTHER);
}

async fn export(server: &TestServer, s: &SessionView) -> Value {
    let resp = api().get(format!("{}/api/v1/me/export", server.url)).bearer_auth(&s.token).send().await.unwrap();
    let disposition = resp.headers().get("content-disposition").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert!(disposition.starts_with("attachment; filename=\"bouquet-export-"), "{disposition}");
    json_of(resp, StatusCode::OK).await
}

fn strings(value: &Value) -> String {
    value.to_string()
}

async fn books_balance(server: &TestServer) {
    let audit = server.store.audit_ledger().await.unwrap();
    assert!(audit.is_clean(), "{audit:?}");
}

async fn an_account_exports_its_data_and_deletes_itself(db: &TestDb) {
    let server = TestServer::start(db).await;
    let flo = account(&server, "supplier", "florence.studio@example.com", "Petal & Stem").await;
    let code = code(&server, &flo).await;
    push_fair_and_code(&server, &flo, &Utc::now().date_naive().to_string()).await;
    leave_lead(&server, &code, "Hattie & Ivo", "hattie.ivo@example.com").await;
    let platform = Platform::new(&server).await;
    platform.signup(&server, "u-jo", "jo.kay@example.com", Via::Code(&code), "203.0.113.7", Utc::now()).await;
    platform.convert(&server, "u-jo", Utc::now()).await;
    let other = account(&server, "supplier", "gus@example.com", "Gus Cakes").await;

    // The export: every section, the account's own data in it, no secrets.
    let data = export(&server, &flo).await;
    assert_eq!(data["format"], "bouquet-account-export/1");
    assert_eq!(data["account"]["email"], "florence.studio@example.com");
    assert_eq!(data["account"]["business_name"], "Petal & Stem");
    assert!(data["referrals"].as_array().unwrap().iter().any(|r| r["code"] == code.as_str()));
    let lead = data["leads"].as_array().unwrap().iter().find(|l| l["email"] == "hattie.ivo@example.com").expect("the lead is exported");
    assert_eq!(lead["couple_names"], "Hattie & Ivo");
    assert_eq!(lead["code"], code.as_str());
    let fair = data["records"].as_array().unwrap().iter().find(|r| r["entity"] == "fair").expect("the app's fair is exported");
    assert_eq!(fair["fields"]["name"], "Spring Wedding Fair", "records' fields are JSON, not text");
    assert!(!data["rewards"].as_array().unwrap().is_empty(), "the referral reward");
    assert!(!data["ledger"].as_array().unwrap().is_empty());
    assert!(!data["balances"].as_array().unwrap().is_empty());
    assert!(!data["notifications"].as_array().unwrap().is_empty(), "the reward was announced");
    assert_eq!(data["devices"].as_array().unwrap().len(), 1);
    let text = strings(&data);
    for secret in ["password_hash", "token_hash", "$argon2", "bqd_"] {
        assert!(!text.contains(secret), "the export holds {secret}");
    }
    let others = strings(&export(&server, &other).await);
    assert!(!others.contains("florence.studio@example.com") && !others.contains("hattie.ivo") && !others.contains(&code), "another account's export is its own");

    // A mistyped confirmation deletes nothing.
    let wrong = api().delete(format!("{}/api/v1/me", server.url)).bearer_auth(&flo.token).json(&json!({"confirm_email": "gus@example.com"})).send().await.unwrap();
    let body = json_of(wrong, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["code"], "confirmation_mismatch");
    export(&server, &flo).await;

    let stats_before: StatsView = serde_json::from_value(json_of(api().get(format!("{}/api/v1/me/stats", server.url)).bearer_auth(&flo.token).send().await.unwrap(), StatusCode::OK).await).unwrap();
    let deleted = api().delete(format!("{}/api/v1/me", server.url)).bearer_auth(&flo.token).json(&json!({"confirm_email": " Florence.Studio@Example.com "})).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    // Signed out everywhere, unable to sign in, its codes stop working.
    let me = api().get(format!("{}/api/v1/me/stats", server.url)).bearer_auth(&flo.token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let sign_in = api().post(format!("{}/api/v1/sessions", server.url)).json(&json!({"email": "florence.studio@example.com", "password": "correct horse battery"})).send().await.unwrap();
    assert_eq!(sign_in.status(), StatusCode::UNAUTHORIZED);
    let page = reqwest::get(format!("{}/r/{code}", server.url)).await.unwrap();
    assert_eq!(page.status(), StatusCode::GONE);
    // Its personal data is in no table; the couple's lead it held went with it.
    // Also the address's local part alone: the fraud rules' sentences quote addresses cut
    // at the @ ("florence.studio@…").
    for gone in ["florence.studio", "Petal & Stem", "Hattie & Ivo", "hattie.ivo", "Spring Wedding Fair", "Town Hall"] {
        assert_eq!(db.tables_containing(gone).await, Vec::<String>::new(), "{gone} is still stored");
    }
    // The figures stay: the referral and its conversion, the reward, balanced books.
    let account_id = flo.account.id;
    let referrals = server.store.list_referrals(account_id, None, 10).await.unwrap();
    assert_eq!(referrals.len() as i64, stats_before.total_referrals);
    assert!(referrals.iter().any(|r| r.view.converted_at.is_some()));
    assert!(!server.store.rewards_of(account_id, None, 10).await.unwrap().is_empty());
    books_balance(&server).await;
    // Deleting again is not possible: the account is gone.
    let again = api().delete(format!("{}/api/v1/me", server.url)).bearer_auth(&flo.token).json(&json!({"confirm_email": "florence.studio@example.com"})).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    // The address is free to sign up again, as a new account.
    let fresh = account(&server, "supplier", "florence.studio@example.com", "Petal & Stem Again").await;
    assert_ne!(fresh.account.id, account_id);
    assert!(export(&server, &fresh).await["referrals"].as_array().unwrap().is_empty());
    server.stop().await;
}

async fn the_platform_erases_one_of_its_users(db: &TestDb) {
    let server = TestServer::start(db).await;
    let flo = account(&server, "supplier", "florence.studio@example.com", "Petal & Stem").await;
    let code = code(&server, &flo).await;
    leave_lead(&server, &code, "Erin & Finn", "erin.finn@example.com").await;
    let platform = Platform::new(&server).await;
    platform.signup(&server, "u-erin", "erin.finn@example.com", Via::Code(&code), "203.0.113.44", Utc::now()).await;
    platform.convert(&server, "u-erin", Utc::now()).await;
    assert!(!db.tables_containing("erin.finn@example.com").await.is_empty());

    let erase = |key: Option<String>| {
        let mut request = api().delete(format!("{}/api/v1/platform/users/u-erin", server.url));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    assert_eq!(erase(None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(erase(Some(flo.token.clone())).await.unwrap().status(), StatusCode::UNAUTHORIZED, "a device token is not the platform's key");
    assert_eq!(erase(Some(platform.key.clone())).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(erase(Some(platform.key.clone())).await.unwrap().status(), StatusCode::NO_CONTENT, "erasing twice is answered alike");

    for gone in ["erin.finn", "Erin & Finn"] {
        assert_eq!(db.tables_containing(gone).await, Vec::<String>::new(), "{gone} is still stored");
    }
    // The supplier keeps the referral's success and its reward; the books balance.
    let stats: StatsView = serde_json::from_value(json_of(api().get(format!("{}/api/v1/me/stats", server.url)).bearer_auth(&flo.token).send().await.unwrap(), StatusCode::OK).await).unwrap();
    assert_eq!(stats.successful_referrals, 1);
    assert!(!server.store.rewards_of(flo.account.id, None, 10).await.unwrap().is_empty());
    books_balance(&server).await;
    // A retried event for the erased user is still answered from its stored outcome.
    let replay = platform.convert(&server, "u-erin", Utc::now()).await;
    assert_eq!(serde_json::to_value(replay.status).unwrap(), "duplicate");
    server.stop().await;
}

async fn old_visits_and_leads_are_anonymised(db: &TestDb) {
    let server = TestServer::start(db).await;
    let flo = account(&server, "supplier", "florence.studio@example.com", "Petal & Stem").await;
    let code = code(&server, &flo).await;
    leave_lead(&server, &code, "Olive & Otto", "olive.otto@example.com").await;
    let retention = bouquet_server::service::privacy::Retention::default();
    let stats = || async {
        let stats: StatsView = serde_json::from_value(json_of(api().get(format!("{}/api/v1/me/stats", server.url)).bearer_auth(&flo.token).send().await.unwrap(), StatusCode::OK).await).unwrap();
        (stats.unique_visits, stats.leads)
    };
    let figures = stats().await;
    assert_eq!(figures.1, 1);

    // Within the retention nothing changes.
    let today = bouquet_server::service::privacy::apply_retention(&server.store, retention, Utc::now()).await.unwrap();
    assert_eq!(today, (0, 0));
    assert!(!db.tables_containing("olive.otto@example.com").await.is_empty());

    // Past it, the visit's fingerprint and the lead's names and email go; counts stay.
    let later = Utc::now() + Duration::days(retention.touch_days.max(retention.lead_days) + 1);
    let (touches, leads) = bouquet_server::service::privacy::apply_retention(&server.store, retention, later).await.unwrap();
    assert!(touches >= 1, "the visit and the lead's touch");
    assert_eq!(leads, 1);
    assert_eq!(db.tables_containing("olive.otto@example.com").await, Vec::<String>::new());
    assert_eq!(db.tables_containing("Olive & Otto").await, Vec::<String>::new());
    assert_eq!(stats().await, figures, "the referral's figures stay");
    // Done once: a second round finds nothing left.
    assert_eq!(bouquet_server::service::privacy::apply_retention(&server.store, retention, later).await.unwrap(), (0, 0));
    server.stop().await;
}

on_both_backends!(
    an_account_exports_its_data_and_deletes_itself,
    the_platform_erases_one_of_its_users,
    old_visits_and_leads_are_anonymised,
);
