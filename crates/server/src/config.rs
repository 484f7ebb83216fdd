//! Settings: flags beat `BOUQUET_*` environment variables (clap reads both), which beat
//! the optional TOML file (`--config`), which beats the defaults below.

use std::net::SocketAddr;
use std::path::PathBuf;

use bouquet_core::AttributionModel;
use bouquet_core::attribution::{AttributionRules, DEFAULT_HALF_LIFE_DAYS, DEFAULT_WINDOW_DAYS};
use bouquet_core::referral::DEFAULT_COOKIE_DAYS;
use chrono::Duration;
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(name = "bouquet-server", version, about = "Bouquet's sync server: referral links, QR scans, events and attribution")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the HTTP server.
    Serve(ServeArgs),
    /// Platform administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Writes a consistent copy of the SQLite database to PATH while servers keep serving
    /// (PostgreSQL: use pg_dump, docs/operations.md).
    Backup {
        #[command(flatten)]
        db: DatabaseArgs,
        /// Where the copy goes; must not exist yet.
        path: PathBuf,
    },
    /// Replaces the SQLite database with the backup at PATH (every server on it stopped)
    /// and starts a new sync epoch, so devices send again what the backup lacks.
    Restore {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The backup to restore.
        path: PathBuf,
    },
    /// Platform API keys (for `POST /api/v1/events`).
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Creates an admin account.
    Create {
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long)]
        email: String,
        /// Read from BOUQUET_ADMIN_PASSWORD when not given, so it stays out of shell history.
        #[arg(long, env = "BOUQUET_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Starts a new sync epoch: run it after restoring the database from a backup (with
    /// the servers stopped), so every device pulls from the start and sends its changes
    /// again instead of trusting positions the backup does not know.
    NewSyncEpoch {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Creates a platform API key and prints it once.
    Create {
        #[command(flatten)]
        db: DatabaseArgs,
        /// Who the key is for, e.g. `wedsync`.
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://path/to/file.db` (default `sqlite://bouquet-server.db`) or `postgres://…`.
    #[arg(long, env = "BOUQUET_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// A TOML file with any of the `serve` settings (snake_case keys).
    #[arg(long, env = "BOUQUET_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Address to listen on (port 0 picks a free port; the chosen address is logged).
    #[arg(long, env = "BOUQUET_BIND")]
    pub bind: Option<SocketAddr>,
    /// The URL people reach this server at; referral links and QR codes use it.
    #[arg(long, env = "BOUQUET_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Where the landing page's form sends couples after a lead, with `bq_touch` appended.
    #[arg(long, env = "BOUQUET_SIGNUP_URL")]
    pub signup_url: Option<String>,
    /// last_touch (default), first_touch, linear, time_decay or position_based.
    #[arg(long, env = "BOUQUET_ATTRIBUTION_MODEL")]
    pub attribution_model: Option<String>,
    #[arg(long, env = "BOUQUET_ATTRIBUTION_WINDOW_DAYS")]
    pub attribution_window_days: Option<i64>,
    #[arg(long, env = "BOUQUET_TIME_DECAY_HALF_LIFE_DAYS")]
    pub time_decay_half_life_days: Option<i64>,
    /// How long a new referral code works unless its creator says otherwise.
    #[arg(long, env = "BOUQUET_REFERRAL_LIFETIME_DAYS")]
    pub referral_lifetime_days: Option<i64>,
    #[arg(long, env = "BOUQUET_COOKIE_DAYS")]
    pub cookie_days: Option<i64>,
    /// Secret salt for hashing visitors' IP addresses; when absent one is generated and
    /// kept in the database, shared by every server process on it.
    #[arg(long, env = "BOUQUET_IP_HASH_SECRET", hide_env_values = true)]
    pub ip_hash_secret: Option<String>,
    /// Trust the first address in X-Forwarded-For (only behind a proxy you run).
    #[arg(long, env = "BOUQUET_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: Option<bool>,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "BOUQUET_BODY_LIMIT_BYTES")]
    pub body_limit_bytes: Option<usize>,
    /// `text` (default) or `json`.
    #[arg(long, env = "BOUQUET_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Put the seed's seasonal campaigns on the calendar at start (default true; each
    /// window once, edits kept).
    #[arg(long, env = "BOUQUET_SEED_CALENDAR")]
    pub seed_calendar: Option<bool>,
    /// A file of disposable email domains (one per line) to use instead of the shipped
    /// list; read again when it changes (docs/fraud.md).
    #[arg(long, env = "BOUQUET_DISPOSABLE_DOMAINS_FILE")]
    pub disposable_domains_file: Option<PathBuf>,
    /// The mail relay invitations go through (docs/email.md). Without one the server keeps
    /// invitations queued and says so.
    #[arg(long, env = "BOUQUET_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// Default: 25 with `none`, 587 with `starttls`, 465 with `tls`.
    #[arg(long, env = "BOUQUET_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// `starttls` (default), `tls` (implicit TLS) or `none` (a relay on this machine).
    #[arg(long, env = "BOUQUET_SMTP_TLS")]
    pub smtp_tls: Option<String>,
    #[arg(long, env = "BOUQUET_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    #[arg(long, env = "BOUQUET_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// Who invitations come from, e.g. `Bouquet <invitations@bouquet.example>`; the
    /// supplier's name is shown with it and replies go to the supplier.
    #[arg(long, env = "BOUQUET_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// The pause between two batches of one supplier's invitations (default 60 seconds).
    #[arg(long, env = "BOUQUET_EMAIL_BATCH_PAUSE_SECONDS")]
    pub email_batch_pause_seconds: Option<u32>,
    /// The most invitations one supplier sends in a day (default 200).
    #[arg(long, env = "BOUQUET_EMAIL_DAILY_CAP")]
    pub email_daily_cap: Option<u32>,
    /// Rate limits changed from the defaults (or the config file's), per group:
    /// `landing=300/150,sign_in=20/10` (requests a minute / burst); docs/security.md.
    #[arg(long, env = "BOUQUET_RATE_LIMITS")]
    pub rate_limits: Option<String>,
    /// Days a visit keeps what identifies its visitor (IP hash, browser, cookie; default
    /// 540); the scheduler clears it afterwards. docs/privacy.md.
    #[arg(long, env = "BOUQUET_RETENTION_TOUCH_DAYS")]
    pub retention_touch_days: Option<i64>,
    /// Days a landing-page lead keeps the couple's names and email (default 540).
    #[arg(long, env = "BOUQUET_RETENTION_LEAD_DAYS")]
    pub retention_lead_days: Option<i64>,
}

/// The same settings as read from a TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    database_url: Option<String>,
    bind: Option<SocketAddr>,
    public_url: Option<String>,
    signup_url: Option<String>,
    attribution_model: Option<String>,
    attribution_window_days: Option<i64>,
    time_decay_half_life_days: Option<i64>,
    referral_lifetime_days: Option<i64>,
    cookie_days: Option<i64>,
    ip_hash_secret: Option<String>,
    trust_forwarded_for: Option<bool>,
    body_limit_bytes: Option<usize>,
    log_format: Option<String>,
    seed_calendar: Option<bool>,
    disposable_domains_file: Option<PathBuf>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_tls: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    mail_from: Option<String>,
    email_batch_pause_seconds: Option<u32>,
    email_daily_cap: Option<u32>,
    /// The fraud policy's weights, thresholds and actions (`[fraud]`, docs/fraud.md).
    fraud: Option<bouquet_core::fraud::FraudPolicy>,
    /// The funnel's step benchmarks (`[funnel_benchmarks]`, docs/metrics.md).
    funnel_benchmarks: Option<bouquet_core::metrics::FunnelBenchmarks>,
    /// Rate limits per endpoint group (`[rate_limits.landing]` etc., docs/security.md).
    rate_limits: Option<crate::http::RateLimits>,
    retention_touch_days: Option<i64>,
    retention_lead_days: Option<i64>,
}

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: SocketAddr,
    /// Without a trailing slash.
    pub public_url: String,
    pub signup_url: String,
    pub attribution: AttributionRules,
    pub referral_lifetime: Duration,
    pub cookie_lifetime: Duration,
    pub ip_hash_secret: Option<String>,
    pub trust_forwarded_for: bool,
    pub body_limit_bytes: usize,
    pub log_json: bool,
    /// The reward rules (the seed's by default).
    pub rewards: bouquet_core::rewards::RewardRules,
    /// The currency leaderboards report conversion value in (the platform bills in one).
    pub reporting_currency: String,
    /// Whether `serve` puts the seed's seasonal calendar on the server (tests start without it,
    /// so their rewards do not depend on the date they run).
    pub seed_calendar: bool,
    /// How often the rewards scheduler looks for rewards that time made eligible or expired.
    pub scheduler_interval: std::time::Duration,
    /// The fraud policy (the seed's weights and thresholds unless the config file's
    /// `[fraud]` table says otherwise).
    pub fraud: bouquet_core::fraud::FraudPolicy,
    /// Disposable email domains to use instead of the shipped list.
    pub disposable_domains_file: Option<PathBuf>,
    /// What each funnel step is judged against to find the bottleneck (docs/metrics.md).
    pub funnel_benchmarks: bouquet_core::metrics::FunnelBenchmarks,
    /// Invitation email: the relay, the sender, the pacing (docs/email.md).
    pub email: EmailSettings,
    /// How outgoing webhooks are delivered (docs/webhooks.md).
    pub webhooks: crate::service::webhooks::WebhookSettings,
    /// Rate limits on the public and credential endpoints (docs/security.md).
    pub rate_limits: crate::http::RateLimits,
    /// How long touches and leads keep personal data (docs/privacy.md).
    pub retention: crate::service::privacy::Retention,
    /// Whether public_url (and the default signup_url) were derived from `bind`, and so
    /// must follow the address actually bound (port 0 picks one at start).
    derived_from_bind: bool,
}

impl std::fmt::Debug for Settings {
    // Secrets and the database URL (which may hold a password) stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field("signup_url", &self.signup_url)
            .field("attribution", &self.attribution)
            .field("referral_lifetime_days", &self.referral_lifetime.num_days())
            .field("cookie_days", &self.cookie_lifetime.num_days())
            .field("ip_hash_secret", &self.ip_hash_secret.as_ref().map(|_| "<set>"))
            .field("email", &self.email)
            .finish()
    }
}

/// How the server reaches its mail relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP: only for a relay on the same machine or network.
    None,
    /// SMTP upgraded with STARTTLS (submission, port 587).
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

impl SmtpTls {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "starttls" => Some(Self::StartTls),
            "tls" => Some(Self::Tls),
            _ => None,
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::StartTls => 587,
            Self::Tls => 465,
        }
    }
}

#[derive(Clone)]
pub struct SmtpRelay {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// User name and password, when the relay wants them.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpRelay {
    // The password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpRelay")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// `None`: invitations stay queued until a relay is configured.
    pub relay: Option<SmtpRelay>,
    /// The From address (`Name <address>` or an address).
    pub from: String,
    pub pacing: bouquet_core::delivery::Pacing,
    /// How long a process's claim on a batch (and on an email being sent) lasts: past it,
    /// a stopped process's batch is free for another and its email in flight is failed.
    pub lease: Duration,
    /// The wait after the first failed attempt; it doubles (bouquet_core::delivery).
    pub first_retry: Duration,
    /// How often the sender looks for a due batch.
    pub tick: std::time::Duration,
    /// How long a relay may take to answer.
    pub timeout: std::time::Duration,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://bouquet-server.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("config file {0} is not valid: {1}")]
    Parse(PathBuf, toml::de::Error),
    #[error("{0}")]
    Invalid(String),
}

fn read_file(path: Option<&PathBuf>) -> Result<FileSettings, ConfigError> {
    let Some(path) = path else { return Ok(FileSettings::default()) };
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.clone(), e))?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse(path.clone(), e))
}

pub fn database_url(db: &DatabaseArgs) -> Result<String, ConfigError> {
    let file = read_file(db.config.as_ref())?;
    Ok(db.database_url.clone().or(file.database_url).unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string()))
}

/// The mail settings as the flags, environment and file chose them.
struct SmtpChoice {
    host: Option<String>,
    port: Option<u16>,
    tls: Option<String>,
    username: Option<String>,
    password: Option<String>,
    from: Option<String>,
    pause_seconds: Option<u32>,
    daily_cap: Option<u32>,
}

fn email_settings(choice: SmtpChoice, public_url: &str) -> Result<EmailSettings, ConfigError> {
    let tls = match choice.tls.as_deref() {
        None => SmtpTls::StartTls,
        Some(t) => SmtpTls::parse(t).ok_or_else(|| ConfigError::Invalid(format!("smtp_tls must be none, starttls or tls, not {t}")))?,
    };
    let credentials = match (choice.username, choice.password) {
        (Some(user), Some(password)) => Some((user, password)),
        (None, None) => None,
        _ => return Err(ConfigError::Invalid("smtp_username and smtp_password go together: give both or neither".into())),
    };
    let relay = choice.host.filter(|h| !h.trim().is_empty()).map(|host| SmtpRelay { port: choice.port.unwrap_or(tls.default_port()), host, tls, credentials });
    let host = public_url.split("://").nth(1).unwrap_or("localhost").split(['/', ':']).next().unwrap_or("localhost");
    let from = choice.from.unwrap_or_else(|| format!("Bouquet <invitations@{host}>"));
    from.parse::<lettre::message::Mailbox>()
        .map_err(|e| ConfigError::Invalid(format!("mail_from must be an address such as `Bouquet <invitations@example.com>`, not {from}: {e}")))?;
    let pacing = bouquet_core::delivery::Pacing {
        pause_seconds: choice.pause_seconds.unwrap_or(60),
        daily_cap: choice.daily_cap.unwrap_or(200),
        ..Default::default()
    };
    if pacing.daily_cap == 0 {
        return Err(ConfigError::Invalid("email_daily_cap must be at least 1".into()));
    }
    Ok(EmailSettings {
        relay,
        from,
        pacing,
        lease: Duration::minutes(10),
        first_retry: Duration::minutes(1),
        tick: std::time::Duration::from_secs(1),
        timeout: std::time::Duration::from_secs(60),
    })
}

fn positive_days(name: &str, days: Option<i64>, default: i64) -> Result<Duration, ConfigError> {
    match days.unwrap_or(default) {
        d if (1..=3650).contains(&d) => Ok(Duration::days(d)),
        d => Err(ConfigError::Invalid(format!("{name} must be between 1 and 3650 days, not {d}"))),
    }
}

impl Settings {
    pub fn resolve(args: ServeArgs) -> Result<Self, ConfigError> {
        let file = read_file(args.db.config.as_ref())?;
        let bind = args.bind.or(file.bind).unwrap_or_else(|| DEFAULT_BIND.parse().expect("valid default"));
        let configured_url = args.public_url.or(file.public_url);
        let derived_from_bind = configured_url.is_none();
        let public_url = configured_url.unwrap_or_else(|| format!("http://{bind}")).trim_end_matches('/').to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!("public_url must start with http:// or https://, not {public_url}")));
        }
        let model_name = args.attribution_model.or(file.attribution_model);
        let model = match model_name {
            None => AttributionModel::default(),
            Some(name) => AttributionModel::parse(&name).ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "unknown attribution model '{name}': use last_touch, first_touch, linear, time_decay or position_based"
                ))
            })?,
        };
        let log_format = args.log_format.or(file.log_format).unwrap_or_else(|| "text".into());
        let signup_url = args.signup_url.or(file.signup_url);
        let derived_from_bind = derived_from_bind && signup_url.is_none();
        let fraud = file.fraud.clone().unwrap_or_default();
        fraud.validate().map_err(ConfigError::Invalid)?;
        let mut rate_limits = file.rate_limits.unwrap_or_default();
        if let Some(changes) = &args.rate_limits {
            rate_limits.change(changes).map_err(ConfigError::Invalid)?;
        }
        rate_limits.validate().map_err(ConfigError::Invalid)?;
        let funnel_benchmarks = file.funnel_benchmarks.unwrap_or_default();
        let b = funnel_benchmarks;
        if [b.visited, b.signed_up, b.activated, b.converted, b.retained].iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(ConfigError::Invalid("funnel_benchmarks must be numbers of 0 or more (0 switches a step's judgement off)".into()));
        }
        let disposable_domains_file = args.disposable_domains_file.or(file.disposable_domains_file.clone());
        if let Some(path) = &disposable_domains_file {
            std::fs::metadata(path).map_err(|e| ConfigError::Read(path.clone(), e))?;
        }
        let email = email_settings(
            SmtpChoice {
                host: args.smtp_host.or(file.smtp_host.clone()),
                port: args.smtp_port.or(file.smtp_port),
                tls: args.smtp_tls.or(file.smtp_tls.clone()),
                username: args.smtp_username.or(file.smtp_username.clone()),
                password: args.smtp_password.or(file.smtp_password.clone()),
                from: args.mail_from.or(file.mail_from.clone()),
                pause_seconds: args.email_batch_pause_seconds.or(file.email_batch_pause_seconds),
                daily_cap: args.email_daily_cap.or(file.email_daily_cap),
            },
            &public_url,
        )?;
        let cookie_lifetime = positive_days("cookie_days", args.cookie_days.or(file.cookie_days), DEFAULT_COOKIE_DAYS)?;
        let defaults = crate::service::privacy::Retention::default();
        let retention = crate::service::privacy::Retention {
            touch_days: args.retention_touch_days.or(file.retention_touch_days).unwrap_or(defaults.touch_days),
            lead_days: args.retention_lead_days.or(file.retention_lead_days).unwrap_or(defaults.lead_days),
        };
        // A visit's cookie and fingerprint decide whether a return visit is new: they must
        // outlive the cookie that names the visitor.
        if retention.touch_days < cookie_lifetime.num_days().max(30) {
            return Err(ConfigError::Invalid(format!(
                "retention_touch_days must be at least 30 and at least cookie_days ({})",
                cookie_lifetime.num_days()
            )));
        }
        if retention.lead_days < 30 {
            return Err(ConfigError::Invalid("retention_lead_days must be at least 30".into()));
        }
        // A century is "keep": beyond it the dates would overflow.
        if retention.touch_days > 36_500 || retention.lead_days > 36_500 {
            return Err(ConfigError::Invalid("retention_touch_days and retention_lead_days must be at most 36500 (100 years)".into()));
        }
        if log_format != "text" && log_format != "json" {
            return Err(ConfigError::Invalid(format!("log_format must be text or json, not {log_format}")));
        }
        Ok(Self {
            database_url: args.db.database_url.or(file.database_url).unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            signup_url: signup_url.unwrap_or_else(|| format!("{public_url}/welcome")),
            bind,
            public_url,
            attribution: AttributionRules {
                model,
                window: positive_days(
                    "attribution_window_days",
                    args.attribution_window_days.or(file.attribution_window_days),
                    DEFAULT_WINDOW_DAYS,
                )?,
                half_life: positive_days(
                    "time_decay_half_life_days",
                    args.time_decay_half_life_days.or(file.time_decay_half_life_days),
                    DEFAULT_HALF_LIFE_DAYS,
                )?,
            },
            referral_lifetime: positive_days(
                "referral_lifetime_days",
                args.referral_lifetime_days.or(file.referral_lifetime_days),
                DEFAULT_WINDOW_DAYS,
            )?,
            cookie_lifetime,
            ip_hash_secret: args.ip_hash_secret.or(file.ip_hash_secret),
            trust_forwarded_for: args.trust_forwarded_for.or(file.trust_forwarded_for).unwrap_or(false),
            body_limit_bytes: args.body_limit_bytes.or(file.body_limit_bytes).unwrap_or(DEFAULT_BODY_LIMIT),
            log_json: log_format == "json",
            rewards: bouquet_core::rewards::RewardRules::default(),
            reporting_currency: "GBP".into(),
            scheduler_interval: std::time::Duration::from_secs(60),
            seed_calendar: args.seed_calendar.or(file.seed_calendar).unwrap_or(true),
            fraud,
            funnel_benchmarks,
            disposable_domains_file,
            email,
            webhooks: Default::default(),
            rate_limits,
            retention,
            derived_from_bind,
        })
    }

    /// Records the address actually bound; links made from the bind address follow it.
    pub fn bound_to(&mut self, address: SocketAddr) {
        self.bind = address;
        if self.derived_from_bind {
            self.public_url = format!("http://{address}");
            self.signup_url = format!("{}/welcome", self.public_url);
        }
    }

    /// Settings for tests and benchmarks: an in-process server on `database_url`.
    pub fn for_tests(database_url: &str) -> Self {
        let mut settings = Self::resolve(ServeArgs {
            db: DatabaseArgs { database_url: Some(database_url.into()), config: None },
            bind: Some("127.0.0.1:0".parse().expect("valid")),
            public_url: Some("http://bouquet.test".into()),
            signup_url: Some("https://wedsync.example/signup".into()),
            attribution_model: None,
            attribution_window_days: None,
            time_decay_half_life_days: None,
            referral_lifetime_days: None,
            cookie_days: None,
            ip_hash_secret: Some("test-secret".into()),
            trust_forwarded_for: Some(false),
            body_limit_bytes: None,
            log_format: None,
            seed_calendar: Some(false),
            disposable_domains_file: None,
            smtp_host: None,
            smtp_port: None,
            smtp_tls: None,
            smtp_username: None,
            smtp_password: None,
            mail_from: None,
            email_batch_pause_seconds: None,
            email_daily_cap: None,
            rate_limits: None,
            retention_touch_days: None,
            retention_lead_days: None,
        })
        .expect("test settings are valid");
        // In-process tests call from one address far faster than people do; the tests of
        // the limits themselves set their own.
        settings.rate_limits = crate::http::RateLimits::generous();
        settings.database_url = database_url.into();
        settings.seed_calendar = false;
        settings
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> ServeArgs {
        let mut argv = vec!["bouquet-server", "serve"];
        argv.extend_from_slice(extra);
        match Cli::parse_from(argv).command {
            Command::Serve(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bouquet.toml");
        std::fs::write(&file, "attribution_model = \"linear\"\ncookie_days = 30\npublic_url = \"https://from.file/\"\n").unwrap();
        let path = file.to_str().unwrap();
        let s = Settings::resolve(args(&["--config", path, "--public-url", "https://from.flag"])).unwrap();
        assert_eq!(s.public_url, "https://from.flag");
        assert_eq!(s.attribution.model, AttributionModel::Linear);
        assert_eq!(s.cookie_lifetime, Duration::days(30));
        assert_eq!(s.attribution.window, Duration::days(30));
        assert_eq!(s.signup_url, "https://from.flag/welcome");
    }

    #[test]
    fn links_follow_a_port_picked_at_start_unless_configured() {
        let mut s = Settings::resolve(args(&["--bind", "127.0.0.1:0"])).unwrap();
        s.bound_to("127.0.0.1:43210".parse().unwrap());
        assert_eq!((s.public_url.as_str(), s.signup_url.as_str()), ("http://127.0.0.1:43210", "http://127.0.0.1:43210/welcome"));
        let mut s = Settings::resolve(args(&["--bind", "127.0.0.1:0", "--public-url", "https://bouquet.example"])).unwrap();
        s.bound_to("127.0.0.1:43210".parse().unwrap());
        assert_eq!(s.public_url, "https://bouquet.example");
    }

    #[test]
    fn bad_settings_are_explained() {
        let err = Settings::resolve(args(&["--attribution-model", "magic"])).err().unwrap();
        assert!(err.to_string().contains("unknown attribution model 'magic'"));
        let err = Settings::resolve(args(&["--cookie-days", "0"])).err().unwrap();
        assert!(err.to_string().contains("cookie_days"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "cookie_dayz = 3").unwrap();
        let err = Settings::resolve(args(&["--config", file.to_str().unwrap()])).err().unwrap();
        assert!(err.to_string().contains("not valid"), "{err}");
    }

    #[test]
    fn the_fraud_policy_comes_from_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bouquet.toml");
        std::fs::write(&file, "[fraud]\nmedium_from = 0.3\n\n[fraud.velocity]\nmax_signups = 20\n").unwrap();
        let s = Settings::resolve(args(&["--config", file.to_str().unwrap()])).unwrap();
        assert_eq!((s.fraud.medium_from, s.fraud.velocity.max_signups, s.fraud.velocity.weight), (0.3, 20, 0.30));
        assert_eq!(Settings::resolve(args(&[])).unwrap().fraud, bouquet_core::fraud::FraudPolicy::default());
        std::fs::write(&file, "[fraud]\nmedium_from = 0.9\n").unwrap();
        let err = Settings::resolve(args(&["--config", file.to_str().unwrap()])).err().unwrap();
        assert!(err.to_string().contains("medium_from"), "{err}");
        std::fs::write(&file, "[fraud.velocity]\nwieght = 0.3\n").unwrap();
        assert!(Settings::resolve(args(&["--config", file.to_str().unwrap()])).is_err());
        let missing = dir.path().join("no-such-domains.txt");
        let err = Settings::resolve(args(&["--disposable-domains-file", missing.to_str().unwrap()])).err().unwrap();
        assert!(err.to_string().contains("no-such-domains.txt"), "{err}");
    }

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(redact_url("postgres://bq:hunter2@db:5432/bouquet"), "postgres://bq:***@db:5432/bouquet");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
