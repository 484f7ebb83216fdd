//! `bouquet`: the desktop app's local store from the command line. Every command is one
//! call into `bouquet-client`; this file only parses arguments and prints results.

mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use bouquet_client::store::codes::CodeInput;
use bouquet_client::store::contacts::{ContactInput, ContactKind};
use bouquet_client::store::fairs::FairInput;
use bouquet_client::store::invitations::InvitationInput;
use bouquet_client::store::leads::LeadInput;
use bouquet_client::{ClientError, LocalStore, qr, sheet, sync};
use bouquet_core::ReferralMethod;
use bouquet_core::template::DEFAULT_TEMPLATE;
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use output::{Output, opt};
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "bouquet", version, about = "Bouquet from the command line: contacts, fairs, QR codes, invitations and sync, on the same local data as the desktop app.",
    after_help = "Examples:\n  bouquet login --server https://bouquet.example --email studio@example.com\n  bouquet contacts import crm-export.csv && bouquet sync\n  bouquet --json stats\n  bouquet --data-dir /srv/kiosk sync --watch")]
struct Cli {
    /// The data folder (default: the desktop app's, or BOUQUET_DATA_DIR).
    #[arg(long, global = true, env = "BOUQUET_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Machine-readable output (JSON on stdout; errors as {code, message} on stderr).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Signs this data folder in to a server (the only command besides sync that needs the network).
    #[command(after_help = "Example:\n  BOUQUET_PASSWORD=… bouquet login --server http://127.0.0.1:8080 --email studio@example.com")]
    Login {
        #[arg(long)]
        server: String,
        #[arg(long)]
        email: String,
        /// Read from BOUQUET_PASSWORD when not given, so it stays out of shell history.
        #[arg(long, env = "BOUQUET_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "bouquet CLI")]
        device_name: String,
    },
    /// Couples and fellow suppliers.
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Wedding fairs.
    #[command(subcommand)]
    Fairs(FairsCommand),
    /// Referral codes, made offline in this device's namespace.
    #[command(subcommand)]
    Codes(CodesCommand),
    /// Saves a code's QR image.
    #[command(after_help = "Example:\n  bouquet qr BLOOM-ABCD2345K --png bloom.png")]
    Qr {
        code: String,
        #[arg(long, conflicts_with = "png", required_unless_present = "png")]
        svg: Option<PathBuf>,
        #[arg(long)]
        png: Option<PathBuf>,
        /// Side of the image in pixels.
        #[arg(long, default_value_t = 512)]
        size: u32,
    },
    /// Saves a fair's table cards (one per QR code) as a PDF.
    #[command(after_help = "Example:\n  bouquet sheet --fair 0193… --paper letter cards.pdf")]
    Sheet {
        #[arg(long)]
        fair: Uuid,
        #[arg(long, value_enum, default_value_t = PaperArg::A4)]
        paper: PaperArg,
        file: PathBuf,
    },
    /// Invitations to couples.
    #[command(subcommand)]
    Invite(InviteCommand),
    /// Captures a couple at a fair booth (as fair mode does): a contact and a timed lead on the fair's QR code.
    #[command(after_help = "Example:\n  bouquet lead --fair 0193… --name 'Priya & Sam' --email priya@example.com")]
    Lead {
        #[arg(long)]
        fair: Uuid,
        /// The code shown at the booth (default: the fair's first QR code).
        #[arg(long)]
        code: Option<String>,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        wedding_date: Option<NaiveDate>,
        #[arg(long)]
        marketing_consent: bool,
    },
    /// Sends local changes and fetches everyone else's; exits non-zero when it could not.
    #[command(after_help = "Examples:\n  bouquet sync\n  bouquet sync --watch --interval 300")]
    Sync {
        /// Keep syncing every --interval seconds (retrying sooner after a failure) until stopped.
        #[arg(long)]
        watch: bool,
        #[arg(long, default_value_t = 60)]
        interval: u64,
    },
    /// Pending changes, the last sync, and whether the server answers.
    Status,
    /// The dashboard's figures: this device's counts and the server's stats as of the last sync.
    Stats,
}

#[derive(Subcommand)]
enum ContactsCommand {
    Add(ContactArgs),
    List,
    Search { query: String },
    /// Changes the fields given; the others stay as they are.
    Edit {
        id: Uuid,
        #[command(flatten)]
        fields: ContactEdit,
    },
    Delete { id: Uuid },
    /// Imports a CSV (header: names, email, phone, wedding_date, …); bad rows are reported by line.
    Import { file: PathBuf },
    Export { file: PathBuf },
}

#[derive(clap::Args)]
struct ContactArgs {
    #[arg(long)]
    names: String,
    #[arg(long, value_enum, default_value_t = KindArg::Couple)]
    kind: KindArg,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    wedding_date: Option<NaiveDate>,
    #[arg(long)]
    location: Option<String>,
    #[arg(long)]
    notes: Option<String>,
    /// Comma-separated.
    #[arg(long, value_delimiter = ',')]
    tags: Vec<String>,
}

#[derive(clap::Args)]
struct ContactEdit {
    #[arg(long)]
    names: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    wedding_date: Option<NaiveDate>,
    #[arg(long)]
    location: Option<String>,
    #[arg(long)]
    notes: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Couple,
    Supplier,
}

#[derive(Subcommand)]
enum FairsCommand {
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        date: Option<NaiveDate>,
        #[arg(long)]
        place: Option<String>,
    },
    List,
}

#[derive(Subcommand)]
enum CodesCommand {
    /// Makes codes (offline).
    #[command(after_help = "Example:\n  bouquet codes new --fair 0193… --method qr --count 20 --incentive '10% off'")]
    New {
        #[arg(long)]
        fair: Option<Uuid>,
        #[arg(long, value_enum, default_value_t = MethodArg::Qr)]
        method: MethodArg,
        #[arg(long, default_value_t = 1)]
        count: usize,
        #[arg(long)]
        incentive: Option<String>,
        #[arg(long)]
        message: Option<String>,
    },
    /// Codes with their links and, as of the last sync, their live status.
    List {
        #[arg(long)]
        fair: Option<Uuid>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum MethodArg {
    Qr,
    Link,
    Email,
    Social,
}

#[derive(Clone, Copy, ValueEnum)]
enum PaperArg {
    A4,
    Letter,
}

#[derive(Subcommand)]
enum InviteCommand {
    /// Drafts one invitation.
    Draft {
        #[arg(long)]
        names: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        wedding_date: Option<NaiveDate>,
        /// With {couple_names}, {wedding_date}, {business_name} and {link} (default: Bouquet's own).
        #[arg(long)]
        template: Option<String>,
        #[arg(long)]
        discount: Option<String>,
    },
    /// Imports the couples in a CSV and queues an invitation to each, in batches by wedding date.
    Bulk {
        file: PathBuf,
        #[arg(long)]
        template: Option<String>,
        #[arg(long)]
        discount: Option<String>,
        /// Pause between batches, in seconds.
        #[arg(long, default_value_t = 3600)]
        delay: u64,
    },
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output { json: cli.json };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    match runtime.block_on(run(cli, &out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            out.error(&err);
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, out: &Output) -> Result<(), ClientError> {
    let dir = cli.data_dir.unwrap_or_else(bouquet_client::store::default_data_dir);
    let store = LocalStore::open(&dir)?;
    match cli.command {
        Command::Login { server, email, password, device_name } => {
            let session = sync::log_in(&store, &server, &email, &password, &device_name).await?;
            out.line(&session, || format!("signed in as {} ({}); code namespace {}", session.display_name, session.email, session.code_namespace.as_str()));
        }
        Command::Contacts(command) => contacts(&store, out, command)?,
        Command::Fairs(FairsCommand::Add { name, date, place }) => {
            let fair = store.create_fair(FairInput { name, date, place, notes: None })?;
            out.line(&fair, || format!("fair {} added: {}", fair.id, fair.name));
        }
        Command::Fairs(FairsCommand::List) => {
            let fairs = store.fairs()?;
            let rows = fairs.iter().map(|f| vec![f.id.to_string(), f.name.clone(), opt(&f.date), opt(&f.place)]).collect();
            out.table(&fairs, &["id", "name", "date", "place"], rows);
        }
        Command::Codes(CodesCommand::New { fair, method, count, incentive, message }) => {
            let method = match method {
                MethodArg::Qr => ReferralMethod::Qr,
                MethodArg::Link => ReferralMethod::Link,
                MethodArg::Email => ReferralMethod::Email,
                MethodArg::Social => ReferralMethod::Social,
            };
            let codes = store.create_codes(CodeInput { method, fair_id: fair, incentive, message, ..Default::default() }, count)?;
            let rows = codes.iter().map(|c| vec![c.code.to_string(), c.link.clone()]).collect();
            out.table(&codes, &["code", "link"], rows);
        }
        Command::Codes(CodesCommand::List { fair }) => {
            let codes = match fair {
                Some(f) => store.codes_for_fair(f)?,
                None => store.all_codes()?,
            };
            let live = store.code_statuses()?.map(|s| s.value).unwrap_or_default();
            let status = |code: &str| {
                live.iter().find(|s| s.code == code).map_or_else(String::new, |s| {
                    let stage = if s.converted_at.is_some() { "converted" } else if s.signed_up_at.is_some() { "signed up" } else { "" };
                    format!("{} clicks, {} leads {stage} {}", s.clicks, s.leads, match s.fraud_status.as_str() { "under_review" => "(under review)", "rejected" => "(rejected)", "approved" => "(approved)", _ => "" }).trim().to_string()
                })
            };
            let rows = codes.iter().map(|c| vec![c.code.to_string(), c.method.as_str().into(), status(c.code.as_str()), c.link.clone()]).collect();
            out.table(&codes, &["code", "method", "status", "link"], rows);
        }
        Command::Qr { code, svg, png, size } => {
            let found = store.code_by_text(&code)?.ok_or_else(|| ClientError::NotFound(format!("no code {code} on this device")))?;
            // The flag says the format, whatever the file is called.
            let (path, bytes) = match (svg, png) {
                (Some(path), _) => (path, qr::svg(&found.link, size)?.into_bytes()),
                (None, Some(path)) => (path, qr::png(&found.link, size)?),
                (None, None) => return Err(ClientError::Invalid("say --svg FILE or --png FILE".into())),
            };
            std::fs::write(&path, bytes).map_err(|e| ClientError::Io(format!("{}: {e}", path.display())))?;
            out.line(&serde_json::json!({"code": found.code, "link": found.link, "file": path}), || format!("saved {} ({})", path.display(), found.link));
        }
        Command::Sheet { fair, paper, file } => {
            let paper = match paper {
                PaperArg::A4 => sheet::Paper::A4,
                PaperArg::Letter => sheet::Paper::Letter,
            };
            let pdf = store.fair_sheet(fair, paper, |_, _| {})?;
            std::fs::write(&file, pdf).map_err(|e| ClientError::Io(format!("{}: {e}", file.display())))?;
            out.line(&serde_json::json!({"file": file}), || format!("saved {}", file.display()));
        }
        Command::Invite(command) => invite(&store, out, command)?,
        Command::Lead { fair, code, name, email, wedding_date, marketing_consent } => {
            let code = match code {
                Some(text) => store.code_by_text(&text)?.ok_or_else(|| ClientError::NotFound(format!("no code {text} on this device")))?,
                None => store.codes_for_fair(fair)?.into_iter().find(|c| c.method == ReferralMethod::Qr).ok_or_else(|| {
                    ClientError::NotFound("this fair has no QR code yet; make one with `bouquet codes new --fair … --method qr`".into())
                })?,
            };
            let lead = store.capture_lead(LeadInput { fair_id: fair, code_id: code.id, names: name, email, wedding_date, marketing_consent })?;
            out.line(&lead, || format!("lead {} captured on {} at {}", lead.contact.names, lead.code, lead.captured_at));
        }
        Command::Sync { watch: false, .. } => {
            let report = sync::sync_once(&store).await?;
            out.line(&report, || format!("synced: {} sent, {} received{}", report.pushed, report.pulled, if report.reset { " (the server asked for a fresh start)" } else { "" }));
        }
        Command::Sync { watch: true, interval } => watch(&store, out, interval).await,
        Command::Status => {
            let status = store.sync_status()?;
            let session = store.session()?;
            let server = match &session {
                Some(s) => Some(bouquet_client::ServerClient::new(&s.server_url).status().await),
                None => None,
            };
            let token_kept_in = bouquet_client::token::place(store.data_dir())?;
            let value = serde_json::json!({"sync": status, "session": session, "server": server, "token_kept_in": token_kept_in});
            out.line(&value, || {
                let reach = server.as_ref().map_or("not signed in".to_string(), |s| {
                    if s.reachable { format!("{} reachable", s.server_url) } else { format!("{} unreachable", s.server_url) }
                });
                let token = match token_kept_in {
                    Some(bouquet_client::token::TokenPlace::Keyring) => "; token in the OS keyring",
                    Some(bouquet_client::token::TokenPlace::File) => "; token in a private file",
                    None => "",
                };
                format!(
                    "{} pending; last sync {}; {}{token}{}",
                    status.pending,
                    status.last_sync_at.clone().unwrap_or_else(|| "never".into()),
                    reach,
                    status.last_error.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default()
                )
            });
        }
        Command::Stats => {
            let local = store.dashboard()?;
            let server = store.server_stats()?;
            let value = serde_json::json!({"local": local, "server": server});
            out.line(&value, || {
                let t = &local.totals;
                let mut text = format!(
                    "codes {} · leads {} · contacts {} · invitations drafted {} queued {} sent {}",
                    t.codes_made, t.leads_captured, t.contacts, t.invitations_drafted, t.invitations_queued, t.invitations_sent
                );
                match &server {
                    Some(s) => text += &format!(
                        "\nserver (as of {}): referrals {} (active {}) · clicks {} · QR scans {} · leads {} · sign-ups {} · conversions {}",
                        s.fetched_at, s.value.total_referrals, s.value.active_referrals, s.value.unique_visits, s.value.qr_scans,
                        s.value.leads, s.value.signups, s.value.successful_referrals
                    ),
                    None => text += "\nserver: not synced yet",
                }
                text
            });
        }
    }
    Ok(())
}

fn contacts(store: &LocalStore, out: &Output, command: ContactsCommand) -> Result<(), ClientError> {
    let list = |contacts: Vec<bouquet_client::store::contacts::Contact>| {
        let rows = contacts.iter().map(|c| vec![c.id.to_string(), c.names.clone(), opt(&c.email), opt(&c.phone), opt(&c.wedding_date)]).collect();
        out.table(&contacts, &["id", "names", "email", "phone", "wedding date"], rows);
    };
    match command {
        ContactsCommand::Add(a) => {
            let kind = match a.kind {
                KindArg::Couple => ContactKind::Couple,
                KindArg::Supplier => ContactKind::Supplier,
            };
            let input = ContactInput {
                kind,
                names: a.names,
                email: a.email,
                phone: a.phone,
                wedding_date: a.wedding_date,
                location: a.location,
                notes: a.notes,
                tags: a.tags,
                ..Default::default()
            };
            let saved = store.create_contact(input)?;
            out.line(&saved, || {
                let mut line = format!("contact {} added: {}", saved.contact.id, saved.contact.names);
                for d in &saved.possible_duplicates {
                    line += &format!("\n  note: {} shares an email or phone ({})", d.names, d.id);
                }
                line
            });
        }
        ContactsCommand::List => list(store.contacts()?),
        ContactsCommand::Search { query } => list(store.search_contacts(&query)?),
        ContactsCommand::Edit { id, fields } => {
            let current = store.contact(id)?.ok_or_else(|| ClientError::NotFound(format!("no contact {id}")))?;
            let input = ContactInput {
                kind: current.kind,
                names: fields.names.unwrap_or(current.names),
                business_name: current.business_name,
                vendor_type: current.vendor_type,
                email: fields.email.or(current.email),
                phone: fields.phone.or(current.phone),
                wedding_date: fields.wedding_date.or(current.wedding_date),
                location: fields.location.or(current.location),
                budget: current.budget,
                style: current.style,
                notes: fields.notes.or(current.notes),
                tags: current.tags,
                marketing_consent: current.marketing_consent,
            };
            let saved = store.update_contact(id, input)?;
            out.line(&saved, || format!("contact {} saved", saved.contact.id));
        }
        ContactsCommand::Delete { id } => {
            store.delete_contact(id)?;
            out.line(&serde_json::json!({"deleted": id}), || format!("contact {id} deleted"));
        }
        ContactsCommand::Import { file } => {
            let reader = std::fs::File::open(&file).map_err(|e| ClientError::Io(format!("{}: {e}", file.display())))?;
            let report = store.import_contacts_csv(reader)?;
            out.line(&report, || {
                let mut text = format!("{} imported ({} possible duplicates)", report.imported, report.possible_duplicates);
                text += &problem_lines(&report);
                text
            });
        }
        ContactsCommand::Export { file } => {
            let writer = std::fs::File::create(&file).map_err(|e| ClientError::Io(format!("{}: {e}", file.display())))?;
            let count = store.export_contacts_csv(writer)?;
            out.line(&serde_json::json!({"exported": count, "file": file}), || format!("{count} contacts saved to {}", file.display()));
        }
    }
    Ok(())
}

fn invite(store: &LocalStore, out: &Output, command: InviteCommand) -> Result<(), ClientError> {
    match command {
        InviteCommand::Draft { names, email, wedding_date, template, discount } => {
            let input = InvitationInput {
                couple_names: names,
                email,
                wedding_date,
                message_template: template.unwrap_or_else(|| DEFAULT_TEMPLATE.into()),
                discount_offered: discount,
                ..Default::default()
            };
            let invitation = store.draft_invitation(input)?;
            out.line(&invitation, || format!("invitation {} drafted for {} ({})", invitation.id, invitation.couple_names, invitation.link));
        }
        InviteCommand::Bulk { file, template, discount, delay } => {
            let before: std::collections::BTreeSet<Uuid> = store.contacts()?.into_iter().map(|c| c.id).collect();
            let reader = std::fs::File::open(&file).map_err(|e| ClientError::Io(format!("{}: {e}", file.display())))?;
            let import = store.import_contacts_csv(reader)?;
            let new: Vec<Uuid> = store.contacts()?.into_iter().map(|c| c.id).filter(|id| !before.contains(id)).collect();
            let template = template.unwrap_or_else(|| DEFAULT_TEMPLATE.into());
            let result = store.queue_bulk_invitations(&new, &template, discount, delay, Utc::now().date_naive())?;
            let value = serde_json::json!({"import": import, "queued": result});
            out.line(&value, || {
                let mut text = format!("{} queued in {} batches; {} skipped", result.queued, result.batches.len(), result.skipped.len());
                text += &problem_lines(&import);
                text += &format!("\n  predicted conversions: {}", result.predicted_conversions);
                text
            });
        }
        InviteCommand::List => {
            let invitations = store.invitations(None)?;
            let rows = invitations
                .iter()
                .map(|i| vec![i.couple_names.clone(), i.email.clone(), i.status.as_str().into(), opt(&i.batch_number), i.code.clone()])
                .collect();
            out.table(&invitations, &["couple", "email", "status", "batch", "code"], rows);
        }
    }
    Ok(())
}

/// Syncs every `interval` seconds until ctrl-c; after a failure retries sooner, backing off.
async fn watch(store: &LocalStore, out: &Output, interval: u64) {
    let mut failures = 0;
    loop {
        let wait = match sync::sync_once(store).await {
            Ok(report) => {
                failures = 0;
                out.line(&report, || format!("{} synced: {} sent, {} received", Utc::now().format("%H:%M:%S"), report.pushed, report.pulled));
                std::time::Duration::from_secs(interval)
            }
            Err(err) => {
                failures += 1;
                out.error(&err);
                sync::backoff(failures).min(std::time::Duration::from_secs(interval))
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = tokio::signal::ctrl_c() => return,
        }
    }
}

/// An import's refused rows, a line each, and how many more were not listed.
fn problem_lines(report: &bouquet_client::store::csv_io::ImportReport) -> String {
    let mut text: String = report.problems.iter().map(|p| format!("\n  line {}: {}", p.line, p.reason)).collect();
    let unlisted = report.rows_with_problems - report.problems.len();
    if unlisted > 0 {
        text += &format!("\n  …and {unlisted} more rows with problems");
    }
    text
}
