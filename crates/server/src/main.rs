//! `bouquet-server`: `serve`, `admin create`, `api-key create`.

use std::process::ExitCode;

use bouquet_server::config::{self, AdminCommand, ApiKeyCommand, Cli, Command, Settings};
use bouquet_server::http::{self, AppState};
use bouquet_server::service::accounts;
use bouquet_server::store;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Logs go to stderr through a background writer, so a request does not wait on the
/// terminal or a pipe while the buffer has room. Colour codes only for a terminal. The
/// guard flushes what is buffered when `main` returns.
fn init_logs(json: bool) -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_env("BOUQUET_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // Not lossy: when the buffer is full a request waits rather than its line being dropped.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default().lossy(false).finish(std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(std::io::stderr().is_terminal());
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
    guard
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => {
            let mut settings = Settings::resolve(args).map_err(|e| e.to_string())?;
            let _logs = init_logs(settings.log_json);
            tracing::info!(?settings, "starting");
            // A restore of this SQLite file waits for every server on it to stop.
            let _serving = store::backup::hold_serving_lock(&settings.database_url).map_err(|e| e.to_string())?;
            let store = store::open(&settings.database_url).await.map_err(|e| e.to_string())?;
            let listener = tokio::net::TcpListener::bind(settings.bind)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            settings.bound_to(address);
            let every = settings.scheduler_interval;
            let seed = settings.seed_calendar;
            let retention = settings.retention;
            if seed {
                let added = bouquet_server::service::campaigns::seed_calendar(&store, chrono::Utc::now()).await.map_err(|e| e.to_string())?;
                if added > 0 {
                    tracing::info!(added, "the seed's seasonal campaigns are on the calendar");
                }
            }
            let state = AppState::new(store.clone(), settings).await.map_err(|e| e.to_string())?;
            // Invitations queued in the app before the server sent email are sent now.
            match bouquet_server::service::sync::queue_missed_invitations(&store, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(found) => tracing::info!(found, "invitations queued before email delivery existed are queued for sending"),
                Err(e) => tracing::warn!(error = %e, "queuing invitations from before email delivery failed; they will be tried at the next start"),
            }
            // Time-driven reward changes (eligible, expired) happen without a request.
            tokio::spawn(bouquet_server::service::rewards::run_scheduler(store.clone(), every, seed, retention));
            state.start_email_sender()?;
            state.start_webhook_dispatcher();
            // Tests and scripts read this line to find a port chosen with :0.
            println!("bouquet-server listening on http://{address}");
            tracing::info!(%address, "listening");
            http::serve(listener, state, http::shutdown_signal()).await.map_err(|e| e.to_string())?;
            store.close().await;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Admin { command: AdminCommand::Create { db, email, password } } => {
            let _logs = init_logs(false);
            let store = store::open(&config::database_url(&db).map_err(|e| e.to_string())?).await.map_err(|e| e.to_string())?;
            let admin = accounts::create_admin(&store, &email, password).await.map_err(|e| e.to_string())?;
            println!("admin {} created ({})", admin.email, admin.id);
            Ok(())
        }
        Command::Admin { command: AdminCommand::NewSyncEpoch { db } } => {
            let _logs = init_logs(false);
            let store = store::open(&config::database_url(&db).map_err(|e| e.to_string())?).await.map_err(|e| e.to_string())?;
            let epoch = uuid::Uuid::now_v7().simple().to_string();
            store.replace_shared_secret(http::SYNC_EPOCH, &epoch).await.map_err(|e| e.to_string())?;
            println!("new sync epoch {epoch}: devices will pull from the start and resend their changes");
            Ok(())
        }
        Command::Backup { db, path } => {
            let _logs = init_logs(false);
            let url = config::database_url(&db).map_err(|e| e.to_string())?;
            let written = store::backup::backup(&url, &path).await.map_err(|e| e.to_string())?;
            println!("backed up to {} ({} bytes)", written.path.display(), written.bytes);
            Ok(())
        }
        Command::Restore { db, path } => {
            let _logs = init_logs(false);
            let url = config::database_url(&db).map_err(|e| e.to_string())?;
            let epoch = store::backup::restore(&url, &path).await.map_err(|e| e.to_string())?;
            println!("restored from {}; new sync epoch {epoch}: devices will pull from the start and resend their changes", path.display());
            Ok(())
        }
        Command::ApiKey { command: ApiKeyCommand::Create { db, name } } => {
            let _logs = init_logs(false);
            let store = store::open(&config::database_url(&db).map_err(|e| e.to_string())?).await.map_err(|e| e.to_string())?;
            let key = accounts::create_api_key(&store, &name).await.map_err(|e| e.to_string())?;
            // The key itself on stdout (for scripts); it is not stored and cannot be shown again.
            println!("{key}");
            eprintln!("API key '{name}' created; keep it safe, it cannot be shown again");
            Ok(())
        }
    }
}
