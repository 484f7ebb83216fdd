//! Tauri commands: thin calls into bouquet-client.

use bouquet_client::store::codes::{CodeInput, LocalCode};
use bouquet_client::store::contacts::{Contact, ContactInput, ContactPage, Saved};
use bouquet_client::store::csv_io::{ImportProgress, ImportReport};
use bouquet_client::store::dashboard::Dashboard;
use bouquet_client::store::fairs::{Fair, FairInput};
use bouquet_client::store::invitations::{BulkResult, Invitation, InvitationInput};
use bouquet_core::delivery::DeliveryReport;
use bouquet_client::store::leads::{CapturedLead, LeadInput};
use bouquet_client::store::notifications::{NotificationChoice, NotificationList};
use bouquet_client::store::profile::ProfileInput;
use bouquet_client::store::session::LocalSession;
use bouquet_client::background::SyncView;
use bouquet_client::store::syncing::{AsOf, RewardsSummary};
use bouquet_client::token::{self, TokenPlace};
use bouquet_client::{ClientError, ServerClient, ServerStatus, qr, sync};
use bouquet_core::analytics::AnalyticsReport;
use bouquet_core::recommend::SupplierProfile;
use bouquet_core::api::{ActiveCampaign, StatsView};
use bouquet_core::sync::CodeStatus;
use chrono::NaiveDate;
use tauri::State;
use uuid::Uuid;

use crate::{AppState, Recovery};

type Answer<T> = Result<T, ClientError>;

/// A write went through: the background sync sends it shortly.
fn changed<T>(state: &AppState, answer: Answer<T>) -> Answer<T> {
    if answer.is_ok() {
        state.sync.nudge();
    }
    answer
}

/// Why the data could not be opened at start, if it could not (the app then shows its
/// way out instead of its screens).
#[tauri::command]
pub fn data_problem(recovery: State<'_, Recovery>) -> Option<ClientError> {
    recovery.problem.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The way out of unusable data: the file is moved aside (kept beside it as
/// `bouquet.db.unreadable-<time>` when `keep_copy`), a fresh one is made and the app starts
/// on it. Returns where the copy went.
#[tauri::command]
pub fn start_fresh(app: tauri::AppHandle, recovery: State<'_, Recovery>, keep_copy: bool) -> Answer<Option<String>> {
    let mut problem = recovery.problem.lock().unwrap_or_else(|p| p.into_inner());
    if problem.is_none() {
        return Err(ClientError::Invalid("Bouquet's data opened normally; there is nothing to start afresh from".into()));
    }
    let kept = bouquet_client::store::set_aside_data(&recovery.data_dir, keep_copy)?;
    let store = bouquet_client::LocalStore::open(&recovery.data_dir)?;
    crate::start(&app, store, recovery.default_server_url.clone());
    *problem = None;
    Ok(kept.map(|p| p.display().to_string()))
}

/// Closes the app (the data is left as it is).
#[tauri::command]
pub fn quit(app: tauri::AppHandle) {
    app.exit(0);
}

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
    changed(&state, sync::log_in(&state.store, &server_url, &email, &password, &device).await)
}

/// Where sync stands (synced / N pending / offline / error, last sync time).
#[tauri::command(async)]
pub fn sync_status(state: State<'_, AppState>) -> SyncView {
    state.sync.refresh(&state.store)
}

/// Sync now (the user asked, or the network came back).
#[tauri::command(async)]
pub fn sync_now(state: State<'_, AppState>) {
    state.sync.nudge();
}

/// Discards a change the server refused: the record takes the server's values again at
/// the next sync (one the server never had is removed here).
#[tauri::command(async)]
pub fn discard_refused_change(state: State<'_, AppState>, id: i64) -> Answer<SyncView> {
    state.store.discard_refused(id)?;
    state.sync.nudge();
    Ok(state.sync.refresh(&state.store))
}

/// The server's figures as of the last sync (usable offline).
#[tauri::command(async)]
pub fn server_stats(state: State<'_, AppState>) -> Answer<Option<AsOf<StatsView>>> {
    state.store.server_stats()
}

/// The live state of codes with any activity, as of the last sync.
#[tauri::command(async)]
pub fn code_statuses(state: State<'_, AppState>) -> Answer<Option<AsOf<Vec<CodeStatus>>>> {
    state.store.code_statuses()
}

/// Credits, tier, recent rewards and leaderboard place, as of the last sync.
#[tauri::command(async)]
pub fn rewards_summary(state: State<'_, AppState>) -> Answer<Option<AsOf<RewardsSummary>>> {
    state.store.rewards_summary()
}

/// The account's own growth analytics by week (funnel and bottleneck, loop, revenue), as
/// of the last sync that fetched them (usable offline).
#[tauri::command(async)]
pub fn analytics(state: State<'_, AppState>) -> Answer<Option<AsOf<AnalyticsReport>>> {
    state.store.analytics()
}

/// Couples' recommendations of this supplier, with how far each got, as of the last sync.
#[tauri::command(async)]
pub fn recommended_by(state: State<'_, AppState>) -> Answer<Option<AsOf<bouquet_core::recommend::RecommendationsReceived>>> {
    state.store.recommended_by()
}

/// Suppliers who joined through this supplier's invitations, and through them, as of the
/// last sync.
#[tauri::command(async)]
pub fn network(state: State<'_, AppState>) -> Answer<Option<AsOf<bouquet_core::network::Network>>> {
    state.store.network()
}

/// The campaigns open to this account as of the last sync: shown on the dashboard and
/// offered when making codes, offline too.
#[tauri::command(async)]
pub fn active_campaigns(state: State<'_, AppState>) -> Answer<Option<AsOf<Vec<ActiveCampaign>>>> {
    state.store.active_campaigns()
}

/// Every code made on any of the account's devices.
#[tauri::command(async)]
pub fn all_codes(state: State<'_, AppState>) -> Answer<Vec<LocalCode>> {
    state.store.all_codes()
}

#[tauri::command(async)]
pub fn contacts(state: State<'_, AppState>, query: Option<String>) -> Answer<Vec<Contact>> {
    state.store.search_contacts(query.as_deref().unwrap_or(""))
}

/// The first `limit` contacts matching `query`, and how many match: the Contacts screen.
#[tauri::command(async)]
pub fn contact_page(state: State<'_, AppState>, query: String, limit: usize) -> Answer<ContactPage> {
    state.store.contact_page(&query, Some(limit))
}

/// The same page of couples with an email: whom Invitations can invite.
#[tauri::command(async)]
pub fn invitable_contacts(state: State<'_, AppState>, query: String, limit: usize) -> Answer<ContactPage> {
    state.store.invitable_page(&query, Some(limit))
}

#[tauri::command(async)]
pub fn create_contact(state: State<'_, AppState>, input: ContactInput) -> Answer<Saved> {
    changed(&state, state.store.create_contact(input))
}

#[tauri::command(async)]
pub fn delete_contact(state: State<'_, AppState>, id: Uuid) -> Answer<()> {
    changed(&state, state.store.delete_contact(id))
}

/// The supplier's profile for couples' recommendations (where they work, style words,
/// price range, booked dates), as saved here or synced.
#[tauri::command(async)]
pub fn profile(state: State<'_, AppState>) -> Answer<SupplierProfile> {
    state.store.profile()
}

#[tauri::command(async)]
pub fn save_profile(state: State<'_, AppState>, input: ProfileInput) -> Answer<SupplierProfile> {
    changed(&state, state.store.save_profile(input))
}

#[tauri::command(async)]
pub fn fairs(state: State<'_, AppState>) -> Answer<Vec<Fair>> {
    state.store.fairs()
}

#[tauri::command(async)]
pub fn create_fair(state: State<'_, AppState>, input: FairInput) -> Answer<Fair> {
    changed(&state, state.store.create_fair(input))
}

#[tauri::command(async)]
pub fn create_code(state: State<'_, AppState>, input: CodeInput) -> Answer<LocalCode> {
    changed(&state, state.store.create_code(input))
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
    changed(&state, state.store.capture_lead(input))
}

#[tauri::command(async)]
pub fn dashboard(state: State<'_, AppState>) -> Answer<Dashboard> {
    state.store.dashboard()
}

#[tauri::command(async)]
pub fn preview_invitation(state: State<'_, AppState>, template: String, couple_names: String, wedding_date: Option<NaiveDate>) -> Answer<String> {
    state.store.preview_invitation(&template, &couple_names, wedding_date)
}

#[tauri::command(async)]
pub fn draft_invitation(state: State<'_, AppState>, input: InvitationInput) -> Answer<Invitation> {
    changed(&state, state.store.draft_invitation(input))
}

#[tauri::command(async)]
pub fn queue_bulk_invitations(
    state: State<'_, AppState>,
    contact_ids: Vec<Uuid>,
    template: String,
    discount: Option<String>,
    delay_seconds: Option<u64>,
    campaign_id: Option<Uuid>,
) -> Answer<BulkResult> {
    let today = chrono::Local::now().date_naive();
    // The server's pause between batches as of the last sync, so the send times shown are
    // the ones the server keeps.
    let delay = match delay_seconds {
        Some(d) => d,
        None => state.store.batch_pause_seconds()?,
    };
    changed(&state, state.store.queue_bulk_invitations_under(campaign_id, &contact_ids, &template, discount, delay, today))
}

#[tauri::command(async)]
pub fn invitations(state: State<'_, AppState>) -> Answer<Vec<Invitation>> {
    state.store.invitations(None)
}

/// How the server sends queued invitations, as of the last sync: whether it has a mail
/// relay, its pacing, and each invitation's delivery.
#[tauri::command(async)]
pub fn invitation_delivery(state: State<'_, AppState>) -> Answer<Option<AsOf<DeliveryReport>>> {
    state.store.delivery_report()
}

/// The account's newest notifications, as of the last sync, and which are unread.
#[tauri::command(async)]
pub fn notifications(state: State<'_, AppState>) -> Answer<NotificationList> {
    state.store.notifications()
}

/// The supplier saw the list whose newest notification was made `up_to`: it and the
/// older ones are read.
#[tauri::command(async)]
pub fn mark_notifications_read(state: State<'_, AppState>, up_to: chrono::DateTime<chrono::Utc>) -> Answer<()> {
    state.store.mark_notifications_read(up_to)
}

/// Which kinds of notification also come by email (Settings).
#[tauri::command(async)]
pub fn notification_choices(state: State<'_, AppState>) -> Answer<Vec<NotificationChoice>> {
    state.store.notification_choices()
}

/// Turns one kind's email on or off; the server hears it with the next sync.
#[tauri::command(async)]
pub fn set_notification_choice(state: State<'_, AppState>, kind: String, email: bool) -> Answer<Vec<NotificationChoice>> {
    changed(&state, state.store.set_notification_choice(&kind, email))
}

/// Takes a queued invitation back to drafts before it is sent.
#[tauri::command(async)]
pub fn cancel_invitation(state: State<'_, AppState>, id: Uuid) -> Answer<()> {
    changed(&state, state.store.cancel_invitation(id))
}

/// Queues a draft to be sent.
#[tauri::command(async)]
pub fn send_invitation(state: State<'_, AppState>, id: Uuid) -> Answer<()> {
    changed(&state, state.store.send_invitation(id))
}

#[tauri::command(async)]
pub fn default_template() -> String {
    bouquet_core::template::DEFAULT_TEMPLATE.to_string()
}

/// Starts handing over a CSV file the user picked; the window then sends it in pieces
/// (`append_contacts_import`) and imports it (`finish_contacts_import`).
#[tauri::command(async)]
pub fn begin_contacts_import(state: State<'_, AppState>) -> Answer<Uuid> {
    state.store.begin_upload()
}

/// One piece of the file: raw bytes, with the upload's id and the byte it starts at in the
/// `Upload-Id` and `Upload-Offset` headers. Answers the bytes held so far. Off the main
/// thread, so writing a piece never holds up the window.
#[tauri::command(async)]
pub fn append_contacts_import(state: State<'_, AppState>, request: tauri::ipc::Request<'_>) -> Answer<u64> {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let id = header("upload-id")
        .and_then(|v| Uuid::parse_str(&v).ok())
        .ok_or_else(|| ClientError::Invalid("a piece of an upload needs its Upload-Id header".into()))?;
    let offset = header("upload-offset")
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| ClientError::Invalid("a piece of an upload needs its Upload-Offset header".into()))?;
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(ClientError::Invalid("a piece of an upload is sent as raw bytes".into()));
    };
    state.store.append_upload(id, offset, bytes)
}

/// Imports the uploaded file as contacts, sending where it is to `on_progress`.
#[tauri::command(async)]
pub fn finish_contacts_import(
    state: State<'_, AppState>,
    id: Uuid,
    on_progress: tauri::ipc::Channel<ImportProgress>,
) -> Answer<ImportReport> {
    // A closed window stops listening; the import goes on regardless.
    let report = state.store.import_upload_as_contacts(id, &mut |p| {
        let _ = on_progress.send(p);
    });
    changed(&state, report)
}

/// The user gave up on the file (or the window failed to send it): drop what arrived.
#[tauri::command(async)]
pub fn cancel_contacts_import(state: State<'_, AppState>, id: Uuid) -> Answer<()> {
    state.store.cancel_upload(id)
}

/// Where exports go: `BOUQUET_EXPORT_DIR`, else Downloads, else the data folder.
fn export_dir(state: &AppState) -> std::path::PathBuf {
    std::env::var_os("BOUQUET_EXPORT_DIR")
        .map(std::path::PathBuf::from)
        .or_else(dirs::download_dir)
        .unwrap_or_else(|| state.store.data_dir().join("exports"))
}

/// Saves the fair's printable sheet and returns where.
#[tauri::command(async)]
pub fn export_fair_sheet(state: State<'_, AppState>, fair_id: Uuid, paper: bouquet_client::sheet::Paper) -> Answer<String> {
    Ok(state.store.export_fair_sheet(fair_id, paper, &export_dir(&state))?.display().to_string())
}

/// Saves a code's QR as `<code>.svg` or `<code>.png` and returns where.
#[tauri::command(async)]
pub fn export_qr(state: State<'_, AppState>, code: String, link: String, format: String) -> Answer<String> {
    let dir = export_dir(&state);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{code}.{format}"));
    qr::export(&link, 1024, &path)?;
    Ok(path.display().to_string())
}

/// Saves everything the server holds about the account as JSON; returns where.
#[tauri::command(async)]
pub async fn export_account_data(state: State<'_, AppState>) -> Answer<String> {
    Ok(sync::export_account(&state.store, &export_dir(&state)).await?.display().to_string())
}

/// Deletes the account on the server, then everything of it on this computer.
#[tauri::command(async)]
pub async fn delete_account(state: State<'_, AppState>, confirm_email: String) -> Answer<()> {
    sync::delete_account(&state.store, &confirm_email).await?;
    state.sync.nudge();
    Ok(())
}

/// Saves every contact as CSV and returns where.
#[tauri::command(async)]
pub fn export_contacts_csv(state: State<'_, AppState>) -> Answer<String> {
    let dir = export_dir(&state);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("bouquet-contacts.csv");
    state.store.export_contacts_csv(std::fs::File::create(&path)?)?;
    Ok(path.display().to_string())
}

#[tauri::command(async)]
pub fn update_contact(state: State<'_, AppState>, id: Uuid, input: ContactInput) -> Answer<Saved> {
    changed(&state, state.store.update_contact(id, input))
}

#[tauri::command(async)]
pub fn data_dir(state: State<'_, AppState>) -> String {
    state.store.data_dir().display().to_string()
}

#[tauri::command(async)]
pub fn token_place(state: State<'_, AppState>) -> Answer<Option<TokenPlace>> {
    Ok(token::place(state.store.data_dir())?)
}
