//! Invitations that arrive (docs/email.md): a supplier queues invitations in the app, they
//! sync to a real server, which sends them to a real SMTP server (aiosmtpd, started by the
//! test: `tests/smtp/relay.py`) paced in batches, the most urgent weddings first. What
//! arrived is read back with Python's own email parser and the QR image with zbarimg, so
//! nothing here trusts the code that built the email. How each invitation went comes back
//! to the app with the next sync. On SQLite and PostgreSQL.

mod sync_support;

use std::process::Command;
use std::time::{Duration as StdDuration, Instant};

use bouquet_client::store::contacts::ContactInput;
use bouquet_client::store::invitations::{Invitation, InvitationStatus};
use bouquet_core::batching::{self, Urgency};
use bouquet_core::template::DEFAULT_TEMPLATE;
use bouquet_server::config::{SmtpRelay, SmtpTls};
use bouquet_server::on_both_backends;
use bouquet_server::testing::{TestDb, TestServer};
use chrono::{Months, NaiveDate, Utc};
use serde_json::Value;
use sync_support::relay::Relay;
use sync_support::{Device, supplier};
use uuid::Uuid;

/// The pause between one supplier's batches in these tests.
const PAUSE_SECONDS: u32 = 3;

fn recipient(message: &Value) -> String {
    message["rcpt_tos"][0].as_str().unwrap().to_string()
}

/// A server whose mail goes to `relay`, with the tests' short pacing and retry waits.
async fn server_sending_to(db: &TestDb, relay: &Relay) -> TestServer {
    relay
        .server(db, |s| {
            s.email.pacing.pause_seconds = PAUSE_SECONDS;
            s.email.first_retry = chrono::Duration::seconds(1);
            s.email.lease = chrono::Duration::seconds(3);
            s.email.timeout = StdDuration::from_secs(20);
        })
        .await
}

async fn signed_in_supplier(server: &TestServer, email: &str) -> Device {
    supplier(server, email).await;
    let device = Device::signed_in(server, email).await;
    // The first round learns the server's pacing, which the app's send times follow.
    device.sync().await;
    device
}

fn couple(device: &Device, names: &str, email: &str, wedding: Option<NaiveDate>) -> Uuid {
    device
        .store
        .create_contact(ContactInput { names: names.into(), email: Some(email.into()), wedding_date: wedding, ..Default::default() })
        .unwrap()
        .contact
        .id
}

/// Queues invitations to `contacts` with the pause the server told the app.
fn queue(device: &Device, contacts: &[Uuid]) -> usize {
    let pause = device.store.batch_pause_seconds().unwrap();
    device.store.queue_bulk_invitations(contacts, DEFAULT_TEMPLATE, None, pause, Utc::now().date_naive()).unwrap().queued
}

/// Syncs until every invitation the app has queued shows a final status.
async fn sync_until_settled(device: &Device) -> Vec<Invitation> {
    let start = Instant::now();
    loop {
        device.sync().await;
        let all = device.store.invitations(None).unwrap();
        if all.iter().all(|i| !matches!(i.status, InvitationStatus::Queued | InvitationStatus::Sending)) {
            return all;
        }
        assert!(start.elapsed() < StdDuration::from_secs(90), "still not settled: {:?}", all.iter().map(|i| (i.email.as_str(), i.status)).collect::<Vec<_>>());
        tokio::time::sleep(StdDuration::from_millis(300)).await;
    }
}

fn zbarimg(path: &str) -> String {
    let out = Command::new("zbarimg").args(["--raw", "-q", path]).output().expect("zbarimg (Debian: zbar-tools)");
    assert!(out.status.success(), "zbarimg could not read {path}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn bulk_invitations_arrive_in_paced_batches_most_urgent_first(db: &TestDb) {
    let relay = Relay::start();
    let server = server_sending_to(db, &relay).await;
    let device = signed_in_supplier(&server, "studio@example.com").await;
    let today = Utc::now().date_naive();
    let in_months = |m: u32| today.checked_add_months(Months::new(m)).unwrap();
    // 25 couples, queued future ones first so the order has to change: 12 a year away
    // or undated, 8 under 6 months away, 5 under 3 months.
    let mut contacts = Vec::new();
    let mut urgency_of = std::collections::HashMap::new();
    for i in 0..25 {
        let (wedding, urgency) = match i {
            0..=9 => (Some(in_months(12)), Urgency::Future),
            10..=11 => (None, Urgency::Future),
            12..=19 => (Some(in_months(4)), Urgency::Soon),
            _ => (Some(in_months(1) + chrono::Duration::days(i)), Urgency::Urgent),
        };
        assert_eq!(batching::urgency(wedding, today), Some(urgency));
        let address = format!("couple{i}@example.com");
        contacts.push(couple(&device, &format!("Couple {i} & Partner"), &address, wedding));
        urgency_of.insert(address, urgency);
    }
    assert_eq!(device.store.batch_pause_seconds().unwrap(), u64::from(PAUSE_SECONDS), "the app predicts with the server's pacing");
    assert_eq!(queue(&device, &contacts), 25);
    let links: std::collections::HashMap<String, String> = device.store.invitations(None).unwrap().into_iter().map(|i| (i.email, i.link)).collect();
    device.sync().await;

    let received = relay.wait_for(25).await;
    // Three batches: within one the emails follow each other closely; between two, the
    // pause. Each starts at least the pause after the one before.
    let times: Vec<f64> = received.iter().map(|m| m["received_at"].as_f64().unwrap()).collect();
    let mut batches: Vec<Vec<usize>> = vec![vec![0]];
    for i in 1..times.len() {
        if times[i] - times[i - 1] > f64::from(PAUSE_SECONDS) / 2.0 {
            batches.push(Vec::new());
        }
        batches.last_mut().unwrap().push(i);
    }
    assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5], "arrival times: {times:?}");
    for pair in batches.windows(2) {
        let gap = times[pair[1][0]] - times[pair[0][0]];
        assert!(gap >= f64::from(PAUSE_SECONDS) - 0.05, "a batch started {gap:.2}s after the one before");
    }
    // The most urgent weddings first: urgent, then soon, then the rest.
    let order: Vec<Urgency> = received.iter().map(|m| urgency_of[&recipient(m)]).collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    assert_eq!(order.iter().filter(|u| **u == Urgency::Urgent).count(), 5);
    // Nobody twice.
    let distinct: std::collections::HashSet<String> = received.iter().map(recipient).collect();
    assert_eq!(distinct.len(), 25);

    for message in &received {
        let to = recipient(message);
        let headers = &message["headers"];
        assert_eq!(message["defects"], serde_json::json!([]), "MIME defects in the email to {to}");
        assert_eq!(message["content_type"], "multipart/alternative");
        let n: usize = to.trim_start_matches("couple").split('@').next().unwrap().parse().unwrap();
        let names = format!("Couple {n} & Partner");
        assert!(headers["To"].as_str().unwrap().contains(&names), "{}", headers["To"]);
        assert!(headers["From"].as_str().unwrap().starts_with("Golden Hour Studio via Bouquet"), "{}", headers["From"]);
        assert_eq!(headers["Reply-To"].as_str().unwrap(), "Golden Hour Studio <studio@example.com>");
        let text = message["text"].as_str().unwrap();
        let html = message["html"].as_str().unwrap();
        assert!(text.contains(&names) && text.contains("Golden Hour Studio") && text.contains(&links[&to]), "{text}");
        assert!(html.contains(&format!("Couple {n} &#38; Partner")) && html.contains(&links[&to]) && html.contains("cid:referral-qr"), "{html}");
        // RFC 8058 one-click unsubscribe, and a visible link to the same place.
        let unsubscribe = headers["List-Unsubscribe"].as_str().unwrap();
        assert!(unsubscribe.starts_with(&format!("<{}/api/v1/unsubscribe/", server.url)), "{unsubscribe}");
        assert_eq!(headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
        assert!(text.contains(unsubscribe.trim_matches(['<', '>'])) && html.contains(unsubscribe.trim_matches(['<', '>'])));
        assert!(headers["Message-ID"].as_str().unwrap().starts_with("<invitation-"), "a stable Message-ID per invitation");
        let images = message["images"].as_array().unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!((images[0]["cid"].as_str(), images[0]["disposition"].as_str()), (Some("referral-qr"), Some("inline")));
        assert_eq!(zbarimg(images[0]["path"].as_str().unwrap()), links[&to], "the QR code is the couple's own link");
    }

    // Back in the app: all 25 sent, counted on the Invitations screen.
    let all = sync_until_settled(&device).await;
    assert!(all.iter().all(|i| i.status == InvitationStatus::Sent && i.sent_at.is_some() && i.expires_at.is_some()));
    assert!(device.store.invitation_counts().unwrap().contains(&(InvitationStatus::Sent, 25)));
    // A couple opens their invitation: it shows as opened.
    let opened = &all[0];
    let page = reqwest::Client::new().get(&opened.link).header("user-agent", "Mozilla/5.0 (iPhone) Safari").send().await.unwrap();
    assert_eq!(page.status(), 200);
    device.sync().await;
    let now = device.store.invitations(None).unwrap();
    assert_eq!(now.iter().find(|i| i.id == opened.id).unwrap().status, InvitationStatus::Opened);
    assert!(device.store.invitation_counts().unwrap().contains(&(InvitationStatus::Opened, 1)));
}

async fn an_unsubscribed_address_gets_nothing_more_from_any_supplier(db: &TestDb) {
    let relay = Relay::start();
    let server = server_sending_to(db, &relay).await;
    let studio = signed_in_supplier(&server, "studio@example.com").await;
    let amy = couple(&studio, "Amy & Sam", "Amy@Example.com", None);
    queue(&studio, &[amy]);
    studio.sync().await;
    let first = relay.wait_for(1).await;
    let link = first[0]["headers"]["List-Unsubscribe"].as_str().unwrap().trim_matches(['<', '>']).to_string();

    // A mail scanner opening the visible link unsubscribes nobody: the page asks first.
    let http = reqwest::Client::new();
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Unsubscribe from all invitations"));
    // The mail client's one-click POST (RFC 8058) does it, without sign-in.
    let done = http.post(&link).header("content-type", "application/x-www-form-urlencoded").body("List-Unsubscribe=One-Click").send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("You are unsubscribed"));
    assert!(http.get(&link).send().await.unwrap().text().await.unwrap().contains("You are unsubscribed"));
    // A made-up token is not an unsubscribe link.
    let forged = format!("{}/api/v1/unsubscribe/{}", server.url, "A".repeat(43));
    assert_eq!(http.post(&forged).send().await.unwrap().status(), 404);

    // Another supplier invites the same address (written differently) and someone else.
    let florist = signed_in_supplier(&server, "florist@example.com").await;
    let again = couple(&florist, "Amy & Sam", "amy@example.com", None);
    let ben = couple(&florist, "Ben & Lee", "ben@example.com", None);
    queue(&florist, &[again, ben]);
    florist.sync().await;
    let settled = sync_until_settled(&florist).await;
    let amy_now = settled.iter().find(|i| i.email == "amy@example.com").unwrap();
    assert_eq!(amy_now.status, InvitationStatus::Failed);
    assert!(amy_now.reason.as_deref().unwrap().contains("unsubscribed"), "{:?}", amy_now.reason);
    assert_eq!(settled.iter().find(|i| i.email == "ben@example.com").unwrap().status, InvitationStatus::Sent);
    let to: Vec<String> = relay.received().iter().map(recipient).collect();
    assert_eq!(to.iter().filter(|t| t.eq_ignore_ascii_case("amy@example.com")).count(), 1, "{to:?}");
    assert_eq!(to.len(), 2);
}

async fn a_relay_saying_later_delivers_once_and_a_refusal_fails_with_its_reason(db: &TestDb) {
    let relay = Relay::start();
    let server = server_sending_to(db, &relay).await;
    let device = signed_in_supplier(&server, "studio@example.com").await;
    // The platform subscribes to invitations' fate (docs/webhooks.md); its receiver is
    // down here, so the events wait in the delivery log, where they are read back.
    use bouquet_core::webhooks::EventType;
    let hook = server
        .store
        .create_webhook("http://127.0.0.1:9/down", &[EventType::InvitationSent, EventType::InvitationFailed], None, "whsec_c2VjcmV0", Utc::now())
        .await
        .unwrap();
    let later = couple(&device, "Grey & List", "greylist@example.com", None);
    let refused = couple(&device, "No & Body", "reject@example.com", None);
    queue(&device, &[later, refused]);
    device.sync().await;
    let settled = sync_until_settled(&device).await;
    let later_now = settled.iter().find(|i| i.email == "greylist@example.com").unwrap();
    assert_eq!(later_now.status, InvitationStatus::Sent, "delivered on the retry: {:?}", later_now.reason);
    let refused_now = settled.iter().find(|i| i.email == "reject@example.com").unwrap();
    assert_eq!(refused_now.status, InvitationStatus::Failed);
    let reason = refused_now.reason.as_deref().unwrap();
    assert!(reason.contains("550") && reason.contains("mailbox unavailable"), "{reason}");
    assert_eq!(relay.refusals(), 1, "a refusal for good is not retried");
    let to: Vec<String> = relay.received().iter().map(recipient).collect();
    assert_eq!(to, ["greylist@example.com"], "one delivery, after the 451; nothing to the refused address");
    let report = device.store.delivery_report().unwrap().unwrap().value;
    assert!(report.relay_configured);
    assert_eq!(report.invitations.iter().find(|d| d.id == later_now.id).unwrap().attempts, 1, "one failed attempt before it went");
    // A sent one cannot be cancelled; a failed one can be sent again (and is refused again).
    assert!(device.store.cancel_invitation(later_now.id).is_err());
    device.store.send_invitation(refused_now.id).unwrap();
    device.sync().await;
    let start = Instant::now();
    loop {
        device.sync().await;
        let shown = device.store.invitations(None).unwrap().into_iter().find(|i| i.id == refused_now.id).unwrap().status;
        if relay.refusals() == 2 && shown == InvitationStatus::Failed {
            break;
        }
        assert!(start.elapsed() < StdDuration::from_secs(30), "the failed invitation was not tried again");
        tokio::time::sleep(StdDuration::from_millis(300)).await;
    }
    let again = device.store.invitations(None).unwrap().into_iter().find(|i| i.id == refused_now.id).unwrap();
    assert_eq!(again.status, InvitationStatus::Failed);
    assert_eq!(relay.received().len(), 1, "still nothing to the refused address");
    // One event per outcome, written with it: sent once, failed twice.
    let events: Vec<EventType> = server.store.webhook_deliveries(hook.id, 100).await.unwrap().unwrap().iter().map(|d| d.event_type).collect();
    assert_eq!(events.iter().filter(|e| **e == EventType::InvitationSent).count(), 1, "{events:?}");
    assert_eq!(events.iter().filter(|e| **e == EventType::InvitationFailed).count(), 2, "{events:?}");
}

async fn a_reply_that_never_comes_is_not_sent_again(db: &TestDb) {
    // The relay takes the email but answers after the server stopped waiting: it may have
    // arrived, so it is reported, never sent a second time.
    let relay = Relay::start();
    let port = relay.port;
    let server = TestServer::start_with(db, move |s| {
        s.email.relay = Some(SmtpRelay { host: "127.0.0.1".into(), port, tls: SmtpTls::None, credentials: None });
        s.email.tick = StdDuration::from_millis(100);
        s.email.first_retry = chrono::Duration::seconds(1);
        s.email.timeout = StdDuration::from_secs(2);
    })
    .await;
    let device = signed_in_supplier(&server, "studio@example.com").await;
    let slow = couple(&device, "Slow & Steady", "slow@example.com", None);
    queue(&device, &[slow]);
    device.sync().await;
    let settled = sync_until_settled(&device).await;
    assert_eq!(settled[0].status, InvitationStatus::Failed);
    assert!(settled[0].reason.as_deref().unwrap().contains("(no reply within 2 seconds), so it may or may not have arrived"), "{:?}", settled[0].reason);
    tokio::time::sleep(StdDuration::from_secs(3)).await;
    assert_eq!(relay.received().len(), 1, "sent once, never again");
}

async fn a_server_killed_mid_batch_sends_nothing_twice(db: &TestDb) {
    let relay = Relay::start();
    let server = server_sending_to(db, &relay).await;
    let device = signed_in_supplier(&server, "studio@example.com").await;
    // Ten couples, no dates: sent in the order queued. The relay is slow to answer the fourth.
    let contacts: Vec<Uuid> = (0..10)
        .map(|i| {
            let address = if i == 3 { "slow@example.com".to_string() } else { format!("couple{i}@example.com") };
            couple(&device, &format!("Couple {i}"), &address, None)
        })
        .collect();
    queue(&device, &contacts);
    device.sync().await;
    // The fourth email is in the relay's hands, its "250 OK" not yet sent: kill the server.
    relay.wait_for(4).await;
    let url = server.url.trim_start_matches("http://").to_string();
    server.kill().await;
    let restarted = {
        let port = relay.port;
        TestServer::start_on(db, &url, move |s| {
            s.email.relay = Some(SmtpRelay { host: "127.0.0.1".into(), port, tls: SmtpTls::None, credentials: None });
            s.email.pacing.pause_seconds = PAUSE_SECONDS;
            s.email.tick = StdDuration::from_millis(100);
            s.email.lease = chrono::Duration::seconds(3);
        })
        .await
    };
    let settled = sync_until_settled(&device).await;
    let to: Vec<String> = relay.received().iter().map(recipient).collect();
    let distinct: std::collections::HashSet<&String> = to.iter().collect();
    assert_eq!(distinct.len(), to.len(), "a couple got an invitation twice: {to:?}");
    assert_eq!(to.len(), 10, "every couple got theirs: {to:?}");
    // The one in flight when the server died arrived, but the server could not know: it is
    // reported, not sent again.
    let slow = settled.iter().find(|i| i.email == "slow@example.com").unwrap();
    assert_eq!(slow.status, InvitationStatus::Failed);
    assert!(slow.reason.as_deref().unwrap().contains("stopped while handing it to the mail relay"), "{:?}", slow.reason);
    assert_eq!(settled.iter().filter(|i| i.status == InvitationStatus::Sent).count(), 9);
    drop(restarted);
}

async fn a_queued_invitation_can_be_cancelled_until_it_goes(db: &TestDb) {
    // No relay: the server keeps invitations queued and says why.
    let server = TestServer::start(db).await;
    let device = signed_in_supplier(&server, "studio@example.com").await;
    let a = couple(&device, "Ann & Al", "ann@example.com", None);
    let b = couple(&device, "Bea & Bo", "bea@example.com", None);
    queue(&device, &[a, b]);
    device.sync().await;
    device.sync().await;
    let report = device.store.delivery_report().unwrap().unwrap().value;
    assert!(!report.relay_configured, "the app can say nothing goes out until a relay is configured");
    assert_eq!(report.pacing.pause_seconds, 60, "the default pause between batches");
    assert_eq!(report.invitations.len(), 2);
    let all = device.store.invitations(None).unwrap();
    assert!(all.iter().all(|i| i.status == InvitationStatus::Queued));
    let ann = all.iter().find(|i| i.email == "ann@example.com").unwrap().id;
    device.store.cancel_invitation(ann).unwrap();
    device.sync().await;
    let report = device.store.delivery_report().unwrap().unwrap().value;
    assert_eq!(report.invitations.len(), 1, "the server dropped the cancelled one from its queue");
    assert_eq!(device.store.invitations(None).unwrap().iter().find(|i| i.id == ann).unwrap().status, InvitationStatus::Draft);
    assert!(device.store.cancel_invitation(ann).is_err(), "a draft is not queued");
    // Sent again from drafts, it is queued again.
    device.store.send_invitation(ann).unwrap();
    device.sync().await;
    assert_eq!(device.store.delivery_report().unwrap().unwrap().value.invitations.len(), 2);
}

async fn two_servers_on_one_database_send_each_invitation_once_under_one_pacing(db: &TestDb) {
    // The scale-out setup: two server processes (here two servers, each with its own
    // connection pool and sender) on one database, both sending.
    let relay = Relay::start();
    let one = server_sending_to(db, &relay).await;
    let two = server_sending_to(db, &relay).await;
    let device = signed_in_supplier(&one, "studio@example.com").await;
    let contacts: Vec<Uuid> = (0..25).map(|i| couple(&device, &format!("Couple {i}"), &format!("couple{i}@example.com"), None)).collect();
    queue(&device, &contacts);
    device.sync().await;
    let received = relay.wait_for(25).await;
    // Give a second sender the time to (wrongly) send any of them again.
    tokio::time::sleep(StdDuration::from_secs(2)).await;
    let to: Vec<String> = relay.received().iter().map(recipient).collect();
    let distinct: std::collections::HashSet<&String> = to.iter().collect();
    assert_eq!((to.len(), distinct.len()), (25, 25), "{to:?}");
    // Still one supplier's pacing: batch starts at least the pause apart.
    let times: Vec<f64> = received.iter().map(|m| m["received_at"].as_f64().unwrap()).collect();
    let starts: Vec<f64> = [0, 10, 20].iter().map(|&i| times[i]).collect();
    assert!(starts.windows(2).all(|w| w[1] - w[0] >= f64::from(PAUSE_SECONDS) - 0.05), "{times:?}");
    drop(two);
}

on_both_backends!(
    a_reply_that_never_comes_is_not_sent_again,
    two_servers_on_one_database_send_each_invitation_once_under_one_pacing,
    bulk_invitations_arrive_in_paced_batches_most_urgent_first,
    an_unsubscribed_address_gets_nothing_more_from_any_supplier,
    a_relay_saying_later_delivers_once_and_a_refusal_fails_with_its_reason,
    a_server_killed_mid_batch_sends_nothing_twice,
    a_queued_invitation_can_be_cancelled_until_it_goes,
);
