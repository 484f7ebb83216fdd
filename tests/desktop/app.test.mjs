// The built desktop app, driven through tauri-driver + WebKitWebDriver in a virtual X
// display (run this file under xvfb-run), against a real server: sign in once, add a
// contact, edit it, import a CSV, draft and bulk-queue invitations; then, with the server
// gone (a fair with no network), create a fair and its QR code, print its table cards,
// open fair mode and capture a lead, see the header count what waits to be sent and the
// dashboard's figures change. A screenshot of fair mode is kept as an artifact. Then a
// second instance of the app, with its own data folder, signs in to the same account:
// sync brings it the first one's contacts, and the fair lead, once synced, shows as
// attributed on the dashboard after the platform reports the couple's sign-up; when the
// platform reports that couple's purchase, the next sync shows the reward on the
// dashboard (credits, tier, leaderboard place), in its Growth section (the funnel's
// converted step, couples won, revenue, this week's bar of the trend) and on the fair's
// code. Last, an operator
// creates a campaign for photographers: after a sync the dashboard shows it, a new code
// at the fair is made under it, and the couple who buys through that code earns the
// supplier the campaign's multiplied reward, named in its reason. Then a fellow supplier
// added to Contacts is invited from there; once they join the platform and subscribe,
// a sync shows them in the dashboard's network, with the reward; and two friends a couple
// recommended the studio to show under "Couples recommending you" with how far each got.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startServer, startRelay, api } from "../browser/server.mjs";
import { ELEMENT, appBinary, driverBin, startApp as launchApp, stopApp, webdriver } from "./webdriver.mjs";

const appBin = appBinary("debug");
const artifacts = resolve(import.meta.dirname, "../artifacts");
// The WebDriver endpoint and session of the app instance the helpers talk to.
let WD = "http://127.0.0.1:4444";

let server;
let relay; // the SMTP server the server sends invitations to
let first; // { driver, url, session } of the first app instance
let dataDir;
let session;
let second; // { driver, dataDir, session } of the second app instance

/** Starts the app with its own data folder through tauri-driver on `port`, against the
 * test's server; the helpers below talk to it from now on. */
async function startApp(port, dir) {
  const app = await launchApp({
    port,
    app: appBin,
    env: { BOUQUET_DATA_DIR: dir, BOUQUET_EXPORT_DIR: join(dir, "exports"), BOUQUET_SERVER_URL: server.url },
    logFile: join(artifacts, `tauri-driver-${port}.log`),
  });
  WD = app.url;
  return app;
}

const wd = (method, path, body) => webdriver(WD, method, path, body);

/** Waits for the element with this data-testid, up to 15 s. */
async function el(testid) {
  return find(`[data-testid="${testid}"]`);
}

/** Waits for the first element matching this CSS selector, up to 15 s. */
async function find(selector) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const found = await wd("POST", `/session/${session}/element`, { using: "css selector", value: selector });
      return found[ELEMENT];
    } catch (e) {
      if (Date.now() > deadline) {
        // What the window showed when it failed, for whoever reads the CI log.
        try { execFileSync("import", ["-window", "root", join(artifacts, "desktop-failure.png")]); } catch {}
        throw new Error(`no element ${selector}: ${e.message}`);
      }
      await sleep(200);
    }
  }
}

/** Clicks the element with this data-testid, first scrolled to the middle of the window:
 * on a cold start WebKit has clicked a button below the fold without the click arriving. */
async function click(testid) {
  const target = await el(testid);
  await wd("POST", `/session/${session}/execute/sync`, { script: "arguments[0].scrollIntoView({ block: 'center' })", args: [{ [ELEMENT]: target }] });
  return wd("POST", `/session/${session}/element/${target}/click`, {});
}
const type = async (testid, text) => wd("POST", `/session/${session}/element/${await el(testid)}/value`, { text });
const text = async (testid) => wd("GET", `/session/${session}/element/${await el(testid)}/text`);

/** Picks the option with this value in the select with this data-testid. */
async function choose(testid, value) {
  const option = await find(`[data-testid="${testid}"] option[value="${value}"]`);
  await wd("POST", `/session/${session}/element/${option}/click`, {});
}

async function textBecomes(testid, expected, waitMs = 15_000) {
  const deadline = Date.now() + waitMs;
  let last;
  while (Date.now() < deadline) {
    last = await text(testid).catch(() => undefined);
    if (last !== undefined && (expected instanceof RegExp ? expected.test(last) : last === expected)) return last;
    await sleep(200);
  }
  assert.fail(`${testid} shows ${JSON.stringify(last)}, expected ${expected}`);
}

before(async () => {
  assert.ok(process.env.DISPLAY, "run under xvfb-run (the npm test script does)");
  assert.ok(existsSync(appBin), `build the app first: ${appBin}`);
  assert.ok(existsSync(driverBin), `install tauri-driver first: ${driverBin}`);
  mkdirSync(artifacts, { recursive: true });
  relay = await startRelay();
  server = await startServer({ ...relay.env, BOUQUET_EMAIL_BATCH_PAUSE_SECONDS: "2" });
  await api(server, "POST", "/api/v1/accounts", {
    body: { kind: "supplier", email: "studio@goldenhour.example", password: "correct horse battery", business_name: "Golden Hour Studio", vendor_type: "photographer" },
  });
  dataDir = mkdtempSync(join(tmpdir(), "bouquet-app-"));
  first = await startApp(4444, dataDir);
  session = first.session;
});

after(async () => {
  await stopApp(first);
  if (second) {
    await stopApp(second);
    rmSync(second.dataDir, { recursive: true, force: true });
  }
  await server?.stop();
  relay?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test("a supplier signs in once, adds and imports contacts, invites couples, and at a fair with no network makes a QR code and captures a lead", { timeout: 180_000 }, async () => {
  // First start: no session yet, so the app opens on Settings.
  await type("signin-email", "studio@goldenhour.example");
  await type("signin-password", "correct horse battery");
  await click("signin-submit");
  await textBecomes("signed-in", /Golden Hour Studio/);
  await textBecomes("token-place", /kept in a file only you can read/);
  await textBecomes("server-status", "Online");

  await click("nav-contacts");
  await type("contact-names", "Anna & Ben");
  await type("contact-email", "anna@example.com");
  await click("contact-add");
  await textBecomes("contact-list", /Anna & Ben/);
  await click("contact-edit");
  await type("contact-names", "edict"); // appends: "Anna & Ben" becomes "Anna & Benedict"
  await click("contact-add");
  await textBecomes("contact-list", /Anna & Benedict/);
  // A CSV with a bad row: the report names its line, the good rows are imported.
  const csv = join(dataDir, "crm-export.csv");
  writeFileSync(csv, "names,email,wedding_date\nEve & Fay,eve@example.com,2027-08-01\n,nobody@example.com,\nGus & Hal,gus@example.com,\n");
  await type("contact-import", csv);
  await textBecomes("import-report", /Imported 2 contacts[\s\S]*Line 3: names are required/);
  await textBecomes("contact-list", /Eve & Fay[\s\S]*Gus & Hal/);

  // Invitations: a draft with a live preview, then a bulk queue with smart batching.
  await click("nav-invitations");
  await textBecomes("invite-preview", /Golden Hour Studio/);
  await type("invite-names", "Cat & Dan");
  await type("invite-email", "cat@example.com");
  await textBecomes("invite-preview", /Dear Cat & Dan/);
  await click("invite-draft");
  await textBecomes("invite-queue", /Cat & Dan[\s\S]*Draft/);
  await click("invite-pick");
  await click("invite-bulk");
  await textBecomes("invite-plan", /1 queued in 1 batch/);
  await textBecomes("invite-batches", /Batch 1, from .*: 0 urgent, 0 soon, 1 later/);
  // Queued in batch 1; the server may already be sending it (it has a mail relay here).
  await textBecomes("invite-queue", /Anna & Benedict[\s\S]*(Queued|Sending|Sent)\s*1/);

  // At the fair there is no network: the server is gone until the supplier is back.
  await server.pause();
  await click("nav-fairs");
  await type("fair-name", "Bath Wedding Show");
  await click("fair-add");
  await type("code-incentive", "£100 off your engagement shoot");
  await click("code-add");
  const code = await textBecomes("code-text", /^[A-Z]+-[2-9A-Z]{10}$/);
  // The printable sheet: saved as a PDF whose card scans to this code's link.
  await click("sheet-a4");
  const saved = await textBecomes("sheet-saved", /table cards \(A4\)\.pdf$/);
  const pdf = saved.replace(/^Saved /, "");
  execFileSync("pdftoppm", ["-r", "150", "-png", pdf, join(dataDir, "sheet")]);
  const scanned = execFileSync("zbarimg", ["--quiet", "--raw", join(dataDir, "sheet-1.png")]).toString();
  assert.match(scanned, new RegExp(`/r/${code}\\?via=qr`));

  await click("fair-mode");
  await el("fair-mode-screen");
  await sleep(500);
  const shot = join(artifacts, "fair-mode.png");
  execFileSync("import", ["-window", "root", shot]);
  assert.ok(statSync(shot).size > 10_000, "the fair-mode screenshot is empty");
  await type("lead-names", "Priya & Sam");
  await type("lead-email", "priya@example.com");
  await click("lead-submit");
  await textBecomes("lead-thanks", /Thank you, Priya & Sam/);
  await click("fair-mode-close");
  // Everything made at the fair waits in the outbox, and the header says so.
  await click("sync-status");
  await textBecomes("sync-status", /^Offline · [1-9]\d* pending/);

  await click("nav-dashboard");
  assert.equal(await textBecomes("codes-made", "3"), "3", "the fair's QR code and one code per invitation");
  assert.equal(await textBecomes("leads-captured", "1"), "1");
  assert.equal(await textBecomes("contacts-count", "4"), "4", "one added by hand, two imported, one fair lead");
  assert.equal(await textBecomes("invitations-drafted", "1"), "1");
  assert.equal(await textBecomes("invitations-queued", "1"), "1");
  execFileSync("import", ["-window", "root", join(artifacts, "dashboard.png")]);
  await click("nav-invitations");
  await textBecomes("invite-queue", /Queued|Sent/);
  execFileSync("import", ["-window", "root", join(artifacts, "invitations.png")]);
  await click("nav-contacts");
  await textBecomes("contact-list", /Priya & Sam/);
  execFileSync("import", ["-window", "root", join(artifacts, "contacts.png")]);
  assert.match(code, /-/);
  // Back from the fair: the server is reachable again at the same address.
  await server.resume();
});

test("a second app on the same account gets the first one's contacts, and the synced fair lead is attributed after the platform's sign-up", { timeout: 180_000 }, async () => {
  // The first app sends everything (the status line says so once it has polled again).
  await click("sync-status");
  await sleep(3500);
  await textBecomes("sync-status", /^Synced/);

  // A second instance with its own data folder signs in to the same account.
  const firstApp = { url: WD, session };
  const secondDir = mkdtempSync(join(tmpdir(), "bouquet-app2-"));
  second = { ...(await startApp(4446, secondDir)), dataDir: secondDir };
  session = second.session;
  await type("signin-email", "studio@goldenhour.example");
  await type("signin-password", "correct horse battery");
  await click("signin-submit");
  await textBecomes("signed-in", /Golden Hour Studio/);
  await textBecomes("sync-status", /^Synced/);
  await click("nav-contacts");
  await textBecomes("contact-list", /Anna & Benedict[\s\S]*Priya & Sam/);
  writeFileSync(join(artifacts, "second-app-contacts.png"), Buffer.from(await wd("GET", `/session/${session}/screenshot`), "base64"));

  // The couple met at the fair signs up on the platform with the email left at the booth.
  await api(server, "POST", "/api/v1/events", {
    token: server.apiKey,
    body: { idempotency_key: "e2e-priya-signup", type: "signup", occurred_at: new Date().toISOString(), user: { id: "wedsync-priya", kind: "couple", email: "priya@example.com" } },
  });
  // Back on the first app: after a sync the dashboard shows the sign-up through the fair lead.
  WD = firstApp.url;
  session = firstApp.session;
  await click("sync-status");
  await click("nav-dashboard");
  await click("nav-fairs");
  await click("nav-dashboard");
  assert.equal(await textBecomes("joined-through-you", "1"), "1", "one couple joined through this supplier");
  await textBecomes("growth-step-signed_up-count", "1");
  await textBecomes("growth-step-converted-count", "0");
  await textBecomes("stats-as-of", /^as of /);
  // Both windows share the X display; WebDriver photographs this one only.
  writeFileSync(join(artifacts, "dashboard-synced.png"), Buffer.from(await wd("GET", `/session/${session}/screenshot`), "base64"));
});

test("a conversion through the fair lead shows on the dashboard as a reward, with the tier and the leaderboard place, after a sync", { timeout: 120_000 }, async () => {
  // The couple met at the fair buys the professional plan, billed annually.
  const outcome = await api(server, "POST", "/api/v1/events", {
    token: server.apiKey,
    body: {
      idempotency_key: "e2e-priya-convert", type: "convert", occurred_at: new Date().toISOString(),
      user: { id: "wedsync-priya", kind: "couple" }, plan: "professional", annual: true, value: { amount_minor: 49900, currency: "GBP" },
    },
  });
  assert.ok(outcome.rewards.some((r) => r.role === "referrer" && r.amount.amount_minor === 7500), JSON.stringify(outcome.rewards));

  // The first app learns it by syncing: 25.00 × 2 (annual) × 1.5 (an early success) = 75.00 credits, pending.
  await click("sync-status");
  await click("nav-fairs");
  await click("nav-dashboard");
  await textBecomes("credits-pending", "75.00 credits");
  await textBecomes("credits-available", "0.00 credits");
  await textBecomes("tier", /Bronze[\s\S]*1 successful referral[\s\S]*2 more referrals to Silver/);
  await textBecomes("leaderboard-rank", "#1");
  await textBecomes("recent-rewards", /75\.00 credits\s*pending\s*.*professional.*= 75\.00 credits/i);
  await textBecomes("recent-rewards", /perk\s*eligible\s*Bronze tier/);
  await textBecomes("rewards-as-of", /^as of /);
  writeFileSync(join(artifacts, "dashboard-rewards.png"), Buffer.from(await wd("GET", `/session/${session}/screenshot`), "base64"));

  // The Growth section, from the server's analytics of the last 12 weeks as of that sync:
  // the couple shows as converted in the funnel and in this week's bar of the trend.
  await textBecomes("growth-step-converted-count", "1");
  await textBecomes("growth-k", "1");
  await textBecomes("growth-revenue", /^£\s?499\.00$/); // WebKit under Xvfb may space the symbol
  await textBecomes("growth-conversion-rate", /^\d+(\.\d)?%$/);
  await textBecomes("growth-trend-total", /1[23] weeks: [1-9]\d* referrals? made, 1 conversion$/);
  await find('[data-testid="growth-trend"] rect.conversion');
  await textBecomes("growth-as-of", /^as of /);
  await textBecomes("growth-exclusions", /held or rejected/);
  await wd("POST", `/session/${session}/execute/sync`, { script: "document.querySelector('[data-testid=\"growth\"]').scrollIntoView()", args: [] });
  writeFileSync(join(artifacts, "dashboard-growth.png"), Buffer.from(await wd("GET", `/session/${session}/screenshot`), "base64"));

  // The fair's QR code lists what it earned.
  await click("nav-fairs");
  await wd("POST", `/session/${session}/element/${await find('[data-testid="fair-list"] button')}/click`, {});
  // Where fraud review stands, never why: this couple was assessed and approved.
  await textBecomes("code-live", "converted · approved");
  await textBecomes("code-rewards", "75.00 credits · pending");
});

test("an operator's campaign reaches the app through sync; a code made under it earns the multiplied reward, named in its reason", { timeout: 120_000 }, async () => {
  // The operator signs in to the API and creates a campaign for photographers.
  server.createAdmin("ops@example.com", "correct horse battery");
  const ops = await api(server, "POST", "/api/v1/sessions", { body: { email: "ops@example.com", password: "correct horse battery" } });
  const now = Date.now();
  const campaign = await api(server, "POST", "/api/v1/admin/campaigns", {
    token: ops.token,
    body: {
      name: "Photographers' summer push", kind: "targeted", vendor_type: "photographer",
      starts_at: new Date(now - 3_600_000).toISOString(), ends_at: new Date(now + 30 * 86_400_000).toISOString(),
      multiplier_bp: 20000, bonus: { amount_minor: 500, currency: "CRD" }, budget: { amount_minor: 100000, currency: "CRD" },
      referee_incentive_text: "£15 off your album",
    },
  });

  // The app hears of it with its next sync: the dashboard lists it, as of that sync.
  await click("sync-status");
  await click("nav-fairs");
  await click("nav-dashboard");
  await textBecomes("campaigns", /Photographers' summer push[\s\S]*×2\.0[\s\S]*\+ 5\.00 credits bonus per conversion[\s\S]*Couples get £15 off your album[\s\S]*ends /);
  await textBecomes("campaigns-as-of", /^as of /);

  // At the fair, a second QR code, made under the campaign (the first one stays as it was).
  await click("nav-fairs");
  await wd("POST", `/session/${session}/element/${await find('[data-testid="fair-list"] button')}/click`, {});
  await choose("code-campaign", campaign.id);
  await click("code-add");
  await textBecomes("code-campaign-name", "Photographers' summer push");
  const boosted = await wd("GET", `/session/${session}/element/${await find('[data-testid="code-list"] .card:last-child [data-testid="code-text"]')}/text`);
  assert.match(boosted, /^[A-Z]+-[2-9A-Z]{10}$/);

  // Once synced, the code's referral is under the campaign on the server.
  await click("sync-status");
  const deadline = Date.now() + 15_000;
  for (;;) {
    const seen = await api(server, "GET", `/api/v1/admin/campaigns/${campaign.id}`, { token: ops.token });
    if (seen.referrals === 1) break;
    assert.ok(Date.now() < deadline, `the code did not reach the server under the campaign: ${JSON.stringify(seen)}`);
    await sleep(300);
  }

  // A couple buys the professional plan through that code: 25.00 × 1.5 (an early success)
  // = 37.50, under the campaign × 2 + 5.00 = 80.00 credits.
  const outcome = await api(server, "POST", "/api/v1/events", {
    token: server.apiKey,
    body: {
      idempotency_key: "e2e-zoe-convert", type: "convert", occurred_at: new Date().toISOString(), code: boosted,
      user: { id: "wedsync-zoe", kind: "couple" }, plan: "professional", annual: false, value: { amount_minor: 29900, currency: "GBP" },
    },
  });
  const earned = outcome.rewards.find((r) => r.role === "referrer");
  assert.equal(earned?.amount.amount_minor, 8000, JSON.stringify(outcome.rewards));
  assert.match(earned.reason, /Photographers' summer push/);

  // The next sync brings it to the dashboard, the campaign named in the reason.
  await click("sync-status");
  await click("nav-fairs");
  await click("nav-dashboard");
  await textBecomes("recent-rewards", /80\.00 credits\s*pending\s*[^\n]*Photographers' summer push/);
  await textBecomes("credits-pending", "155.00 credits");
  await textBecomes("campaigns", /Photographers' summer push/);
  writeFileSync(join(artifacts, "dashboard-campaign.png"), Buffer.from(await wd("GET", `/session/${session}/screenshot`), "base64"));
});

test("the supplier fills in their profile for couples; a wrong date is refused, and once synced a couple's recommendations rank them with reasons", { timeout: 120_000 }, async () => {
  await click("nav-settings");
  await el("profile-location"); // the form shows once the saved profile is read
  await type("profile-location", "Bath, Somerset");
  await type("profile-styles", "rustic, documentary");
  await type("profile-budget-min", "1500");
  await type("profile-budget-max", "2500.50");
  await type("profile-booked", "2027-06-12, 2027-02-30");
  await click("profile-save");
  await textBecomes("problem", /"2027-02-30" is not a date/);
  // Fixed: the wrong date replaced, and the profile saved (offline first, sent with the sync).
  await wd("POST", `/session/${session}/element/${await el("profile-booked")}/clear`, {});
  await type("profile-booked", "2027-06-12, 2027-06-19");
  await click("profile-save");
  await textBecomes("profile-saved", /Saved/);
  const max = await wd("GET", `/session/${session}/element/${await el("profile-budget-max")}/property/value`);
  assert.equal(max, "2500.50", "the price comes back exactly from pence");
  writeFileSync(join(artifacts, "settings-profile.png"), Buffer.from(await wd("GET", `/session/${session}/screenshot`), "base64"));

  await click("sync-status");
  // A couple asks for a rustic photographer in Bath on 19 June 2027.
  await api(server, "POST", "/api/v1/accounts", { body: { kind: "couple", email: "amy.ben@example.com", password: "correct horse battery", couple_names: "Amy & Ben" } });
  const couple = await api(server, "POST", "/api/v1/sessions", { body: { email: "amy.ben@example.com", password: "correct horse battery" } });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const list = await api(server, "GET", "/api/v1/recommendations?vendor_type=photographer&wedding_date=2027-06-19&location=bath&style=Rustic&budget_min=100000&budget_max=200000", { token: couple.token });
    const studio = list.items.find((r) => r.business_name === "Golden Hour Studio");
    if (studio?.location === "Bath, Somerset") {
      assert.match(studio.reason, /^Already booked on 19 June 2027, works in a rustic style, partly within your budget, works in Bath, Somerset/);
      break;
    }
    assert.ok(Date.now() < deadline, `the profile did not reach the server: ${JSON.stringify(list)}`);
    await sleep(300);
  }
});

test("an invitation goes queued → sent → opened: the server emails it, and the couple's visit comes back with a sync", { timeout: 120_000 }, async () => {
  await click("nav-invitations");
  await type("invite-names", "Zoe & Kit");
  await type("invite-email", "zoe.kit@example.com");
  await textBecomes("invite-preview", /Dear Zoe & Kit/);
  await click("invite-draft");
  const row = '[data-testid="invite-row"][data-email="zoe.kit@example.com"]';
  const rowText = async () => wd("GET", `/session/${session}/element/${await find(row)}/text`);
  assert.match(await rowText(), /Draft/);
  // Sent from drafts: queued, then synced to the server, which emails it.
  const send = await find(`${row} [data-testid="invite-send"]`);
  await wd("POST", `/session/${session}/element/${send}/click`, {});
  async function rowBecomes(pattern) {
    const deadline = Date.now() + 30_000;
    let last;
    while (Date.now() < deadline) {
      last = await rowText().catch(() => "");
      if (pattern.test(last)) return last;
      await click("sync-status"); // sync now
      await sleep(1_000);
    }
    assert.fail(`the invitation shows ${JSON.stringify(last)}, expected ${pattern}`);
  }
  await rowBecomes(/Queued|Sending|Sent/);
  await rowBecomes(/Sent/);
  await textBecomes("invite-counts", /Sent [1-9]/);
  const email = relay.received().find((m) => m.rcpt_tos.includes("zoe.kit@example.com"));
  assert.ok(email, "the relay received Zoe & Kit's invitation");
  assert.match(email.text, /Dear Zoe & Kit/);
  const link = email.text.match(/https?:\/\/\S+\/r\/[A-Z0-9-]+/)[0];
  await wd("POST", `/session/${session}/execute/sync`, { script: "arguments[0].scrollIntoView({ block: 'start' })", args: [{ [ELEMENT]: await el("invite-counts") }] });
  writeFileSync(join(artifacts, "invitations-sent.png"), Buffer.from(await wd("GET", `/session/${session}/screenshot`), "base64"));
  // The couple opens the link from their phone.
  const page = await fetch(link, { headers: { "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1" } });
  assert.equal(page.status, 200);
  await rowBecomes(/Opened/);
  await textBecomes("invite-counts", /Opened 1/);
});

test("the supplier's notifications reach the app and their inbox; an email kind turned off in Settings is sent with the next sync", { timeout: 120_000 }, async () => {
  // The reward, the tier and the photographers' campaign of the tests above.
  await click("sync-status");
  await textBecomes("unread-count", /^[1-9]\d*$/);
  await click("nav-notifications");
  await textBecomes("notifications", /You earned 75 credits/);
  await textBecomes("notifications", /You reached the Bronze tier/);
  await textBecomes("notifications", /has started/);
  // Seen: the nav's unread count goes.
  const cleared = Date.now() + 15_000;
  while (await wd("POST", `/session/${session}/execute/sync`, { script: "return document.querySelector('[data-testid=\"unread-count\"]') !== null", args: [] })) {
    assert.ok(Date.now() < cleared, "the unread count stayed after the list was seen");
    await sleep(200);
  }
  writeFileSync(join(artifacts, "notifications.png"), Buffer.from(await wd("GET", `/session/${session}/screenshot`), "base64"));
  // By email too, to the supplier's own address.
  const deadline = Date.now() + 15_000;
  while (!relay.received().some((m) => m.rcpt_tos.includes("studio@goldenhour.example") && m.headers.Subject === "You earned 75 credits")) {
    assert.ok(Date.now() < deadline, `no reward email: ${JSON.stringify(relay.received().map((m) => [m.rcpt_tos, m.headers.Subject]))}`);
    await sleep(300);
  }

  // Settings: campaign emails off. Saved in the app at once, sent with the next sync.
  await click("nav-settings");
  const box = await el("notify-campaign_started");
  assert.equal(await wd("GET", `/session/${session}/element/${box}/selected`), true, "every kind is emailed by default");
  await click("notify-campaign_started");
  await textBecomes("notify-campaign_started-pending", /sent with the next sync/);
  writeFileSync(join(artifacts, "settings-notifications.png"), Buffer.from(await wd("GET", `/session/${session}/screenshot`), "base64"));
  const studio = await api(server, "POST", "/api/v1/sessions", { body: { email: "studio@goldenhour.example", password: "correct horse battery" } });
  const until = Date.now() + 30_000;
  for (;;) {
    const choices = await api(server, "GET", "/api/v1/me/notification-preferences", { token: studio.token });
    if (choices.find((c) => c.kind === "campaign_started").email === false) break;
    assert.ok(Date.now() < until, `the choice did not reach the server: ${JSON.stringify(choices)}`);
    await click("sync-status");
    await sleep(1_000);
  }
  assert.ok(otherKindsStillEmailed(await api(server, "GET", "/api/v1/me/notification-preferences", { token: studio.token })));
});

/** Every kind but the campaign one still emailed. */
function otherKindsStillEmailed(choices) {
  return choices.filter((c) => c.kind !== "campaign_started").every((c) => c.email === true);
}

test("a fellow supplier invited from Contacts joins and subscribes: the reward and the network show after a sync; so do two friends a couple recommended the supplier to", { timeout: 150_000 }, async () => {
  // A fellow supplier in the contacts, invited from there (drafted like any invitation, offline too).
  await click("nav-contacts");
  await choose("contact-kind", "supplier");
  await type("contact-names", "Priya Shah");
  await type("contact-business", "Petal & Stem");
  await type("contact-email", "priya@petalandstem.example");
  await click("contact-add");
  await textBecomes("contact-list", /Priya Shah/);
  await click("contact-invite-supplier");
  await click("nav-invitations");
  await textBecomes("invite-queue", /Priya Shah[\s\S]*Draft/);
  await click("sync-status");
  const studio = await api(server, "POST", "/api/v1/sessions", { body: { email: "studio@goldenhour.example", password: "correct horse battery" } });
  // The invitation's code reached the server as a referral for a supplier.
  let referral;
  for (const deadline = Date.now() + 30_000; !referral; await sleep(500)) {
    const page = await api(server, "GET", "/api/v1/referrals?limit=100", { token: studio.token });
    referral = page.items.find((r) => r.referee_type === "supplier");
    assert.ok(referral || Date.now() < deadline, "the supplier invitation never reached the server");
  }
  const code = referral.code;
  // Priya joins the platform through it and subscribes (professional, yearly).
  const key = server.apiKey;
  await api(server, "POST", "/api/v1/events", { token: key, body: { idempotency_key: "signup-priya", type: "signup", occurred_at: new Date().toISOString(),
    user: { id: "priya", kind: "supplier", email: "priya@petalandstem.example" }, code } });
  await api(server, "POST", "/api/v1/events", { token: key, body: { idempotency_key: "convert-priya", type: "convert", occurred_at: new Date().toISOString(),
    user: { id: "priya", kind: "supplier" }, plan: "professional", annual: true, value: { amount_minor: 49000, currency: "GBP" } } });

  // A couple recommends the studio to two friends from their page's API.
  await api(server, "POST", "/api/v1/accounts", { body: { kind: "couple", email: "gia.hal@example.com", password: "correct horse battery", couple_names: "Gia & Hal" } });
  const couple = await api(server, "POST", "/api/v1/sessions", { body: { email: "gia.hal@example.com", password: "correct horse battery" } });
  const sent = await api(server, "POST", "/api/v1/recommendations/friends", { token: couple.token,
    body: { supplier_id: studio.account.id, message: "Our photos are stunning", friends: ["cara@example.com", "dan@example.com"] } });
  await api(server, "POST", "/api/v1/events", { token: key, body: { idempotency_key: "signup-cara", type: "signup", occurred_at: new Date().toISOString(),
    user: { id: "cara", kind: "couple", email: "cara@example.com" }, code: sent.referrals[0].code } });

  await click("nav-dashboard");
  await click("sync-status");
  // Not on Bouquet herself: named by the contact the app invited.
  await textBecomes("network", /Priya Shah joined through you[\s\S]*subscribed \(professional\)/i);
  await textBecomes("recommended-by", /Gia & Hal recommended you[\s\S]*signed up/i);
  await textBecomes("recommended-by", /Gia & Hal recommended you[\s\S]*sent/i);
  await textBecomes("recommended-by", /Our photos are stunning/);
  await wd("POST", `/session/${session}/execute/sync`, { script: "document.querySelector('[data-testid=\"recommended-by\"]').scrollIntoView({ block: 'start' })", args: [] });
  writeFileSync(join(artifacts, "dashboard-word-of-mouth.png"), Buffer.from(await wd("GET", `/session/${session}/screenshot`), "base64"));
  // Rewarded by the supplier rules for a yearly professional plan: 25.00 × 2, and × 1.5
  // while the studio has fewer than three earlier successes.
  const rewards = await api(server, "GET", "/api/v1/me/rewards?limit=50", { token: studio.token });
  const earned = rewards.items.find((r) => r.role === "referrer" && r.referral_id === referral.id);
  assert.ok(earned && [5000, 7500].includes(earned.amount.amount_minor), JSON.stringify(rewards.items));
});

/** Replaces the text of the input with this data-testid, as a person selecting it all and
 * typing would (the input event tells Svelte). */
async function fill(testid, value) {
  const target = await el(testid);
  await wd("POST", `/session/${session}/execute/sync`, {
    script: "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', { bubbles: true }));",
    args: [{ [ELEMENT]: target }, value],
  });
}

/** Waits until no element has this data-testid, up to 15 s. */
async function gone(testid) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = await wd("POST", `/session/${session}/elements`, { using: "css selector", value: `[data-testid="${testid}"]` });
    if (found.length === 0) return;
    assert.ok(Date.now() < deadline, `${testid} is still shown`);
    await sleep(200);
  }
}

test("a change the server refuses is shown with its reason while the rest syncs, and fixed from Contacts", { timeout: 120_000 }, async () => {
  WD = first.url;
  session = first.session;
  // Offline, a contact is saved; its queued change is then given names longer than the
  // server takes, as an older version of the app allowed (written into the app's database).
  await server.pause();
  await click("nav-contacts");
  await type("contact-names", "Zoe & Yan");
  await click("contact-add");
  await textBecomes("contact-list", /Zoe & Yan/);
  const long = Array(20).fill("Zoe & Yannick").join(" ");
  execFileSync("python3", ["-c", `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
(id,) = db.execute("SELECT id FROM contacts WHERE names = 'Zoe & Yan'").fetchone()
db.execute("UPDATE contacts SET names = ? WHERE id = ?", (sys.argv[2], id))
changed = db.execute("UPDATE outbox SET payload = json_set(payload, '$.fields.names', ?) WHERE entity = 'contact' AND entity_id = ?", (sys.argv[2], id)).rowcount
assert changed == 1, changed
db.commit()
`, join(dataDir, "bouquet.db"), long]);
  await type("contact-names", "Xavi & Will");
  await click("contact-add");
  await server.resume();

  // The sync goes through; the refused change is shown with the server's reason.
  await click("sync-status");
  await textBecomes("refused-reason", /names/);
  await textBecomes("refused-changes", /contact: Zoe & Yannick/);
  await textBecomes("sync-status", /^Synced/);
  writeFileSync(join(artifacts, "refused-change.png"), Buffer.from(await wd("GET", `/session/${session}/screenshot`), "base64"));
  const studio = await api(server, "POST", "/api/v1/sessions", { body: { email: "studio@goldenhour.example", password: "correct horse battery" } });
  const onServer = async () => JSON.stringify((await api(server, "GET", "/api/v1/sync/pull?after=0&limit=500", { token: studio.token })).records);
  assert.match(await onServer(), /Xavi & Will/, "the change after the refused one reached the server");
  assert.doesNotMatch(await onServer(), /Zoe & Yannick/);

  // Fixed: open Contacts from the notice, shorten the names, save.
  await click("refused-open");
  const edit = await find(`[aria-label^="Edit Zoe & Yannick"]`);
  await wd("POST", `/session/${session}/element/${edit}/click`, {});
  await fill("contact-names", "Zoe & Yannick");
  await click("contact-add");
  await gone("refused-changes");
  await click("sync-status");
  await textBecomes("sync-status", /^Synced/);
  for (const deadline = Date.now() + 15_000; !/"Zoe & Yannick"/.test(await onServer()); await sleep(500)) {
    assert.ok(Date.now() < deadline, "the fixed contact never reached the server");
  }
});

test("a 5,000-row CRM export is handed over in pieces and imported with its progress shown; the bad rows are counted, not all listed", { timeout: 150_000 }, async () => {
  WD = first.url;
  session = first.session;
  await click("nav-contacts");
  const rows = ["names,email,wedding_date,notes"];
  for (let i = 0; i < 5_000; i++) {
    const day = String(1 + (i % 28)).padStart(2, "0");
    rows.push(`Guest ${i} & Partner,guest${i}@crm.example,2027-07-${day},${"Met at the Bath show; wants a relaxed day with family portraits by the lake. ".repeat(3)}`);
  }
  for (let i = 0; i < 60; i++) rows.push(`,nameless${i}@crm.example,,`);
  const big = join(dataDir, "crm-full-export.csv");
  writeFileSync(big, rows.join("\n") + "\n");
  assert.ok(statSync(big).size > 1024 * 1024, "the file crosses in more than one piece");

  // Every line the progress shows is recorded as the window renders it.
  await wd("POST", `/session/${session}/execute/sync`, {
    script: `window.__importSteps = [];
      new MutationObserver(() => {
        const shown = document.querySelector('[data-testid="import-step"]')?.textContent;
        if (shown && window.__importSteps.at(-1) !== shown) window.__importSteps.push(shown);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });`,
    args: [],
  });
  await type("contact-import", big);
  // Numbers are written in the system's locale (5,000 or 5000).
  const report = await textBecomes("import-report", /Imported 5,?000 contacts/, 60_000);
  assert.match(report, /Line 5002: names are required/);
  assert.match(report, /and 10 more rows with problems/);
  const steps = await wd("POST", `/session/${session}/execute/sync`, { script: "return window.__importSteps", args: [] });
  const phases = [...new Set(steps.map((s) => s.replace(/[\d,.]+%?/g, "#")))];
  assert.deepEqual(phases, ["Opening the file…", "Reading the file… #", "Checking each row… #", "Saving # of # contacts", "Looking for duplicates: # of #"], steps.join(" | "));
  assert.ok(steps.some((s) => /^Saving 2,?500 of 5,?000 contacts$/.test(s)), steps.join(" | "));
  assert.ok(steps.some((s) => /^Reading the file… ([1-9]|[1-9]\d)%$/.test(s)), `the file's sending showed partial progress: ${steps.join(" | ")}`);
  await gone("import-progress");
  // A page at a time: the screen shows 200 of them and says how many there are.
  await textBecomes("contact-more", /^Showing 200 of 5,?0\d\d contacts/);
  await click("contact-show-more");
  await textBecomes("contact-more", /^Showing 400 of 5,?0\d\d contacts/);
  await type("contact-search", "guest4999");
  await textBecomes("contact-list", /Guest 4999 & Partner/);
  await gone("contact-more");
  await fill("contact-search", "");
  // Nothing of the file stays in the data folder once imported.
  assert.deepEqual(readdirSync(join(dataDir, "uploads")), []);
  // Invitations' picker pages the same way: the couples with an email, and a search.
  await click("nav-invitations");
  await textBecomes("invite-more", /^Showing 200 of 5,?0\d\d couples/);
  await type("invite-search", "guest4999");
  await textBecomes("invite-contacts", /Guest 4999 & Partner/);
  await gone("invite-more");
  await click("invite-pick");
  await textBecomes("invite-chosen", /^1 chosen$/);
  await fill("invite-search", "");
  await click("nav-contacts");
});

test("a damaged data file opens on the way out: a copy is kept and the app starts fresh", { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "bouquet-damaged-"));
  const garbage = Buffer.from("a spreadsheet saved over the database by mistake; ".repeat(200));
  writeFileSync(join(dir, "bouquet.db"), garbage);
  const third = await startApp(4448, dir);
  session = third.session;
  try {
    await textBecomes("data-problem", /damaged/);
    // WebKitWebDriver's screenshot of a third window on the shared display does not
    // return; the display itself is photographed (this window is on top).
    await sleep(500);
    execFileSync("import", ["-window", "root", join(artifacts, "data-damaged.png")], { timeout: 20_000 });
    await click("start-fresh");
    // A fresh Bouquet: nobody is signed in, so it opens on Settings.
    await el("signin-email");
    const kept = readdirSync(dir).filter((f) => f.startsWith("bouquet.db.unreadable-") && !f.endsWith("-wal") && !f.endsWith("-shm"));
    assert.equal(kept.length, 1, readdirSync(dir).join(", "));
    assert.deepEqual(readFileSync(join(dir, kept[0])), garbage, "the copy is the file as it was");
  } finally {
    await stopApp(third);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the supplier downloads a copy of their data, then deletes the account: the app forgets it and the server refuses it", { timeout: 90_000 }, async () => {
  WD = first.url;
  session = first.session;
  await click("nav-settings");
  await click("export-account");
  const saved = (await textBecomes("export-saved", /^Saved .*bouquet-account-.*\.json$/)).replace(/^Saved /, "");
  const copy = JSON.parse(readFileSync(saved, "utf8"));
  assert.equal(copy.format, "bouquet-account-export/1");
  assert.equal(copy.account.email, "studio@goldenhour.example");
  assert.match(JSON.stringify(copy.records), /Anna & Benedict/);

  await click("delete-account");
  await type("delete-confirm-email", "someone@else.example");
  await click("delete-account-confirm");
  await textBecomes("problem", /type the account's email/i);
  writeFileSync(join(artifacts, "delete-account.png"), Buffer.from(await wd("GET", `/session/${session}/screenshot`), "base64"));
  await fill("delete-confirm-email", "studio@goldenhour.example");
  await click("delete-account-confirm");
  // Signed out, nothing of the account left: the app opens its sign-in, with no contacts.
  await el("signin-email");
  await gone("signed-in");
  await click("nav-contacts");
  await textBecomes("contact-list", /No contacts yet/);
  const signIn = await fetch(`${server.url}/api/v1/sessions`, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "studio@goldenhour.example", password: "correct horse battery" }) });
  assert.equal(signIn.status, 401, "the deleted account cannot sign in");
});
