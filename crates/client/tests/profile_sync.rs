//! The supplier's profile for couples' recommendations (docs/metrics.md): edited offline
//! in the app, refused whole when wrong, synced to the server — where couples'
//! recommendations score it — and to the supplier's other devices. Against a real server
//! on each backend.

mod sync_support;

use bouquet_client::store::profile::ProfileInput;
use bouquet_core::recommend::RecommendationList;
use bouquet_server::on_both_backends;
use bouquet_server::testing::{TestDb, TestServer};
use chrono::NaiveDate;
use serde_json::json;
use sync_support::{Device, PASSWORD, supplier};

fn input(location: &str, styles: &str, lo: Option<i64>, hi: Option<i64>, dates: &str) -> ProfileInput {
    ProfileInput { location: Some(location.into()), styles: Some(styles.into()), budget_min_minor: lo, budget_max_minor: hi, booked_dates: Some(dates.into()) }
}

/// A couple signs up and asks for photographers in Bath on 19 June 2027.
async fn couple_asks(server: &TestServer) -> RecommendationList {
    let http = reqwest::Client::new();
    let body = json!({"kind": "couple", "email": "amy.ben@example.com", "password": PASSWORD, "couple_names": "Amy & Ben"});
    let _ = http.post(format!("{}/api/v1/accounts", server.url)).json(&body).send().await.unwrap();
    let session: serde_json::Value = http
        .post(format!("{}/api/v1/sessions", server.url))
        .json(&json!({"email": "amy.ben@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{}/api/v1/recommendations?vendor_type=photographer&wedding_date=2027-06-19&location=Bath&style=rustic", server.url);
    let response = http.get(url).bearer_auth(session["token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn a_profile_edited_offline_reaches_the_server_and_the_other_devices(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let laptop = Device::signed_in(&server, "studio@example.com").await;
    let tablet = Device::signed_in(&server, "studio@example.com").await;
    assert_eq!(laptop.store.profile().unwrap(), Default::default(), "empty before it is filled in");

    // Wrong input is refused whole: nothing is saved, nothing queued.
    for (bad, needle) in [
        (input("Bath", "rustic", None, None, "2027-02-30"), "not a date"),
        (input("Bath", "rustic", Some(250_000), Some(150_000), ""), "swap them"),
        (input("Bath", "rustic", Some(-1), None, ""), "negative"),
    ] {
        let err = laptop.store.save_profile(bad).unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
    }
    assert_eq!(laptop.store.profile().unwrap(), Default::default());

    // Saved with no network (the server is not asked), lists tidied.
    let saved = laptop.store.save_profile(input(" Bath, Somerset ", "Rustic\ndocumentary, rustic", Some(150_000), Some(250_000), "2027-06-19\n2027-06-12")).unwrap();
    assert_eq!(saved.location.as_deref(), Some("Bath, Somerset"));
    assert_eq!(saved.styles, ["Rustic", "documentary"]);
    assert_eq!(saved.booked_dates, [NaiveDate::from_ymd_opt(2027, 6, 12).unwrap(), NaiveDate::from_ymd_opt(2027, 6, 19).unwrap()]);
    assert_eq!(laptop.store.profile().unwrap(), saved);

    laptop.sync().await;
    // A couple's recommendations now see it: in Bath, rustic — and booked on their date.
    let list = couple_asks(&server).await;
    assert_eq!(list.items.len(), 1);
    let studio = &list.items[0];
    assert_eq!(studio.location.as_deref(), Some("Bath, Somerset"));
    assert!(studio.reason.starts_with("Already booked on 19 June 2027, works in a rustic style, works in Bath, Somerset"), "{}", studio.reason);

    // The other device pulls it; an edit there (a date freed) comes back to the laptop.
    tablet.sync().await;
    assert_eq!(tablet.store.profile().unwrap(), saved);
    tablet.store.save_profile(input("Bath, Somerset", "Rustic, documentary", Some(150_000), Some(250_000), "2027-06-12")).unwrap();
    tablet.sync().await;
    laptop.sync().await;
    assert_eq!(laptop.store.profile().unwrap().booked_dates, [NaiveDate::from_ymd_opt(2027, 6, 12).unwrap()]);
    let freed = couple_asks(&server).await;
    assert!(freed.items[0].reason.starts_with("Free on 19 June 2027"), "{}", freed.items[0].reason);
}

on_both_backends!(a_profile_edited_offline_reaches_the_server_and_the_other_devices);
