//! Accounts, devices and keys: registration, log-in (Argon2id), bearer tokens per device,
//! platform API keys. Tokens and keys are random and stored only as SHA-256 hashes.

use std::sync::{Arc, LazyLock};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use bouquet_core::account::{FAILURES_FORGOTTEN_AFTER_MINUTES, FailurePenalty, LOCK_AFTER_FAILURES, LOCK_MINUTES, failure_penalty, normalize_email};
use bouquet_core::api::{AccountView, CreateSession, RegisterAccount, SessionView};
use bouquet_core::AccountKind;
use chrono::Utc;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::validate::{required_text, text};
use crate::error::ApiError;
use crate::store::{Caller, NewAccount, Store, StoreError};

pub const MIN_PASSWORD: usize = 10;
pub const MAX_PASSWORD: usize = 256;
const DEVICE_TOKEN_PREFIX: &str = "bqd_";
const API_KEY_PREFIX: &str = "bqk_";

fn invalid(message: &str) -> ApiError {
    ApiError::invalid("invalid_field", message)
}

pub async fn register(store: &Arc<dyn Store>, req: RegisterAccount) -> Result<AccountView, ApiError> {
    if req.kind == AccountKind::Admin {
        return Err(ApiError::Forbidden("admin accounts are created with `bouquet-server admin create`"));
    }
    let email = normalize_email(&req.email).ok_or_else(|| invalid("email is not a valid email address"))?;
    let mut account = NewAccount {
        id: Uuid::now_v7(),
        kind: req.kind,
        email,
        password_hash: String::new(),
        business_name: None,
        vendor_type: None,
        couple_names: None,
        wedding_date: req.wedding_date,
        location: text("location", req.location, 200)?,
        locale: locale(req.locale)?,
        created_at: Utc::now(),
    };
    match req.kind {
        AccountKind::Supplier => {
            account.business_name = Some(required_text("business_name", req.business_name, 200)?);
            let vendor = req.vendor_type.ok_or_else(|| ApiError::invalid("missing_field", "vendor_type is required"))?;
            account.vendor_type = Some(vendor.as_str().to_string());
        }
        AccountKind::Couple => account.couple_names = Some(required_text("couple_names", req.couple_names, 200)?),
        AccountKind::Admin => unreachable!("refused above"),
    }
    account.password_hash = hash_password(req.password).await?;
    store.create_account(account).await.map_err(|e| match e {
        StoreError::Conflict(_) => ApiError::Conflict("an account with this email already exists".into()),
        other => other.into(),
    })
}

/// A language tag as given (`es`, `en-GB`, `pt_BR`) in its canonical form; empty is none.
/// Any well-formed tag is kept, not only the languages Bouquet has: pages fall back to the
/// browser's languages, then English, and a language added later is used at once.
pub fn locale(raw: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()) else { return Ok(None) };
    let tag = (raw.len() <= 35).then(|| raw.parse::<fluent_templates::LanguageIdentifier>().ok()).flatten();
    match tag {
        Some(tag) if tag.language.as_str() != "und" => Ok(Some(tag.to_string())),
        _ => Err(ApiError::invalid("invalid_field", "locale is not a language tag (e.g. \"es\" or \"en-GB\")")),
    }
}

/// Sets the language of the account's pages and emails; `None` follows the browser.
pub async fn set_locale(store: &Arc<dyn Store>, account: &AccountView, raw: Option<String>) -> Result<AccountView, ApiError> {
    let locale = locale(raw)?;
    store.set_locale(account.id, locale.as_deref()).await?;
    Ok(AccountView { locale, ..account.clone() })
}

/// Creates an admin (CLI only).
pub async fn create_admin(store: &Arc<dyn Store>, email: &str, password: String) -> Result<AccountView, ApiError> {
    let email = normalize_email(email).ok_or_else(|| invalid("email is not a valid email address"))?;
    let account = NewAccount {
        id: Uuid::now_v7(),
        kind: AccountKind::Admin,
        email,
        password_hash: hash_password(password).await?,
        business_name: None,
        vendor_type: None,
        couple_names: None,
        wedding_date: None,
        location: None,
        locale: None,
        created_at: Utc::now(),
    };
    Ok(store.create_account(account).await?)
}

/// Where a password attempt comes from, for counting wrong passwords: the deployment's
/// secret that keys the hashes, and the client's address.
pub struct AttemptFrom<'a> {
    pub secret: &'a str,
    pub client: Option<std::net::IpAddr>,
}

impl AttemptFrom<'_> {
    fn client_hash(&self) -> String {
        self.client.map_or_else(|| "unknown".to_string(), |ip| crate::service::visitors::hash_ip(self.secret, ip))
    }
}

/// An email as the wrong-password count knows it: keyed, so the table holds no address.
pub fn email_key(secret: &str, email: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"sign-in email:");
    mac.update(email.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// Signs in with a password. Attempts without success for one email from one client
/// count in a row (`bouquet_core::account::failure_penalty`): the third and fourth wrong
/// answers are held back, the fifth locks that email's sign-in from that client for a
/// while — even the right password waits, and an emailed sign-in link lifts it. Counted
/// before the password is checked, so guesses sent at once cannot slip past the count;
/// counted whether or not the email has an account, so the answers tell nobody which
/// emails are registered; per client, so nobody can lock an account holder out from
/// elsewhere.
pub async fn log_in(store: &Arc<dyn Store>, req: CreateSession, from: &AttemptFrom<'_>) -> Result<SessionView, ApiError> {
    const WRONG: ApiError = ApiError::Unauthorized("wrong email or password");
    let now = Utc::now();
    let email = normalize_email(&req.email).ok_or(WRONG)?;
    let (email_hash, client_hash) = (email_key(from.secret, &email), from.client_hash());
    let forget_before = now - chrono::Duration::minutes(FAILURES_FORGOTTEN_AFTER_MINUTES);
    let (attempt, locked) = store.begin_sign_in(&email_hash, &client_hash, now, forget_before).await?;
    if let Some(until) = locked.filter(|until| *until > now) {
        return Err(ApiError::Locked { until });
    }
    let (email_ref, client_ref) = (email_hash.as_str(), client_hash.as_str());
    let lock = move |until| async move {
        store.lock_sign_in(email_ref, client_ref, until).await?;
        tracing::warn!("sign-in locked after wrong passwords");
        Err::<SessionView, ApiError>(ApiError::Locked { until })
    };
    if attempt > LOCK_AFTER_FAILURES {
        // Guesses sent together: the ones past the limit are not even checked.
        return lock(now + chrono::Duration::minutes(LOCK_MINUTES)).await;
    }
    let found = store.account_by_email(&email).await?;
    // Verify against a dummy hash when there is no account, so timing does not reveal
    // which emails are registered.
    let hash = found.as_ref().map(|(_, h)| h.clone()).unwrap_or_else(|| DUMMY_HASH.clone());
    if verify_password(req.password, hash).await?
        && let Some((account, _)) = found
    {
        store.clear_sign_in_failures(&email_hash, Some(&client_hash)).await?;
        return open_session(store, account, req.device_name).await;
    }
    match failure_penalty(attempt) {
        FailurePenalty::None => Err(WRONG),
        FailurePenalty::SlowDown { seconds } => {
            tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
            Err(WRONG)
        }
        FailurePenalty::Lock { minutes } => lock(now + chrono::Duration::minutes(minutes)).await,
    }
}

/// A new session (a device token) for an account already proven: by its password, or by
/// a sign-in link emailed to it.
pub async fn open_session(store: &Arc<dyn Store>, account: AccountView, device_name: Option<String>) -> Result<SessionView, ApiError> {
    let device_name = text("device_name", device_name, 100)?;
    let token = random_secret(DEVICE_TOKEN_PREFIX);
    let (device_id, code_namespace) = store.create_device(account.id, device_name.as_deref(), &secret_hash(&token)).await?;
    Ok(SessionView { token, device_id, code_namespace, account })
}

/// A new sign-in link's token (to email) and its hash (to keep).
pub fn sign_in_token() -> (String, String) {
    let token = random_secret("bql_");
    let hash = secret_hash(&token);
    (token, hash)
}

/// The hash a sign-in link's token is kept under.
pub fn sign_in_token_hash(token: &str) -> String {
    secret_hash(token)
}

pub async fn authenticate(store: &Arc<dyn Store>, bearer: Option<&str>) -> Result<Caller, ApiError> {
    let token = bearer.ok_or(ApiError::Unauthorized("sign in first: send Authorization: Bearer <token>"))?;
    if !token.starts_with(DEVICE_TOKEN_PREFIX) {
        return Err(ApiError::Unauthorized("this is not a device token"));
    }
    store
        .caller_by_token(&secret_hash(token))
        .await?
        .ok_or(ApiError::Unauthorized("this token is unknown or was revoked; sign in again"))
}

/// Creates a platform API key, returning it in the clear (shown once).
pub async fn create_api_key(store: &Arc<dyn Store>, name: &str) -> Result<String, ApiError> {
    let name = required_text("name", Some(name.to_string()), 100)?;
    let key = random_secret(API_KEY_PREFIX);
    store.create_api_key(&name, &secret_hash(&key)).await.map_err(|e| match e {
        StoreError::Conflict(_) => ApiError::Conflict(format!("an API key named '{name}' already exists")),
        other => other.into(),
    })?;
    Ok(key)
}

pub async fn authenticate_platform(store: &Arc<dyn Store>, bearer: Option<&str>) -> Result<(), ApiError> {
    let key = bearer.ok_or(ApiError::Unauthorized("send the platform API key as Authorization: Bearer <key>"))?;
    if key.starts_with(API_KEY_PREFIX) && store.api_key_exists(&secret_hash(key)).await? {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("this API key is unknown or was revoked"))
    }
}

fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Tokens are 256 random bits, so a fast hash is enough (no brute force to slow down).
fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(b"no such account", &salt).expect("hashing works").to_string()
});

/// Argon2id with the crate's defaults (19 MiB, 2 passes), off the async threads.
async fn hash_password(password: String) -> Result<String, ApiError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD {
        return Err(invalid(&format!("password must have at least {MIN_PASSWORD} characters")));
    }
    if length > MAX_PASSWORD {
        return Err(invalid(&format!("password must have at most {MAX_PASSWORD} characters")));
    }
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))
}

async fn verify_password(password: String, hash: String) -> Result<bool, ApiError> {
    if password.chars().count() > MAX_PASSWORD {
        return Ok(false);
    }
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

#[cfg(test)]
mod tests {
    #[test]
    fn locales_are_language_tags() {
        assert_eq!(super::locale(Some(" es ".into())).unwrap(), Some("es".into()));
        assert_eq!(super::locale(Some("pt_br".into())).unwrap(), Some("pt-BR".into()));
        assert_eq!(super::locale(Some(String::new())).unwrap(), None);
        assert_eq!(super::locale(None).unwrap(), None);
        for bad in ["not a language", "e", "und", &"x".repeat(40)] {
            assert!(super::locale(Some(bad.into())).is_err(), "{bad}");
        }
    }
}
