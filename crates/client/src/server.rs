//! A typed client of the sync server's HTTP API.

use bouquet_core::AccountKind;
use bouquet_core::analytics::AnalyticsReport;
use bouquet_core::api::{ActiveCampaign, BalanceView, CreateSession, ErrorBody, Health, Leaderboard, RewardsPage, SessionView, StatsView, TierView};
use bouquet_core::leaderboard::LeaderboardPeriod;
use bouquet_core::metrics::Period;
use bouquet_core::sync::{CodeStatus, PullPage, PushRequest, PushResponse, SCHEMA_VERSION, SyncState};
use serde::de::DeserializeOwned;

use crate::ClientError;

#[derive(Debug, Clone)]
pub struct ServerClient {
    base_url: String,
    http: reqwest::Client,
    /// The device's bearer token, for the calls that need one.
    token: Option<String>,
}

impl ServerClient {
    pub fn new(base_url: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("a default reqwest client always builds");
        Self { base_url: base_url.trim_end_matches('/').to_string(), http, token: None }
    }

    /// The same server, calling as the device holding `token`.
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub async fn health(&self) -> Result<Health, ClientError> {
        self.get("/healthz").await
    }

    /// Signs this device in: the answer carries its token and code namespace.
    pub async fn sign_in(&self, email: &str, password: &str, device_name: &str) -> Result<SessionView, ClientError> {
        let body = CreateSession { email: email.into(), password: password.into(), device_name: Some(device_name.into()) };
        let response = self
            .http
            .post(format!("{}/api/v1/sessions", self.base_url))
            .json(&body)
            .send()
            .await
            .map_err(|e| ClientError::Offline { url: self.base_url.clone(), reason: e.to_string() })?;
        Self::answer(response).await
    }

    pub async fn push(&self, request: &PushRequest) -> Result<PushResponse, ClientError> {
        self.send(self.http.post(self.url("/api/v1/sync/push")).json(request)).await
    }

    pub async fn pull(&self, after: i64, epoch: Option<&str>, limit: i64) -> Result<PullPage, ClientError> {
        // The version says which kinds of record this app reads (older apps get no profiles).
        let mut query = vec![("after", after.to_string()), ("limit", limit.to_string()), ("schema_version", SCHEMA_VERSION.to_string())];
        if let Some(epoch) = epoch {
            query.push(("epoch", epoch.to_string()));
        }
        self.send(self.http.get(self.url("/api/v1/sync/pull")).query(&query)).await
    }

    pub async fn sync_state(&self) -> Result<SyncState, ClientError> {
        self.send(self.http.get(self.url("/api/v1/sync/state"))).await
    }

    pub async fn code_statuses(&self) -> Result<Vec<CodeStatus>, ClientError> {
        self.send(self.http.get(self.url("/api/v1/sync/codes"))).await
    }

    pub async fn stats(&self) -> Result<StatsView, ClientError> {
        self.send(self.http.get(self.url("/api/v1/me/stats"))).await
    }

    /// The account's credits: pending, available, claimed, held.
    pub async fn balance(&self) -> Result<BalanceView, ClientError> {
        self.get("/api/v1/me/balance").await
    }

    /// The account's tier and how far the next one is (`422 no_tiers` for an admin).
    pub async fn tier(&self) -> Result<TierView, ClientError> {
        self.get("/api/v1/me/tier").await
    }

    /// The account's newest `limit` rewards (1–200), newest first.
    pub async fn rewards(&self, limit: i64) -> Result<RewardsPage, ClientError> {
        self.send(self.http.get(self.url("/api/v1/me/rewards")).query(&[("limit", limit)])).await
    }

    /// A leaderboard of `kind` (supplier or couple) with the caller's own entry.
    pub async fn leaderboard(&self, kind: AccountKind, period: LeaderboardPeriod) -> Result<Leaderboard, ClientError> {
        let query = [("kind", kind.as_str()), ("period", period.as_str())];
        self.send(self.http.get(self.url("/api/v1/leaderboards")).query(&query)).await
    }

    /// How the server is sending the account's queued invitations (docs/email.md).
    pub async fn invitation_deliveries(&self) -> Result<bouquet_core::delivery::DeliveryReport, ClientError> {
        self.get("/api/v1/sync/invitations").await
    }

    /// The account's newest notifications (docs/notifications.md).
    pub async fn notifications(&self, limit: i64) -> Result<Vec<bouquet_core::notifications::NotificationView>, ClientError> {
        self.send(self.http.get(self.url("/api/v1/me/notifications")).query(&[("limit", limit)])).await
    }

    /// Couples' recommendations of this supplier, with how far each got.
    pub async fn recommended_by(&self) -> Result<bouquet_core::recommend::RecommendationsReceived, ClientError> {
        self.get("/api/v1/me/recommended-by").await
    }

    /// Who joined the platform through this supplier's invitations, and through them.
    pub async fn network(&self) -> Result<bouquet_core::network::Network, ClientError> {
        self.get("/api/v1/me/network").await
    }

    /// Which kinds of notification the account gets by email.
    pub async fn notification_preferences(&self) -> Result<Vec<bouquet_core::notifications::NotificationPreference>, ClientError> {
        self.get("/api/v1/me/notification-preferences").await
    }

    /// Sets some kinds' email choice; answers every kind's.
    pub async fn set_notification_preferences(
        &self,
        choices: &[bouquet_core::notifications::NotificationPreference],
    ) -> Result<Vec<bouquet_core::notifications::NotificationPreference>, ClientError> {
        self.send(self.http.put(self.url("/api/v1/me/notification-preferences")).json(choices)).await
    }

    /// The campaigns open to the account now (name, multiplier, bonus, incentives, end).
    pub async fn active_campaigns(&self) -> Result<Vec<ActiveCampaign>, ClientError> {
        self.get("/api/v1/campaigns/active").await
    }

    /// The account's own growth analytics (docs/metrics.md) by `period`, over the server's
    /// default range (30 days, 12 weeks or 12 months back to now).
    pub async fn my_analytics(&self, period: Period) -> Result<AnalyticsReport, ClientError> {
        self.send(self.http.get(self.url("/api/v1/me/analytics")).query(&[("period", period.as_str())])).await
    }

    /// Everything the server holds about the account (`bouquet-account-export/1`).
    pub async fn export_account(&self) -> Result<serde_json::Value, ClientError> {
        self.get("/api/v1/me/export").await
    }

    /// Deletes the account on the server, confirmed by its email (docs/privacy.md).
    pub async fn delete_account(&self, confirm_email: &str) -> Result<(), ClientError> {
        let request = self.http.delete(self.url("/api/v1/me")).json(&bouquet_core::api::DeleteAccount { confirm_email: confirm_email.into() });
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().await.map_err(|e| ClientError::Offline { url: self.base_url.clone(), reason: e.to_string() })?;
        if response.status().is_success() {
            return Ok(());
        }
        Self::answer::<serde_json::Value>(response).await.map(|_| ())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.http.get(self.url(path))).await
    }

    async fn send<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T, ClientError> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().await.map_err(|e| ClientError::Offline { url: self.base_url.clone(), reason: e.to_string() })?;
        Self::answer(response).await
    }

    /// The body as `T` on success, else the server's `{code, message}` as an error.
    async fn answer<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| ClientError::Protocol(e.to_string()))?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol(e.to_string()))
        } else {
            let body: ErrorBody = serde_json::from_slice(&bytes)
                .map_err(|_| ClientError::Protocol(format!("HTTP {status} without an error body")))?;
            Err(match body.change {
                Some(seq) => ClientError::Refused { seq, code: body.code, message: body.message },
                None => ClientError::Server { code: body.code, message: body.message },
            })
        }
    }
}

/// What the app shows about its server: reachable or not, and why.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct ServerStatus {
    pub server_url: String,
    pub reachable: bool,
    pub database: Option<String>,
    pub version: Option<String>,
    #[ts(as = "Option<bouquet_core::api::ErrorBody>")]
    pub problem: Option<ClientError>,
}

impl ServerClient {
    /// Never fails: being offline is a state the app shows, not an error.
    pub async fn status(&self) -> ServerStatus {
        match self.health().await {
            Ok(h) => ServerStatus {
                server_url: self.base_url.clone(),
                reachable: true,
                database: Some(h.database),
                version: Some(h.version),
                problem: None,
            },
            Err(e) => ServerStatus {
                server_url: self.base_url.clone(),
                reachable: false,
                database: None,
                version: None,
                problem: Some(e),
            },
        }
    }
}
