//! `GET /api/openapi.json`: the OpenAPI 3 document, generated from the handlers'
//! annotations and the bouquet-core types, so it cannot drift from the code.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{analytics, api, campaigns, email, fraud, notifications, privacy, webhooks, landing, metrics, recommendations, rewards};

#[derive(OpenApi)]
#[openapi(
    info(title = "Bouquet server API", description = "Referral links, QR scans, platform events and attribution."),
    paths(
        api::register, api::log_in, api::create_referral, api::list_referrals, api::post_event, api::my_stats, api::set_locale,
        api::sync_push, api::sync_pull, api::sync_state, api::code_statuses, email::deliveries, email::confirm_page, email::unsubscribe,
        webhooks::create, webhooks::list, webhooks::remove, webhooks::deliveries,
        notifications::list, notifications::preferences, notifications::set_preferences,
        api::health, metrics::serve, serve, landing::show, landing::submit_lead, landing::lookup, landing::welcome,
        rewards::my_rewards, rewards::my_balance, rewards::my_ledger, rewards::claim_reward, rewards::my_tier,
        rewards::set_visibility, rewards::leaderboards, rewards::platform_user_rewards, rewards::adjust, rewards::account_ledger,
        campaigns::create, campaigns::list, campaigns::get, campaigns::update, campaigns::active,
        campaigns::create_experiment, campaigns::experiment, campaigns::apply_experiment,
        fraud::reviews, fraud::review, fraud::decide, fraud::assessments,
        analytics::mine, analytics::platform, analytics::viral_loop,
        privacy::export, privacy::delete_account, privacy::erase_platform_user,
        api::network, recommendations::list, recommendations::act, recommendations::to_friends, recommendations::received, recommendations::set_reputation,
    ),
    modifiers(&BearerSchemes, &CommonResponses),
    tags((name = "accounts"), (name = "referrals"), (name = "events"), (name = "sync"), (name = "landing"), (name = "rewards"), (name = "campaigns"), (name = "analytics"), (name = "recommendations"), (name = "admin"), (name = "operations"))
)]
pub struct ApiDoc;

struct BearerSchemes;

impl Modify for BearerSchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("device_token", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        components.add_security_scheme("platform_key", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The answers every operation of a kind can give, whatever its handler says, added where
/// its annotation left them out — so the document tells every status a client can meet
/// (schemathesis holds it to that, tests/schemathesis):
/// - a JSON body: 400 (not JSON), 413 (too large), 415 (not `application/json`), 422 (a
///   field breaks a rule);
/// - query parameters or an id in the path: 400 (unreadable), and 404 for the id;
/// - a credential: 401 (missing or wrong), 403 (this account may not);
/// - the rate-limited groups: 429 with `Retry-After`;
/// - every operation: 408 (took longer than the server's timeout) and 503 (the database is
///   unreachable).
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
                .build()
        };
        for (path, item) in doc.paths.paths.iter_mut() {
            let rate_limited = ["/api/v1/accounts", "/api/v1/sessions", "/api/v1/events", "/api/v1/unsubscribe/", "/r"].iter().any(|p| path.starts_with(p));
            for operation in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten() {
                let parameters = operation.parameters.as_deref().unwrap_or_default();
                let has_query = parameters.iter().any(|p| p.parameter_in == ParameterIn::Query);
                let has_path = parameters.iter().any(|p| p.parameter_in == ParameterIn::Path);
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut add = |status: &str, description: &str| {
                    operation.responses.responses.entry(status.to_string()).or_insert_with(|| error(description).into());
                };
                if operation.request_body.is_some() {
                    add("400", "the body is not JSON (`malformed_json`)");
                    add("413", "the body is larger than the server accepts (`payload_too_large`)");
                    add("415", "the body is not sent as `application/json` (`unsupported_media_type`)");
                    add("422", "a field is missing or breaks a rule; the message names it");
                }
                if has_query || has_path {
                    add("400", "a parameter cannot be read (`invalid_query`, `invalid_path`)");
                }
                if has_path {
                    add("404", "nothing has this id (or it is another account's)");
                }
                if secured {
                    add("401", "no credential, or not a valid one (`unauthorized`)");
                    add("403", "this account may not do this (`forbidden`)");
                }
                if rate_limited {
                    add("429", "too many requests from this address (`rate_limited`); see `Retry-After`");
                }
                add("408", "the request took longer than the server's timeout");
                add("503", "the database is unreachable for now (`unavailable`); try again shortly");
            }
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json")))]
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
