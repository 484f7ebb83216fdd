//! The desktop app's shell: Tauri commands that are one-line calls into bouquet-client.
//! Nothing here decides anything; errors reach the UI as `{code, message}`.

mod commands;

use bouquet_client::ServerClient;

/// Where the sync server is: `BOUQUET_SERVER_URL`, else a server on this machine.
pub const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:8080";

pub struct AppState {
    pub server: ServerClient,
}

pub fn run() {
    let server_url = std::env::var("BOUQUET_SERVER_URL").unwrap_or_else(|_| DEFAULT_SERVER_URL.to_string());
    tauri::Builder::default()
        .manage(AppState { server: ServerClient::new(&server_url) })
        .invoke_handler(tauri::generate_handler![commands::server_status])
        .run(tauri::generate_context!("tauri.conf.json"))
        .expect("the Bouquet window could not start");
}
