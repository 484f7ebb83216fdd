//! The HTTP layer: routes, extractors, middleware. Handlers parse, call `service`, and
//! map the result; no business rule lives here.

mod admin;
mod admin_campaigns;
mod admin_analytics;
mod admin_fraud;
mod admin_webhooks;
mod analytics;
mod api;
mod campaigns;
mod couples;
mod email;
mod extract;
mod fraud;
mod landing;
mod limits;
pub use limits::{Limit, RateLimits};
mod notifications;
mod privacy;
mod rewards;
mod webhooks;
pub mod metrics;
mod recommendations;
pub mod openapi;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::middleware;
use axum::routing::{delete, get, patch, post, put};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::config::Settings;
use crate::service::visitors::BotFilter;
use crate::store::Store;
use uuid::Uuid;

use crate::service::fraud::{DisposableDomains, FraudRules};

/// The shared secret naming the current sync epoch.
pub const SYNC_EPOCH: &str = "sync_epoch";

/// Everything a handler may need, behind one reference count: every request clones the
/// state for each extractor and middleware that asks for it, and a struct of a dozen
/// `Arc`s cloned and dropped that often was 7% of the landing page's CPU under load
/// (perf, issue 17), its counters' cache lines bouncing between cores.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    /// Salt for visitors' IP hashes (from settings, or shared through the database).
    pub ip_secret: Arc<str>,
    pub bots: Arc<BotFilter>,
    pub metrics: Arc<metrics::Metrics>,
    /// Names this database's change numbering; a restored backup is given a new one
    /// (`bouquet-server admin new-sync-epoch`) so devices start their pulls again.
    pub sync_epoch: Arc<str>,
    /// The fraud policy and the disposable-domain list it checks.
    pub fraud: Arc<FraudRules>,
    /// When each account's own IP hash was last recorded (fraud rules compare referees
    /// with it), so a busy device writes it at most hourly.
    pub marks_seen: Arc<std::sync::Mutex<std::collections::HashMap<(Uuid, String), std::time::Instant>>>,
    /// Keys the unsubscribe tokens of invitation emails (shared through the database).
    pub unsubscribe_key: crate::service::email::UnsubscribeKey,
    /// This process's rate limiters (docs/security.md).
    pub limits: Arc<limits::Limiters>,
    /// Codes the landing page looked up in the last second.
    pub recent_codes: Arc<crate::service::landing::RecentCodes>,
}

impl AppState {
    pub async fn new(store: Arc<dyn Store>, settings: Settings) -> Result<Self, crate::store::StoreError> {
        let ip_secret = match &settings.ip_hash_secret {
            Some(secret) => secret.clone(),
            None => {
                use argon2::password_hash::rand_core::{OsRng, RngCore};
                let mut bytes = [0u8; 32];
                OsRng.fill_bytes(&mut bytes);
                store.shared_secret("ip_hash_salt", &hex::encode(bytes)).await?
            }
        };
        let sync_epoch = store.shared_secret(SYNC_EPOCH, &Uuid::now_v7().simple().to_string()).await?;
        let unsubscribe_key = {
            use argon2::password_hash::rand_core::{OsRng, RngCore};
            let mut bytes = [0u8; 32];
            OsRng.fill_bytes(&mut bytes);
            store.shared_secret(crate::service::email::UNSUBSCRIBE_KEY, &hex::encode(bytes)).await?
        };
        // The file was read once when the settings were resolved; should it have gone
        // since, the shipped list stands in (and says so) rather than no list at all.
        let disposable = DisposableDomains::load(settings.disposable_domains_file.clone()).unwrap_or_else(|e| {
            tracing::error!(error = %e, "using the shipped disposable email domains");
            DisposableDomains::load(None).expect("the shipped list loads")
        });
        let fraud = FraudRules { policy: settings.fraud.clone(), disposable };
        Ok(Self(Arc::new(Shared {
            limits: limits::Limiters::new(&settings.rate_limits),
            recent_codes: Default::default(),
            fraud: Arc::new(fraud),
            sync_epoch: sync_epoch.into(),
            store,
            settings: Arc::new(settings),
            ip_secret: ip_secret.into(),
            bots: Arc::new(BotFilter::default()),
            metrics: Arc::new(metrics::Metrics::default()),
            marks_seen: Arc::default(),
            unsubscribe_key: crate::service::email::UnsubscribeKey::new(&unsubscribe_key),
        })))
    }

    /// Starts delivering webhooks from the outbox.
    pub fn start_webhook_dispatcher(&self) -> tokio::task::JoinHandle<()> {
        let dispatcher = crate::service::webhooks::Dispatcher::new(self.store.clone(), self.settings.webhooks.clone());
        tokio::spawn(dispatcher.run())
    }

    /// Starts sending queued invitations (docs/email.md) when a mail relay is configured;
    /// `None` (and a warning) when not: invitations then wait in the queue.
    pub fn start_email_sender(&self) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
        let email = &self.settings.email;
        match crate::service::email::Sender::new(self.store.clone(), email, &self.settings.public_url, self.unsubscribe_key.clone())? {
            Some(sender) => Ok(Some(tokio::spawn(sender.run()))),
            None => {
                tracing::warn!("no mail relay is configured (BOUQUET_SMTP_HOST): queued invitations wait until one is");
                Ok(None)
            }
        }
    }
}

pub fn router(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    // The public and credential endpoints, each group behind its rate limit.
    let api_sign_in = Router::new()
        .route("/accounts", post(api::register))
        .route("/sessions", post(api::log_in))
        .route_layer(middleware::from_fn_with_state(state.clone(), limits::sign_in));
    let api_events = Router::new().route("/events", post(api::post_event)).route_layer(middleware::from_fn_with_state(state.clone(), limits::events));
    let api_unsubscribe = Router::new()
        .route("/unsubscribe/{token}", get(email::confirm_page).post(email::unsubscribe))
        .route_layer(middleware::from_fn_with_state(state.clone(), limits::unsubscribe));
    let landing_pages = Router::new()
        .route("/r", get(landing::lookup))
        .route("/r/{code}", get(landing::show).post(landing::submit_lead))
        .route_layer(middleware::from_fn_with_state(state.clone(), limits::landing));
    let sign_in_pages = Router::new()
        .route("/couple/login", get(couples::login_form).post(couples::log_in))
        .route("/couple/login/link", post(couples::ask_for_link))
        .route("/couple/login/{token}", get(couples::confirm_link).post(couples::use_link))
        .route("/admin/login", get(admin::login_form).post(admin::log_in))
        .route_layer(middleware::from_fn_with_state(state.clone(), limits::sign_in));
    let api = Router::new()
        .merge(api_sign_in)
        .merge(api_events)
        .merge(api_unsubscribe)
        .route("/referrals", post(api::create_referral).get(api::list_referrals))
        .route("/me/stats", get(api::my_stats))
        .route("/me/locale", put(api::set_locale))
        .route("/me", delete(privacy::delete_account))
        .route("/me/export", get(privacy::export))
        .route("/platform/users/{id}", delete(privacy::erase_platform_user))
        .route("/me/rewards", get(rewards::my_rewards))
        .route("/me/rewards/{id}/claim", post(rewards::claim_reward))
        .route("/me/balance", get(rewards::my_balance))
        .route("/me/ledger", get(rewards::my_ledger))
        .route("/me/tier", get(rewards::my_tier))
        .route("/me/leaderboard-visibility", put(rewards::set_visibility))
        .route("/leaderboards", get(rewards::leaderboards))
        .route("/platform/users/{id}/rewards", get(rewards::platform_user_rewards))
        .route("/admin/ledger/adjustments", post(rewards::adjust))
        .route("/admin/accounts/{id}/ledger", get(rewards::account_ledger))
        .route("/admin/webhooks", post(webhooks::create).get(webhooks::list))
        .route("/admin/webhooks/{id}", delete(webhooks::remove))
        .route("/admin/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/admin/campaigns", post(campaigns::create).get(campaigns::list))
        .route("/admin/campaigns/{id}", get(campaigns::get).merge(patch(campaigns::update)))
        .route("/campaigns/active", get(campaigns::active))
        .route("/admin/campaigns/{id}/experiments", post(campaigns::create_experiment))
        .route("/admin/experiments/{id}", get(campaigns::experiment))
        .route("/admin/experiments/{id}/apply", post(campaigns::apply_experiment))
        .route("/admin/fraud/reviews", get(fraud::reviews))
        .route("/admin/fraud/reviews/{id}", get(fraud::review))
        .route("/admin/fraud/reviews/{id}/decision", post(fraud::decide))
        .route("/admin/fraud/assessments", get(fraud::assessments))
        .route("/me/analytics", get(analytics::mine))
        .route("/admin/analytics", get(analytics::platform))
        .route("/admin/analytics/loop", get(analytics::viral_loop))
        .route("/recommendations", get(recommendations::list))
        .route("/recommendations/act", post(recommendations::act))
        .route("/recommendations/friends", post(recommendations::to_friends))
        .route("/me/recommended-by", get(recommendations::received))
        .route("/me/network", get(api::network))
        .route("/platform/suppliers/{id}/reputation", put(recommendations::set_reputation))
        .route("/sync/push", post(api::sync_push).layer(DefaultBodyLimit::max(bouquet_core::sync::MAX_PUSH_BYTES)))
        .route("/sync/pull", get(api::sync_pull))
        .route("/sync/state", get(api::sync_state))
        .route("/sync/codes", get(api::code_statuses))
        .route("/sync/invitations", get(email::deliveries))
        .route("/me/notifications", get(notifications::list))
        .route("/me/notification-preferences", get(notifications::preferences).put(notifications::set_preferences))
        .fallback(api::not_found);
    Router::new()
        .nest("/api/v1", api)
        .route("/api/openapi.json", get(openapi::serve))
        .route("/healthz", get(api::health))
        .route("/metrics", get(metrics::serve))
        .merge(landing_pages)
        .merge(sign_in_pages)
        .route("/welcome", get(landing::welcome))
        .route("/couple", get(couples::show))
        .route("/couple/logout", post(couples::log_out))
        .route("/couple/emails", post(couples::save_emails))
        .route("/couple/language", post(couples::save_language))
        .route("/couple/recommend", post(couples::recommend))
        .route("/couple/share.js", get(couples::share_js))
        .route("/admin", get(admin::accounts_page))
        .route("/admin/logout", post(admin::log_out))
        .route("/admin/accounts/{id}", get(admin::account_page))
        .route("/admin/accounts/{id}/adjustments", post(admin::adjust))
        .route("/admin/campaigns", get(admin_campaigns::list).post(admin_campaigns::create))
        .route("/admin/campaigns/{id}", get(admin_campaigns::show))
        .route("/admin/campaigns/{id}/action", post(admin_campaigns::act))
        .route("/admin/experiments/{id}/apply", post(admin_campaigns::apply))
        .route("/admin/webhooks", get(admin_webhooks::list).post(admin_webhooks::create))
        .route("/admin/webhooks/{id}", get(admin_webhooks::show))
        .route("/admin/webhooks/{id}/delete", post(admin_webhooks::delete))
        .route("/admin/fraud", get(admin_fraud::queue))
        .route("/admin/analytics", get(admin_analytics::show))
        .route("/admin/analytics.csv", get(admin_analytics::csv))
        .route("/admin/fraud/{id}", get(admin_fraud::show))
        .route("/admin/fraud/{id}/decision", post(admin_fraud::decide))
        .fallback(landing::not_found)
        // Security headers for every response that has not set its own: no framing, no
        // sniffing, no referrer, and the pages' Content Security Policy.
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, page_csp(&state.settings)))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(state.settings.body_limit_bytes))
        .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest).compress_when(worth_compressing()))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // A sign-in link's and an unsubscribe link's paths are credentials: never logged.
                    let path = req.uri().path();
                    let path = if path.starts_with("/couple/login/bql_") {
                        "/couple/login/{token}"
                    } else if path.starts_with("/api/v1/unsubscribe/") {
                        "/api/v1/unsubscribe/{token}"
                    } else {
                        path
                    };
                    tracing::info_span!("request", method = %req.method(), uri = %path, request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

/// Which answers are compressed: those past what a phone receives in the first round
/// trip anyway. A new TCP connection may send ten segments (about 14 kB) before the first
/// acknowledgement, so a smaller page arrives no sooner for being smaller. Gzip saved the
/// landing page 1.6 of its 3 kB and cost a tenth of the server's CPU under a fair's burst
/// (a fifth of serving the page without its visit), the encoder's state zeroed each time.
/// Large answers (the console's tables, exports, the OpenAPI document, sync pages) still
/// are, at the fastest level: at the best one, deflate cost a sixth of the CPU for a few
/// bytes more per page.
fn worth_compressing() -> impl tower_http::compression::Predicate {
    use tower_http::compression::predicate::{NotForContentType, Predicate as _, SizeAbove};
    SizeAbove::new(FIRST_FLIGHT_BYTES).and(NotForContentType::GRPC).and(NotForContentType::IMAGES).and(NotForContentType::SSE)
}

/// The body size under which an answer is sent as it is (see [`worth_compressing`]):
/// ten segments of 1,460 bytes, less room for the headers.
pub const FIRST_FLIGHT_BYTES: u16 = 12 * 1024;

/// The scheme, host and port of a URL: "https://wedsync.example".
fn origin(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    Some(url[after_scheme..].find('/').map_or(url, |path| &url[..after_scheme + path]))
}

/// The Content Security Policy of every page that does not set its own (the admin console
/// and the couples' pages set stricter ones): no script at all for the pages rendered here
/// (the landing, welcome, unsubscribe and not-found pages), whose only form posts here and
/// is then sent on to the platform's sign-up page — so that origin may receive a form too.
fn page_csp(settings: &Settings) -> HeaderValue {
    let signup = origin(&settings.signup_url).filter(|o| !o.contains([' ', ';', '\'', ','])).unwrap_or("");
    let csp = format!("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self' {signup}; frame-ancestors 'none'; base-uri 'none'");
    HeaderValue::from_str(&csp).unwrap_or_else(|_| {
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    })
}

/// Serves on `listener` until `shutdown` resolves, then finishes in-flight requests.
/// Tests bind port 0 and pass their own shutdown future.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod origin_tests {
    #[test]
    fn an_origin_is_scheme_host_and_port() {
        assert_eq!(super::origin("https://wedsync.example/signup?x=1"), Some("https://wedsync.example"));
        assert_eq!(super::origin("http://127.0.0.1:8080/welcome"), Some("http://127.0.0.1:8080"));
        assert_eq!(super::origin("https://wedsync.example"), Some("https://wedsync.example"));
        assert_eq!(super::origin("not a url"), None);
    }
}
