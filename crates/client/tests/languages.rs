//! The couple's language (issue 15, docs/couples.md): an account's chosen locale comes
//! before the browser's; what a Spanish couple is told — notifications in the app's list
//! and by email, read back from a real SMTP server (aiosmtpd) — is in Spanish, with
//! Spanish numbers; an invitation email is in its reader's language when Bouquet knows it,
//! else in the supplier's. On SQLite and PostgreSQL.

mod sync_support;

use bouquet_client::store::contacts::ContactInput;
use bouquet_core::api::{AccountView, SessionView};
use bouquet_core::notifications::NotificationView;
use bouquet_core::template::DEFAULT_TEMPLATE;
use bouquet_server::on_both_backends;
use bouquet_server::testing::{TestDb, TestServer};
use chrono::Utc;
use serde_json::{Value, json};
use sync_support::relay::Relay;
use sync_support::{Device, PASSWORD, Purchase, platform_converts, supplier};

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Registers a couple (with `locale` when given) and signs them in.
async fn couple(server: &TestServer, email: &str, names: &str, locale: Option<&str>) -> SessionView {
    let mut body = json!({"kind": "couple", "email": email, "password": PASSWORD, "couple_names": names});
    if let Some(locale) = locale {
        body["locale"] = json!(locale);
    }
    let resp = http().post(format!("{}/api/v1/accounts", server.url)).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let account: AccountView = resp.json().await.unwrap();
    assert_eq!(account.locale.as_deref(), locale);
    let resp = http().post(format!("{}/api/v1/sessions", server.url)).json(&json!({"email": email, "password": PASSWORD})).send().await.unwrap();
    resp.json().await.unwrap()
}

async fn set_locale(server: &TestServer, token: &str, locale: Value) -> (u16, Value) {
    let resp = http().put(format!("{}/api/v1/me/locale", server.url)).bearer_auth(token).json(&json!({"locale": locale})).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

fn subject(message: &Value) -> &str {
    message["headers"]["Subject"].as_str().unwrap()
}

async fn a_spanish_couple_is_told_in_spanish(db: &TestDb) {
    let relay = Relay::start();
    let server = relay.server(db, |s| s.email.pacing.pause_seconds = 1).await;
    // A language tag, or nothing: anything else is refused and changes nothing.
    let resp = http()
        .post(format!("{}/api/v1/accounts", server.url))
        .json(&json!({"kind": "couple", "email": "x@example.com", "password": PASSWORD, "couple_names": "X", "locale": "not a language"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let error: Value = resp.json().await.unwrap();
    assert!(error["message"].as_str().unwrap().contains("locale"), "{error}");

    let amy = couple(&server, "amy.ben@example.com", "Amy y Ben", None).await;
    for bad in [json!("español!"), json!("x".repeat(40)), json!(12)] {
        let (status, error) = set_locale(&server, &amy.token, bad.clone()).await;
        assert_eq!(status, 422, "{bad}: {error}");
    }
    let (status, account) = set_locale(&server, &amy.token, json!("es_es")).await;
    assert_eq!((status, account["locale"].as_str()), (200, Some("es-ES")), "{account}");

    // A friend books through the couple's code: 5% of £49.00, and the couple's first tier.
    let resp = http().post(format!("{}/api/v1/referrals", server.url)).bearer_auth(&amy.token).json(&json!({"method": "link"})).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let code = resp.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_string();
    platform_converts(&server, "cara", &code, Purchase { plan: "essential", annual: false, value_minor: 4900 }).await;

    let resp = http().get(format!("{}/api/v1/me/notifications", server.url)).bearer_auth(&amy.token).send().await.unwrap();
    let told: Vec<NotificationView> = resp.json().await.unwrap();
    let titles: Vec<&str> = told.iter().map(|n| n.title.as_str()).collect();
    assert!(titles.contains(&"Has ganado 2,45 créditos"), "{titles:?}");
    assert!(titles.contains(&"Has alcanzado el nivel Primeros pasos"), "{titles:?}");
    let tier = told.iter().find(|n| n.title.contains("nivel")).unwrap();
    assert_eq!(tier.body, "Nivel Primeros pasos (1 recomendación con éxito): descuentos de proveedores de Bouquet.");

    // By email too, framed in Spanish, pointing to their page (couples have no app).
    let got = relay.wait_for(2).await;
    let mut subjects: Vec<&str> = got.iter().map(subject).collect();
    subjects.sort();
    assert_eq!(subjects, ["Has alcanzado el nivel Primeros pasos", "Has ganado 2,45 créditos"]);
    for message in &got {
        let text = message["text"].as_str().unwrap();
        assert!(text.starts_with("Hola, Amy y Ben:"), "{text}");
        assert!(text.contains(&format!("tu página de Bouquet: {}/couple", server.url)), "{text}");
        assert!(message["html"].as_str().unwrap().contains("<html lang=\"es\">"));
    }

    // Back to the browser's language: what happened is told again in the reader's
    // language — English for a caller who asks for none, Spanish for a Spanish phone.
    let (status, account) = set_locale(&server, &amy.token, Value::Null).await;
    assert_eq!((status, account["locale"].clone()), (200, Value::Null));
    platform_converts(&server, "dan", &code, Purchase { plan: "essential", annual: false, value_minor: 2000 }).await;
    let titles = |told: Vec<NotificationView>| told.into_iter().map(|n| n.title).collect::<Vec<_>>();
    let resp = http().get(format!("{}/api/v1/me/notifications", server.url)).bearer_auth(&amy.token).send().await.unwrap();
    let mut english = titles(resp.json().await.unwrap());
    english.sort();
    assert_eq!(english, ["You earned 1 credit", "You earned 2.45 credits", "You reached the First tier"]);
    let resp = http()
        .get(format!("{}/api/v1/me/notifications", server.url))
        .bearer_auth(&amy.token)
        .header("accept-language", "es-ES,es;q=0.9")
        .send()
        .await
        .unwrap();
    let spanish = titles(resp.json().await.unwrap());
    assert!(spanish.contains(&"Has ganado 1 crédito".to_string()) && spanish.contains(&"Has ganado 2,45 créditos".to_string()), "{spanish:?}");
    server.stop().await;
}

async fn an_invitation_is_in_its_readers_language_else_the_suppliers(db: &TestDb) {
    let relay = Relay::start();
    let server = relay.server(db, |s| s.email.pacing.pause_seconds = 1).await;
    supplier(&server, "studio@example.com").await;
    let device = Device::signed_in(&server, "studio@example.com").await;
    // The studio writes in Spanish; one couple it invites already reads Bouquet in English.
    let (status, _) = set_locale(&server, &device.token(), json!("es")).await;
    assert_eq!(status, 200);
    couple(&server, "eve.finn@example.com", "Eve & Finn", Some("en")).await;
    device.sync().await;
    let contact = |names: &str, email: &str| {
        device.store.create_contact(ContactInput { names: names.into(), email: Some(email.into()), ..Default::default() }).unwrap().contact.id
    };
    let contacts = [contact("Lucía y Mateo", "lucia.mateo@example.com"), contact("Eve & Finn", "Eve.Finn@example.com")];
    let pause = device.store.batch_pause_seconds().unwrap();
    device.store.queue_bulk_invitations(&contacts, DEFAULT_TEMPLATE, None, pause, Utc::now().date_naive()).unwrap();
    device.sync().await;

    let got = relay.wait_for(2).await;
    let to = |address: &str| got.iter().find(|m| m["rcpt_tos"][0].as_str().is_some_and(|r| r.eq_ignore_ascii_case(address))).unwrap_or_else(|| panic!("nothing to {address}"));
    let spanish = to("lucia.mateo@example.com");
    assert_eq!(subject(spanish), "Golden Hour Studio te ha invitado a Bouquet");
    let text = spanish["text"].as_str().unwrap();
    assert!(text.contains("(o escribe el código "), "{text}");
    assert!(text.contains("Para no recibir más invitaciones"), "{text}");
    assert!(spanish["html"].as_str().unwrap().contains("Abre tu invitación"));
    let english = to("eve.finn@example.com");
    assert_eq!(subject(english), "Golden Hour Studio has invited you to Bouquet");
    assert!(english["text"].as_str().unwrap().contains("(or type the code "), "{}", english["text"]);
    server.stop().await;
}

on_both_backends!(a_spanish_couple_is_told_in_spanish, an_invitation_is_in_its_readers_language_else_the_suppliers);
