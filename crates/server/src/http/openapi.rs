//! `GET /api/openapi.json`: the OpenAPI 3 document, generated from the handlers'
//! annotations and the bouquet-core types, so it cannot drift from the code.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{analytics, api, campaigns, email, fraud, notifications, webhooks, landing, metrics, recommendations, rewards};

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
        api::network, recommendations::list, recommendations::act, recommendations::to_friends, recommendations::received, recommendations::set_reputation,
    ),
    modifiers(&BearerSchemes),
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

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json")))]
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
