//! Tauri commands: thin calls into bouquet-client.

use bouquet_client::store::codes::{CodeInput, LocalCode};
use bouquet_client::store::contacts::{Contact, ContactInput, Saved};
use bouquet_client::store::dashboard::Dashboard;
use bouquet_client::store::fairs::{Fair, FairInput};
use bouquet_client::store::leads::{CapturedLead, LeadInput};
use bouquet_client::store::session::LocalSession;
use bouquet_client::{ClientError, ServerClient, ServerStatus, qr};
use tauri::State;
use uuid::Uuid;

use crate::AppState;

type Answer<T> = Result<T, ClientError>;

/// The server this device syncs with: the one it signed in to, else the default.
fn server_url(state: &AppState) -> Answer<String> {
    Ok(state.store.session()?.map(|s| s.server_url).unwrap_or_else(|| state.default_server_url.clone()))
}

#[tauri::command(async)]
pub async fn server_status(state: State<'_, AppState>) -> Answer<ServerStatus> {
    Ok(ServerClient::new(&server_url(&state)?).status().await)
}

#[tauri::command(async)]
pub fn session(state: State<'_, AppState>) -> Answer<Option<LocalSession>> {
    state.store.session()
}

/// Signs this device in once (online); afterwards it makes codes offline.
#[tauri::command(async)]
pub async fn sign_in(state: State<'_, AppState>, server_url: String, email: String, password: String) -> Answer<LocalSession> {
    let device = format!("Bouquet desktop on {}", std::env::consts::OS);
    let session = ServerClient::new(&server_url).sign_in(&email, &password, &device).await?;
    state.store.save_session(&server_url, &session)
}

#[tauri::command(async)]
pub fn contacts(state: State<'_, AppState>, query: Option<String>) -> Answer<Vec<Contact>> {
    state.store.search_contacts(query.as_deref().unwrap_or(""))
}

#[tauri::command(async)]
pub fn create_contact(state: State<'_, AppState>, input: ContactInput) -> Answer<Saved> {
    state.store.create_contact(input)
}

#[tauri::command(async)]
pub fn delete_contact(state: State<'_, AppState>, id: Uuid) -> Answer<()> {
    state.store.delete_contact(id)
}

#[tauri::command(async)]
pub fn fairs(state: State<'_, AppState>) -> Answer<Vec<Fair>> {
    state.store.fairs()
}

#[tauri::command(async)]
pub fn create_fair(state: State<'_, AppState>, input: FairInput) -> Answer<Fair> {
    state.store.create_fair(input)
}

#[tauri::command(async)]
pub fn create_code(state: State<'_, AppState>, input: CodeInput) -> Answer<LocalCode> {
    state.store.create_code(input)
}

#[tauri::command(async)]
pub fn fair_codes(state: State<'_, AppState>, fair_id: Uuid) -> Answer<Vec<LocalCode>> {
    state.store.codes_for_fair(fair_id)
}

#[tauri::command(async)]
pub fn qr_svg(link: String, size: u32) -> Answer<String> {
    qr::svg(&link, size)
}

#[tauri::command(async)]
pub fn capture_lead(state: State<'_, AppState>, input: LeadInput) -> Answer<CapturedLead> {
    state.store.capture_lead(input)
}

#[tauri::command(async)]
pub fn dashboard(state: State<'_, AppState>) -> Answer<Dashboard> {
    state.store.dashboard()
}
