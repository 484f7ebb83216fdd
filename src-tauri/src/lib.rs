//! The desktop app's shell: Tauri commands that are one-line calls into bouquet-client.
//! Nothing here decides anything; errors reach the UI as `{code, message}`.

mod commands;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bouquet_client::{ClientError, LocalStore};
use bouquet_client::background::SyncLoop;
use bouquet_client::store::default_data_dir;
use tauri::{Emitter, Manager};

/// Where the sync server is until the user signs in to another: `BOUQUET_SERVER_URL`,
/// else a server on this machine.
pub const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:8080";

/// Puts the opened store in the app's state and starts background sync: `sync-status`
/// events reach the UI.
pub fn start(app: &tauri::AppHandle, store: LocalStore, default_server_url: String) {
    // An import the app died in the middle of left couples' details in a staging file;
    // no upload outlives the window that sent it. (A failure is retried at the next start.)
    let _ = store.sweep_uploads(std::time::Duration::ZERO);
    let store = Arc::new(store);
    let sync = Arc::new(SyncLoop::new());
    app.manage(AppState { default_server_url, store: store.clone(), sync: sync.clone() });
    let handle = app.clone();
    tauri::async_runtime::spawn(sync.run(store, move |view| {
        let _ = handle.emit("sync-status", view);
    }));
}

pub struct AppState {
    pub default_server_url: String,
    pub store: Arc<LocalStore>,
    /// Background sync: nudged after every change, its status pushed to the UI as
    /// `sync-status` events.
    pub sync: Arc<SyncLoop>,
}

/// The data folder and, when its database could not be opened, why: the app then shows
/// only its way out (keep a copy and start fresh, or quit) until the person chooses.
pub struct Recovery {
    pub data_dir: PathBuf,
    pub default_server_url: String,
    pub problem: Mutex<Option<ClientError>>,
}

pub fn run() {
    let default_server_url = std::env::var("BOUQUET_SERVER_URL").unwrap_or_else(|_| DEFAULT_SERVER_URL.to_string());
    let data_dir = default_data_dir();
    // A damaged file or one from a newer Bouquet is not a crash: the window opens on the
    // way out instead (the store is opened once the person has chosen).
    let (store, problem) = match LocalStore::open(&data_dir) {
        Ok(store) => (Some(store), None),
        Err(e) => {
            eprintln!("error: cannot open Bouquet's data in {}: {e}", data_dir.display());
            (None, Some(e))
        }
    };
    tauri::Builder::default()
        .manage(Recovery { data_dir, default_server_url: default_server_url.clone(), problem: Mutex::new(problem) })
        .setup(move |app| {
            if let Some(store) = store {
                start(app.handle(), store, default_server_url);
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::data_problem,
            commands::start_fresh,
            commands::quit,
            commands::server_status,
            commands::session,
            commands::sign_in,
            commands::contacts,
            commands::contact_page,
            commands::invitable_contacts,
            commands::create_contact,
            commands::delete_contact,
            commands::fairs,
            commands::create_fair,
            commands::profile,
            commands::save_profile,
            commands::create_code,
            commands::fair_codes,
            commands::qr_svg,
            commands::capture_lead,
            commands::dashboard,
            commands::preview_invitation,
            commands::draft_invitation,
            commands::queue_bulk_invitations,
            commands::invitations,
            commands::invitation_delivery,
            commands::cancel_invitation,
            commands::notifications,
            commands::mark_notifications_read,
            commands::notification_choices,
            commands::set_notification_choice,
            commands::send_invitation,
            commands::default_template,
            commands::begin_contacts_import,
            commands::append_contacts_import,
            commands::finish_contacts_import,
            commands::cancel_contacts_import,
            commands::export_fair_sheet,
            commands::export_qr,
            commands::export_contacts_csv,
            commands::update_contact,
            commands::data_dir,
            commands::token_place,
            commands::sync_status,
            commands::sync_now,
            commands::discard_refused_change,
            commands::export_account_data,
            commands::delete_account,
            commands::server_stats,
            commands::code_statuses,
            commands::rewards_summary,
            commands::analytics,
            commands::recommended_by,
            commands::network,
            commands::active_campaigns,
            commands::all_codes,
        ])
        .run(tauri::generate_context!("tauri.conf.json"))
        .expect("the Bouquet window could not start");
}
