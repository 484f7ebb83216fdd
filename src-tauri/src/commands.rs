//! Tauri commands: thin calls into bouquet-client.

use bouquet_client::ServerStatus;
use tauri::State;

use crate::AppState;

#[tauri::command(async)]
pub async fn server_status(state: State<'_, AppState>) -> Result<ServerStatus, bouquet_client::ClientError> {
    Ok(state.server.status().await)
}
