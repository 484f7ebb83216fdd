// The one door from the UI to the Rust side. Types come from ts-rs (./bindings), so the
// two sides cannot drift; every command's error arrives as { code, message }.
import { Channel, invoke } from "@tauri-apps/api/core";
import type { CapturedLead } from "./bindings/CapturedLead";
import type { CodeInput } from "./bindings/CodeInput";
import type { Contact } from "./bindings/Contact";
import type { ContactInput } from "./bindings/ContactInput";
import type { ContactPage } from "./bindings/ContactPage";
import type { Dashboard } from "./bindings/Dashboard";
import type { ErrorBody } from "./bindings/ErrorBody";
import type { Fair } from "./bindings/Fair";
import type { Paper } from "./bindings/Paper";
import type { TokenPlace } from "./bindings/TokenPlace";
import type { ImportReport } from "./bindings/ImportReport";
import type { ImportProgress } from "./bindings/ImportProgress";
import type { ImportPhase } from "./bindings/ImportPhase";
import type { FairInput } from "./bindings/FairInput";
import type { ProfileInput } from "./bindings/ProfileInput";
import type { SupplierProfile } from "./bindings/SupplierProfile";
import type { BulkResult } from "./bindings/BulkResult";
import type { Invitation } from "./bindings/Invitation";
import type { InvitationInput } from "./bindings/InvitationInput";
import type { LeadInput } from "./bindings/LeadInput";
import type { LocalCode } from "./bindings/LocalCode";
import type { LocalSession } from "./bindings/LocalSession";
import type { Saved } from "./bindings/Saved";
import type { ServerStatus } from "./bindings/ServerStatus";
import type { SyncView } from "./bindings/SyncView";
import type { RefusedChange } from "./bindings/RefusedChange";
import type { StatsView } from "./bindings/StatsView";
import type { CodeStatus } from "./bindings/CodeStatus";
import type { CodeReward } from "./bindings/CodeReward";
import type { Money } from "./bindings/Money";
import type { RewardsSummary } from "./bindings/RewardsSummary";
import type { ActiveCampaign } from "./bindings/ActiveCampaign";
import type { AnalyticsReport } from "./bindings/AnalyticsReport";
import type { Network } from "./bindings/Network";
import type { NetworkMember } from "./bindings/NetworkMember";
import type { RecommendationProgress } from "./bindings/RecommendationProgress";
import type { RecommendationSent } from "./bindings/RecommendationSent";
import type { RecommendationsReceived } from "./bindings/RecommendationsReceived";
import type { DirectionReport } from "./bindings/DirectionReport";
import type { FunnelStep } from "./bindings/FunnelStep";
import type { FunnelStepReport } from "./bindings/FunnelStepReport";
import type { PeriodFigures } from "./bindings/PeriodFigures";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

import type { AsOf } from "./bindings/AsOf";
import type { DeliveryReport } from "./bindings/DeliveryReport";
import type { InvitationStatus } from "./bindings/InvitationStatus";
import type { NotificationChoice } from "./bindings/NotificationChoice";
import type { NotificationItem } from "./bindings/NotificationItem";
import type { NotificationList } from "./bindings/NotificationList";

export type { ImportPhase, ImportProgress, ImportReport, ProfileInput, SupplierProfile };
export type { AnalyticsReport, DirectionReport, FunnelStep, FunnelStepReport, PeriodFigures };
export type { Network, NetworkMember, RecommendationProgress, RecommendationSent, RecommendationsReceived };
export type { ActiveCampaign, AsOf, CodeReward, CodeStatus, Money, RefusedChange, RewardsSummary, StatsView, SyncView, TokenPlace };
export type { DeliveryReport, InvitationStatus };
export type { NotificationChoice, NotificationItem, NotificationList };
export type { BulkResult, CapturedLead, Contact, ContactPage, Dashboard, ErrorBody, Fair, Invitation, LocalCode, LocalSession, ServerStatus };

function asError(e: unknown): ErrorBody {
  if (e && typeof e === "object" && "message" in e) {
    const err = e as { code?: unknown; message: unknown };
    return { code: String(err.code ?? "error"), message: String(err.message) };
  }
  return { code: "error", message: String(e) };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw asError(e);
  }
}

/** How much of a picked file crosses to the Rust side at once: the window holds one piece,
 * never the whole file (a CRM export can be tens of megabytes). */
const PIECE_BYTES = 1024 * 1024;

/** Where an import stands: handing the file over ("sending", bytes), then the Rust side's
 * phases (see ImportPhase). */
export type ImportStep = { phase: ImportPhase | "sending"; done: number; total: number };

/** Sends `file` to the Rust side piece by piece, then imports it as contacts. `signal`
 * stops the sending (what arrived is dropped); the import itself is one transaction. */
async function importContactsFile(file: File, onStep: (step: ImportStep) => void, signal: AbortSignal): Promise<ImportReport> {
  const id = await call<string>("begin_contacts_import");
  try {
    let offset = 0;
    onStep({ phase: "sending", done: 0, total: file.size });
    while (offset < file.size) {
      if (signal.aborted) throw { code: "cancelled", message: `Import of ${file.name} cancelled; nothing was imported.` };
      const piece = new Uint8Array(await file.slice(offset, offset + PIECE_BYTES).arrayBuffer());
      offset = await invoke<number>("append_contacts_import", piece, {
        headers: { "Upload-Id": id, "Upload-Offset": String(offset) },
      });
      onStep({ phase: "sending", done: offset, total: file.size });
    }
    // Cancelled while the last piece was on its way: still cancelled.
    if (signal.aborted) throw { code: "cancelled", message: `Import of ${file.name} cancelled; nothing was imported.` };
  } catch (e) {
    await invoke("cancel_contacts_import", { id }).catch(() => undefined);
    throw asError(e);
  }
  const progress = new Channel<ImportProgress>();
  progress.onmessage = (p) => onStep(p);
  return call<ImportReport>("finish_contacts_import", { id, onProgress: progress });
}

export const backend = {
  serverStatus: () => call<ServerStatus>("server_status"),
  session: () => call<LocalSession | null>("session"),
  signIn: (serverUrl: string, email: string, password: string) =>
    call<LocalSession>("sign_in", { serverUrl, email, password }),
  contacts: (query: string) => call<Contact[]>("contacts", { query }),
  /** The first `limit` contacts matching `query`, and how many match in all. */
  contactPage: (query: string, limit: number) => call<ContactPage>("contact_page", { query, limit }),
  /** Couples with an email (whom an invitation can go to), a page at a time. */
  invitableContacts: (query: string, limit: number) => call<ContactPage>("invitable_contacts", { query, limit }),
  createContact: (input: ContactInput) => call<Saved>("create_contact", { input }),
  updateContact: (id: string, input: ContactInput) => call<Saved>("update_contact", { id, input }),
  exportContactsCsv: () => call<string>("export_contacts_csv"),
  exportQr: (code: string, link: string, format: "svg" | "png") => call<string>("export_qr", { code, link, format }),
  dataDir: () => call<string>("data_dir"),
  tokenPlace: () => call<TokenPlace | null>("token_place"),
  deleteContact: (id: string) => call<null>("delete_contact", { id }),
  importContactsFile,
  fairs: () => call<Fair[]>("fairs"),
  createFair: (input: FairInput) => call<Fair>("create_fair", { input }),
  /** The supplier's profile for couples' recommendations, as saved here or synced. */
  profile: () => call<SupplierProfile>("profile"),
  saveProfile: (input: ProfileInput) => call<SupplierProfile>("save_profile", { input }),
  createCode: (input: CodeInput) => call<LocalCode>("create_code", { input }),
  fairCodes: (fairId: string) => call<LocalCode[]>("fair_codes", { fairId }),
  exportFairSheet: (fairId: string, paper: Paper) => call<string>("export_fair_sheet", { fairId, paper }),
  qrSvg: (link: string, size: number) => call<string>("qr_svg", { link, size }),
  captureLead: (input: LeadInput) => call<CapturedLead>("capture_lead", { input }),
  dashboard: () => call<Dashboard>("dashboard"),
  defaultTemplate: () => call<string>("default_template"),
  previewInvitation: (template: string, coupleNames: string, weddingDate: string | null) =>
    call<string>("preview_invitation", { template, coupleNames, weddingDate }),
  draftInvitation: (input: InvitationInput) => call<Invitation>("draft_invitation", { input }),
  queueBulkInvitations: (contactIds: string[], template: string, discount: string | null, delaySeconds: number, campaignId: string | null) =>
    call<BulkResult>("queue_bulk_invitations", { contactIds, template, discount, delaySeconds, campaignId }),
  invitations: () => call<Invitation[]>("invitations"),
  /** How the server sends queued invitations (relay, pacing, each one's delivery), as of the last sync. */
  invitationDelivery: () => call<AsOf<DeliveryReport> | null>("invitation_delivery"),
  cancelInvitation: (id: string) => call<null>("cancel_invitation", { id }),
  sendInvitation: (id: string) => call<null>("send_invitation", { id }),
  allCodes: () => call<LocalCode[]>("all_codes"),
  syncStatus: () => call<SyncView>("sync_status"),
  syncNow: () => call<null>("sync_now"),
  dataProblem: () => call<ErrorBody | null>("data_problem"),
  startFresh: (keepCopy: boolean) => call<string | null>("start_fresh", { keepCopy }),
  quit: () => call<null>("quit"),
  exportAccountData: () => call<string>("export_account_data"),
  deleteAccount: (confirmEmail: string) => call<null>("delete_account", { confirmEmail }),
  discardRefusedChange: (id: number) => call<SyncView>("discard_refused_change", { id }),
  serverStats: () => call<AsOf<StatsView> | null>("server_stats"),
  codeStatuses: () => call<AsOf<CodeStatus[]> | null>("code_statuses"),
  rewardsSummary: () => call<AsOf<RewardsSummary> | null>("rewards_summary"),
  /** The account's own growth analytics by week (last 12 weeks), as of the last sync (offline too). */
  analytics: () => call<AsOf<AnalyticsReport> | null>("analytics"),
  /** Couples' recommendations of this supplier and how far each got, as of the last sync. */
  recommendedBy: () => call<AsOf<RecommendationsReceived> | null>("recommended_by"),
  /** Who joined through this supplier's invitations, and through them, as of the last sync. */
  network: () => call<AsOf<Network> | null>("network"),
  /** The campaigns open to this account, as of the last sync (offline too). */
  activeCampaigns: () => call<AsOf<ActiveCampaign[]> | null>("active_campaigns"),
  /** The account's newest notifications as of the last sync, and which are unread. */
  notifications: () => call<NotificationList>("notifications"),
  /** The list whose newest notification was made `upTo` was seen: it and older ones are read. */
  markNotificationsRead: (upTo: string) => call<null>("mark_notifications_read", { upTo }),
  /** Which kinds of notification also come by email. */
  notificationChoices: () => call<NotificationChoice[]>("notification_choices"),
  /** Turns one kind's email on or off; the server hears it with the next sync (offline too). */
  setNotificationChoice: (kind: string, email: boolean) => call<NotificationChoice[]>("set_notification_choice", { kind, email }),
  /** Calls `handler` with every change of the background sync's status. */
  onSyncStatus: (handler: (view: SyncView) => void): Promise<UnlistenFn> =>
    listen<SyncView>("sync-status", (event) => handler(event.payload)),
};

/** A code's live state in words, from the server's last word on it. */
export function codeStatusText(status: CodeStatus | undefined): string {
  if (!status) return "no activity yet";
  const review = reviewText(status.fraud_status);
  return review ? `${activityText(status)} · ${review}` : activityText(status);
}

function activityText(status: CodeStatus): string {
  if (status.converted_at) return "converted";
  if (status.signed_up_at) return "signed up";
  if (status.expired) return "expired";
  if (status.clicks > 0 || status.leads > 0) return `clicked (${status.clicks} visits, ${status.leads} leads)`;
  return "no activity yet";
}

/** Where fraud review of the code's couples stands: the supplier sees this, never the evidence. */
function reviewText(fraudStatus: string): string | null {
  switch (fraudStatus) {
    case "under_review":
      return "under review";
    case "approved":
      return "approved";
    case "rejected":
      return "rejected";
    default:
      return null;
  }
}

/** An amount in words: credits as "75.00 credits", any other currency as money ("£10.00"). */
export function moneyText(m: Money): string {
  if (m.currency !== "CRD") {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: m.currency }).format(m.amount_minor / 100);
  }
  // Whole credits and hundredths apart, so no float ever rounds an amount.
  const abs = Math.abs(m.amount_minor);
  const whole = Math.floor(abs / 100).toLocaleString("en-GB");
  return `${m.amount_minor < 0 ? "−" : ""}${whole}.${String(abs % 100).padStart(2, "0")} credits`;
}

/** A rate (0.25) as a percentage ("25%", or "12.5%" with `digits` 1); an absent rate is "—". */
export function percentText(rate: number | null, digits = 0): string {
  if (rate === null) return "—";
  return `${(rate * 100).toLocaleString("en-GB", { maximumFractionDigits: digits })}%`;
}

/** A ratio such as K (1.5, 0.67) in at most two decimals; an absent one is "—". */
export function ratioText(value: number | null): string {
  return value === null ? "—" : value.toLocaleString("en-GB", { maximumFractionDigits: 2 });
}

/** A reward's status in words ("clawed_back" → "clawed back"). */
export function rewardStatusText(status: string): string {
  return status.replace(/_/g, " ");
}

/** What a code earned, e.g. "75.00 credits · pending"; empty when nothing yet. */
export function codeRewardsText(status: CodeStatus | undefined): string {
  return (status?.rewards ?? []).map((r: CodeReward) => `${moneyText(r.amount)} · ${rewardStatusText(r.status)}`).join(", ");
}

/** A multiplier in basis points in words: 15000 → "×1.5", 20000 → "×2.0", 12500 → "×1.25". */
export function multiplierText(bp: number): string {
  // Whole and ten-thousandths apart, so no float ever rounds it.
  const frac = String(bp % 10_000).padStart(4, "0").replace(/0+$/, "");
  return `×${Math.floor(bp / 10_000)}.${frac === "" ? "0" : frac}`;
}

/** What a campaign offers in a line: "×2.0 + 5.00 credits bonus". */
export function campaignOfferText(c: ActiveCampaign): string {
  return c.bonus.amount_minor > 0 ? `${multiplierText(c.multiplier_bp)} + ${moneyText(c.bonus)} bonus` : multiplierText(c.multiplier_bp);
}

/** What the couple gets under the campaign, in words; empty when nothing. */
export function refereeIncentiveText(c: ActiveCampaign): string {
  return c.referee_incentive_text ?? (c.referee_incentive ? moneyText(c.referee_incentive) : "");
}

/** The campaigns still running by this device's clock (the list is as of the last sync). */
export function openCampaigns(view: AsOf<ActiveCampaign[]> | null): ActiveCampaign[] {
  const now = Date.now();
  return (view?.value ?? []).filter((c) => new Date(c.ends_at).getTime() > now);
}

/** Empty form fields become absent, not empty strings. */
export function blankToUndefined(value: string): string | undefined {
  const v = value.trim();
  return v === "" ? undefined : v;
}
