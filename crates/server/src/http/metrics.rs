//! Prometheus metrics at `GET /metrics`: requests by route and status, their latency,
//! landing-page visits by kind, leads, and events by type and outcome. One registry per
//! server (no global), so tests can run many servers in one process.

use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bouquet_core::api::{EventOutcome, EventStatus};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    r#type: String,
    status: String,
    attributed: &'static str,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    visits: Family<KindLabels, Counter>,
    leads: Counter,
    events: Family<EventLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("bouquet");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 14))
        });
        let visits = Family::<KindLabels, Counter>::default();
        let leads = Counter::default();
        let events = Family::<EventLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency", latency.clone());
        registry.register("landing_visits", "Landing page views: unique, repeat (within an hour) or bot", visits.clone());
        registry.register("leads", "Leads left on landing pages", leads.clone());
        registry.register("platform_events", "Platform events by type and outcome", events.clone());
        Self { registry: Mutex::new(registry), requests, latency, visits, leads, events }
    }
}

impl Metrics {
    pub fn visit(&self, kind: &str) {
        self.visits.get_or_create(&KindLabels { kind: kind.to_string() }).inc();
    }

    pub fn lead(&self) {
        self.leads.inc();
    }

    pub fn event(&self, kind: &str, outcome: &EventOutcome) {
        let status = match outcome.status {
            EventStatus::Recorded => "recorded",
            EventStatus::Duplicate => "duplicate",
        };
        let labels = EventLabels { r#type: kind.to_string(), status: status.to_string(), attributed: if outcome.conversion.is_some() { "yes" } else { "no" } };
        self.events.get_or_create(&labels).inc();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        encode(&mut out, &registry).expect("writing to a String cannot fail");
        out
    }
}

/// Middleware: counts and times every request under its route pattern (never the raw
/// path, so codes do not explode the label set).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let m = &state.metrics;
    m.requests.get_or_create(&RequestLabels { method, route: route.clone(), status: response.status().as_u16() }).inc();
    m.latency.get_or_create(&RouteLabels { route }).observe(started.elapsed().as_secs_f64());
    response
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "OpenMetrics text format (Prometheus reads it)", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
pub async fn serve(State(state): State<AppState>) -> Response {
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.render()).into_response()
}
