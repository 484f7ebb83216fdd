//! Invitation email (docs/email.md): what each email says and how it is built (text and
//! HTML, the referral link's QR code inline, RFC 8058 one-click unsubscribe), and the
//! sender that works through the queue batch by batch under each supplier's pacing.
//!
//! The rules of what goes when live in `bouquet_core::delivery` and the store
//! (`store::email`); this module speaks SMTP through lettre.

use std::io::Cursor;
use std::sync::Arc;

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bouquet_core::ReferralCode;
use bouquet_core::delivery::{MAX_ATTEMPTS, retry_wait};
use bouquet_core::referral::{Utm, referral_link};
use chrono::Utc;
use hmac::{Hmac, Mac};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::{self, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;
use uuid::Uuid;

use crate::config::{EmailSettings, SmtpRelay, SmtpTls};
use crate::i18n::Tr;
use crate::store::{BeginSend, NotificationEmail, NotificationEmailOutcome, OutgoingEmail, SendOutcome, Store, StoreResult};

/// The secret shared by every server process that keys the unsubscribe tokens.
pub const UNSUBSCRIBE_KEY: &str = "unsubscribe_key";
/// The inline QR image's content id.
const QR_CID: &str = "referral-qr";

/// Turns an address into its unsubscribe token: an HMAC of the address (lower-cased) under
/// the deployment's secret, so the suppression list keeps no addresses and nobody can
/// unsubscribe an address they have not been sent an email for.
#[derive(Clone)]
pub struct UnsubscribeKey(Vec<u8>);

impl UnsubscribeKey {
    pub fn new(secret: &str) -> Self {
        Self(secret.as_bytes().to_vec())
    }

    pub fn token(&self, address: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(b"unsubscribe:");
        mac.update(address.trim().to_lowercase().as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `token` has the shape of one (43 characters of base64url).
    pub fn well_formed(token: &str) -> bool {
        token.len() == 43 && URL_SAFE_NO_PAD.decode(token).is_ok_and(|b| b.len() == 32)
    }
}

#[derive(Template)]
#[template(path = "invitation_email.html")]
struct HtmlBody<'a> {
    tr: &'a Tr,
    paragraphs: Vec<&'a str>,
    supplier: &'a str,
    link: &'a str,
    code: &'a str,
    qr_cid: &'a str,
    unsubscribe_url: &'a str,
}

#[derive(Template)]
#[template(path = "invitation_email.txt")]
struct TextBody<'a> {
    tr: &'a Tr,
    message: &'a str,
    supplier: &'a str,
    link_line: String,
    code: &'a str,
    unsubscribe_url: &'a str,
}

/// The referral link's QR code as a PNG.
pub(crate) fn qr_png(link: &str) -> Result<Vec<u8>, String> {
    let code = qrcode::QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::M).map_err(|e| format!("QR code: {e}"))?;
    let image = code.render::<image::Luma<u8>>().min_dimensions(240, 240).quiet_zone(true).build();
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).map_err(|e| format!("QR image: {e}"))?;
    Ok(out.into_inner())
}

/// The host part of the deployment's public URL: Message-IDs are made under it.
fn public_host(public_url: &str) -> &str {
    public_url.split("://").nth(1).unwrap_or(public_url).split(['/', ':']).next().unwrap_or("localhost")
}

/// Why an email cannot be built: it is failed with this, never retried.
#[derive(Debug)]
pub struct Unsendable(pub String);

/// The email for one invitation: from the deployment's address under the supplier's name,
/// replies to the supplier, a stable Message-ID (the invitation's id), multipart text and
/// HTML with the QR code inline, and RFC 8058 one-click unsubscribe headers.
pub fn compose(email: &OutgoingEmail, from: &Mailbox, public_url: &str) -> Result<Message, Unsendable> {
    let to: Mailbox = email
        .to
        .parse::<lettre::Address>()
        .map(|address| Mailbox::new(Some(email.couple_names.clone()).filter(|n| !n.is_empty()), address))
        .map_err(|e| Unsendable(format!("'{}' is not an address an email can go to: {e}", email.to)))?;
    let sender_name = format!("{} via {}", email.supplier_name, from.name.as_deref().unwrap_or("Bouquet"));
    // The link (and its QR code) is the deployment's own page for the code, never a URL a
    // device sent: an email from our domain cannot be made to point elsewhere.
    let code = ReferralCode::parse(&email.referral_code).map_err(|e| Unsendable(format!("the invitation's code {}: {e}", email.referral_code)))?;
    let link = referral_link(public_url, &code, false, &Utm::default());
    let unsubscribe_url = format!("{public_url}/api/v1/unsubscribe/{}", email.address_hash);
    let tr = Tr::for_account(email.locale.as_deref(), None);
    let html = HtmlBody {
        tr: &tr,
        paragraphs: email.message.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).collect(),
        supplier: &email.supplier_name,
        link: &link,
        code: &email.referral_code,
        qr_cid: QR_CID,
        unsubscribe_url: &unsubscribe_url,
    }
    .render()
    .map_err(|e| Unsendable(format!("the email's HTML: {e}")))?;
    let link_line = tr.t_with("invitation-link", &[("supplier", email.supplier_name.clone().into()), ("link", link.clone().into())]);
    let text = TextBody { tr: &tr, message: &email.message, supplier: &email.supplier_name, link_line, code: &email.referral_code, unsubscribe_url: &unsubscribe_url }
        .render()
        .map_err(|e| Unsendable(format!("the email's text: {e}")))?;
    let png = qr_png(&link).map_err(Unsendable)?;
    let image_type = ContentType::parse("image/png").expect("a valid content type");
    let body = MultiPart::alternative().singlepart(SinglePart::plain(text)).multipart(
        MultiPart::related()
            .singlepart(SinglePart::html(html))
            .singlepart(Attachment::new_inline(QR_CID.to_string()).body(png, image_type)),
    );
    let mut builder = Message::builder()
        .from(Mailbox::new(Some(sender_name), from.email.clone()))
        .to(to)
        .subject(tr.t_arg("invitation-subject", "supplier", &email.supplier_name))
        .message_id(Some(format!("<invitation-{}@{}>", email.id, public_host(public_url))))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{unsubscribe_url}>")))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click".into()));
    if let Ok(reply_to) = email.supplier_email.parse::<lettre::Address>() {
        builder = builder.reply_to(Mailbox::new(Some(email.supplier_name.clone()), reply_to));
    }
    builder.multipart(body).map_err(|e| Unsendable(format!("the email: {e}")))
}

/// The SMTP connection pool to the relay.
pub fn transport(relay: &SmtpRelay, timeout: std::time::Duration) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls_parameters = || TlsParameters::new(relay.host.clone()).map_err(|e| format!("TLS for {}: {e}", relay.host));
    let tls = match relay.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::StartTls => Tls::Required(tls_parameters()?),
        SmtpTls::Tls => Tls::Wrapper(tls_parameters()?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&relay.host)
        .port(relay.port)
        .tls(tls)
        .timeout(Some(timeout))
        .pool_config(PoolConfig::new().max_size(4));
    if let Some((user, password)) = &relay.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// What a failed send means. A refusal for good (5xx) fails the invitation with the
/// relay's words; a "try later" (4xx) is tried again after a growing wait, until
/// [`MAX_ATTEMPTS`]. Anything else (the connection broke, the reply never came) happened
/// after the relay was reachable — the sender checks that first — so the email may have
/// arrived: it fails as uncertain rather than risk sending it twice.
pub fn judge_failure(error: &smtp::Error, attempts_before: i64, settings: &EmailSettings) -> SendOutcome {
    if error.is_permanent() {
        return SendOutcome::Failed(format!("the mail relay refused it: {error}"));
    }
    if !error.is_transient() {
        return SendOutcome::Failed(uncertain(&error.to_string()));
    }
    unreachable_relay(error.to_string(), attempts_before, settings)
}

/// Why an email that may have reached the relay is not sent again.
fn uncertain(what: &str) -> String {
    format!(
        "the mail relay stopped answering while it was being sent ({what}), so it may or may not have arrived; it is not sent twice — resend it if the couple did not get it"
    )
}

/// Tried again later (nothing went), or given up after [`MAX_ATTEMPTS`].
fn unreachable_relay(error: String, attempts_before: i64, settings: &EmailSettings) -> SendOutcome {
    let attempt = attempts_before + 1;
    if attempt >= MAX_ATTEMPTS {
        return SendOutcome::Failed(format!("gave up after {attempt} attempts; the last: {error}"));
    }
    SendOutcome::Retry { error, at: Utc::now() + retry_wait(attempt, settings.first_retry) }
}

/// Works through the queue: claims one supplier's batch at a time under their pacing and
/// sends it email by email. Several server processes share the queue through the store.
pub struct Sender {
    store: Arc<dyn Store>,
    settings: EmailSettings,
    public_url: String,
    key: UnsubscribeKey,
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// This process, in the claims it makes.
    worker: String,
}

impl Sender {
    /// `None` when no relay is configured (invitations then stay queued).
    pub fn new(store: Arc<dyn Store>, settings: &EmailSettings, public_url: &str, key: UnsubscribeKey) -> Result<Option<Self>, String> {
        let Some(relay) = &settings.relay else { return Ok(None) };
        let from = settings.from.parse::<Mailbox>().map_err(|e| format!("mail_from {}: {e}", settings.from))?;
        Ok(Some(Self {
            store,
            settings: settings.clone(),
            public_url: public_url.to_string(),
            key,
            from,
            transport: transport(relay, settings.timeout)?,
            worker: Uuid::now_v7().to_string(),
        }))
    }

    pub async fn run(self) {
        let mut tick = tokio::time::interval(self.settings.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.round().await {
                tracing::warn!(error = %e, "sending invitations failed; it will try again");
            }
        }
    }

    /// One pass: fails what a stopped process left mid-send, then sends the notification
    /// emails due and every invitation batch due. How many emails the relay accepted.
    pub async fn round(&self) -> StoreResult<usize> {
        let interrupted = self.store.fail_interrupted(Utc::now()).await?;
        if interrupted > 0 {
            tracing::warn!(interrupted, "invitations a stopped server was sending are marked failed, not sent twice");
        }
        let mut sent = self.notification_round().await?;
        loop {
            let claimed = self.store.claim_email_batch(&self.worker, &self.settings.pacing, self.settings.lease, Utc::now()).await?;
            let Some(batch) = claimed else { return Ok(sent) };
            for id in batch.ids {
                sent += usize::from(self.send_one(id).await?);
            }
            // The pause runs from the batch's end, so a slow relay never brings two of one
            // supplier's batches together.
            let pause = chrono::Duration::seconds(self.settings.pacing.pause_seconds.into());
            self.store.end_email_batch(batch.account_id, pause, Utc::now()).await?;
        }
    }

    async fn send_one(&self, id: Uuid) -> StoreResult<bool> {
        let hash = |address: &str| self.key.token(address);
        let email = match self.store.begin_send(id, &self.worker, &hash, self.settings.lease, Utc::now()).await? {
            BeginSend::Go(email) => email,
            BeginSend::Gone => return Ok(false),
            BeginSend::Failed(reason) => {
                tracing::info!(invitation = %id, reason = %without_addresses(&reason), "invitation not sent");
                return Ok(false);
            }
        };
        let outcome = match compose(&email, &self.from, &self.public_url) {
            Err(Unsendable(reason)) => SendOutcome::Failed(reason),
            Ok(message) => self.deliver(message, email.attempts).await,
        };
        match &outcome {
            SendOutcome::Sent => tracing::info!(invitation = %id, "invitation sent"),
            SendOutcome::Retry { error, at } => {
                tracing::info!(invitation = %id, error = %without_addresses(error), retry_at = %at, "invitation will be tried again")
            }
            SendOutcome::Failed(reason) => tracing::warn!(invitation = %id, reason = %without_addresses(reason), "invitation failed"),
        }
        self.store.finish_send(id, &self.worker, &outcome, Utc::now()).await?;
        Ok(outcome == SendOutcome::Sent)
    }
}

impl Sender {
    /// Hands one email to the relay. Reaching the relay first tells "nothing went" (try
    /// later) from "the connection broke mid-send" (it may have arrived: never resent).
    /// lettre's own timeout covers connecting only: every exchange is bounded here.
    async fn deliver(&self, message: Message, attempts_before: i64) -> SendOutcome {
        match tokio::time::timeout(self.settings.timeout, self.transport.test_connection()).await {
            Ok(Err(e)) => unreachable_relay(format!("the mail relay could not be reached: {e}"), attempts_before, &self.settings),
            Ok(Ok(false)) | Err(_) => unreachable_relay("the mail relay did not answer".into(), attempts_before, &self.settings),
            Ok(Ok(true)) => match tokio::time::timeout(self.settings.timeout, self.transport.send(message)).await {
                Ok(Ok(_)) => SendOutcome::Sent,
                Ok(Err(e)) => judge_failure(&e, attempts_before, &self.settings),
                Err(_) => SendOutcome::Failed(uncertain(&format!("no reply within {} seconds", self.settings.timeout.as_secs()))),
            },
        }
    }

    /// Sends the notification emails due (docs/notifications.md). Not paced like
    /// invitations: each is one account's own news, to its own address. A kind the account
    /// turned off, or an address that unsubscribed from everything, is not sent.
    pub async fn notification_round(&self) -> StoreResult<usize> {
        let mut sent = 0;
        loop {
            // One at a time: a claim's lease outlasts one bounded send, so a slow relay never
            // lets a claim lapse while the email waits here to be sent (another process
            // would send it too).
            let claimed = self.store.claim_notification_emails(1, self.settings.lease, Utc::now()).await?;
            if claimed.is_empty() {
                return Ok(sent);
            }
            for n in claimed {
                let outcome = if !n.wanted {
                    NotificationEmailOutcome::Off
                } else if self.store.suppressed(&self.key.token(&n.to)).await? == Some(true) {
                    NotificationEmailOutcome::Suppressed
                } else {
                    NotificationEmailOutcome::Send(match compose_notification(&n, &self.from, &self.public_url) {
                        Err(Unsendable(reason)) => SendOutcome::Failed(reason),
                        Ok(message) => self.deliver(message, n.attempts).await,
                    })
                };
                if let NotificationEmailOutcome::Send(SendOutcome::Failed(reason) | SendOutcome::Retry { error: reason, .. }) = &outcome {
                    tracing::info!(notification = %n.id, reason = %without_addresses(&reason), "notification email not sent");
                }
                sent += usize::from(outcome == NotificationEmailOutcome::Send(SendOutcome::Sent));
                self.store.finish_notification_email(n.id, &outcome, Utc::now()).await?;
            }
        }
    }
}

/// Sends one email now, outside the queue: a sign-in link is useless later. Why not, when
/// it fails.
pub async fn send_now(settings: &EmailSettings, message: Message) -> Result<(), String> {
    let relay = settings.relay.as_ref().ok_or("no mail relay is configured")?;
    let transport = transport(relay, settings.timeout)?;
    match tokio::time::timeout(settings.timeout, transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the mail relay did not answer".into()),
    }
}

/// "Hello Anna & Ben," in the reader's language.
fn greeting(tr: &Tr, name: Option<&str>) -> String {
    name.map_or_else(|| tr.t("email-hello"), |n| tr.t_arg("email-hello-name", "name", n))
}

/// The email with a couple's sign-in link, in their language: plain text (mail apps make
/// the link tappable).
pub fn compose_sign_in(tr: &Tr, to: &str, name: Option<&str>, link: &str, minutes: i64, from: &str) -> Result<Message, Unsendable> {
    let from = from.parse::<Mailbox>().map_err(|e| Unsendable(format!("mail_from {from}: {e}")))?;
    let address = to.parse::<lettre::Address>().map_err(|e| Unsendable(format!("'{to}' is not an address an email can go to: {e}")))?;
    let text = format!(
        "{}\n\n{}\n\n{link}\n\n{}\n",
        greeting(tr, name),
        tr.t("sign-in-tap"),
        tr.t_with("sign-in-once", &[("minutes", minutes.into())])
    );
    Message::builder()
        .from(from)
        .to(Mailbox::new(name.map(str::to_string), address))
        .subject(tr.t("sign-in-subject"))
        .singlepart(SinglePart::plain(text))
        .map_err(|e| Unsendable(format!("the email: {e}")))
}

/// What a couple's recommendation email says.
pub struct FriendRecommendation<'a> {
    pub couple: &'a str,
    pub supplier: &'a str,
    pub message: Option<&'a str>,
    pub link: &'a str,
    /// The friend's one-click way out of Bouquet's emails.
    pub unsubscribe_url: &'a str,
}

/// A couple's recommendation of a supplier to a friend, in the couple's language: plain
/// text, from the deployment, with the couple's name on it, their line quoted, and an
/// unsubscribe link (and RFC 8058 headers) like every invitation.
pub fn compose_friend_recommendation(tr: &Tr, to: &str, mail: &FriendRecommendation<'_>, from: &str) -> Result<Message, Unsendable> {
    let from = from.parse::<Mailbox>().map_err(|e| Unsendable(format!("mail_from {from}: {e}")))?;
    let address = to.parse::<lettre::Address>().map_err(|e| Unsendable(format!("'{to}' is not an address an email can go to: {e}")))?;
    let names = |id: &str| tr.t_with(id, &[("couple", mail.couple.to_string().into()), ("supplier", mail.supplier.to_string().into())]);
    let mut text = format!("{}\n\n", names("recommend-email-intro"));
    if let Some(line) = mail.message.filter(|m| !m.trim().is_empty()) {
        text.push_str(&format!("“{}”\n\n", line.trim()));
    }
    let unsubscribe = tr.t_arg("recommend-email-unsubscribe", "link", mail.unsubscribe_url);
    text.push_str(&format!("{}\n\n{}\n\n--\n{} {unsubscribe}\n", names("recommend-email-cta"), mail.link, tr.t("recommend-email-why")));
    Message::builder()
        .from(from)
        .to(Mailbox::new(None, address))
        .subject(names("recommend-email-subject"))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{}>", mail.unsubscribe_url)))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click".into()))
        .singlepart(SinglePart::plain(text))
        .map_err(|e| Unsendable(format!("the email: {e}")))
}

#[derive(Template)]
#[template(path = "notification_email.html")]
struct NotificationHtml<'a> {
    tr: &'a Tr,
    greeting: &'a str,
    title: &'a str,
    body: &'a str,
    why: &'a str,
}

#[derive(Template)]
#[template(path = "notification_email.txt")]
struct NotificationText<'a> {
    greeting: &'a str,
    title: &'a str,
    body: &'a str,
    why: &'a str,
}

/// A notification's email: from the deployment, to the account's own address, text and
/// HTML, a stable Message-ID (the notification's id).
pub fn compose_notification(n: &NotificationEmail, from: &Mailbox, public_url: &str) -> Result<Message, Unsendable> {
    let to = n
        .to
        .parse::<lettre::Address>()
        .map(|address| Mailbox::new(n.name.clone(), address))
        .map_err(|e| Unsendable(format!("'{}' is not an address an email can go to: {e}", n.to)))?;
    // In the account's language as it is now: told again from what happened, framed to match.
    let tr = Tr::for_account(n.locale.as_deref(), None);
    let told = n.notice.as_ref().map(|notice| super::notices::words(&tr, notice));
    let (title, body) = told.as_ref().map_or((n.title.as_str(), n.body.as_str()), |m| (m.title.as_str(), m.body.as_str()));
    let greeting = greeting(&tr, n.name.as_deref());
    // Couples have no app: they choose on their page.
    let why = match n.account_kind {
        bouquet_core::AccountKind::Couple => tr.t_arg("email-why-couple", "link", &format!("{public_url}/couple")),
        _ => tr.t("email-why-supplier"),
    };
    let (greeting, why) = (greeting.as_str(), why.as_str());
    let html = NotificationHtml { tr: &tr, greeting, title, body, why }
        .render()
        .map_err(|e| Unsendable(format!("the email's HTML: {e}")))?;
    let text = NotificationText { greeting, title, body, why }.render().map_err(|e| Unsendable(format!("the email's text: {e}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(title.to_string())
        .message_id(Some(format!("<notification-{}@{}>", n.id, public_host(public_url))))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| Unsendable(format!("the email: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn relay_answers_are_logged_without_addresses() {
        assert_eq!(
            super::without_addresses("550 5.1.1 <amy.ben@example.com>: Recipient address rejected; cc: dan@example.org, ok"),
            "550 5.1.1 <[address]>: Recipient address rejected; cc: [address], ok"
        );
        assert_eq!(super::without_addresses("connection refused"), "connection refused");
    }

    use super::*;

    #[test]
    fn a_token_is_the_address_keyed_and_ignores_case() {
        let key = UnsubscribeKey::new("secret");
        let token = key.token("Amy@Example.com ");
        assert_eq!(token, key.token("amy@example.com"));
        assert_ne!(token, key.token("ben@example.com"));
        assert_ne!(token, UnsubscribeKey::new("other").token("amy@example.com"), "another deployment's tokens differ");
        assert!(UnsubscribeKey::well_formed(&token));
        assert!(!UnsubscribeKey::well_formed("short"));
        assert!(!UnsubscribeKey::well_formed(&"!".repeat(43)));
    }
}

/// A mail relay's answer without the addresses in it ("550 <amy@example.com>: no such
/// user"): logs carry no email address (docs/security.md). The supplier still sees the
/// whole answer on their own invitation.
pub fn without_addresses(text: &str) -> String {
    text.split_inclusive(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '(' | ')' | ',' | ';'))
        .map(|piece| {
            let word = piece.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '(' | ')' | ',' | ';'));
            if word.contains('@') { piece.replacen(word, "[address]", 1) } else { piece.to_string() }
        })
        .collect()
}
