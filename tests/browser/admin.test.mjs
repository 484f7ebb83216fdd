// The operators' console in headless Chromium: an operator signs in at /admin, finds a
// supplier whose couple converted, sees the pending reward, and posts an adjustment with a
// reason; the supplier's own balance (through the API) shows it, and the ledger names the
// reason and the operator. A supplier's sign-in is refused, a forged form is refused, and
// the pages carry their security headers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { startServer, api } from "./server.mjs";

const artifacts = resolve(import.meta.dirname, "../artifacts");
let server;
let browser;
let supplier;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  server = await startServer();
  server.createAdmin("ops@bouquet.example", "a long operator password");
  await api(server, "POST", "/api/v1/accounts", {
    body: { kind: "supplier", email: "studio@example.com", password: "correct horse battery", business_name: "Lumen Studio", vendor_type: "photographer" },
  });
  supplier = await api(server, "POST", "/api/v1/sessions", { body: { email: "studio@example.com", password: "correct horse battery" } });
  const referral = await api(server, "POST", "/api/v1/referrals", { token: supplier.token, body: { method: "qr" } });
  await api(server, "POST", "/api/v1/events", {
    token: server.apiKey,
    body: {
      idempotency_key: "convert-couple-1", type: "convert", occurred_at: new Date().toISOString(),
      user: { id: "couple-1", kind: "supplier" }, code: referral.code, plan: "professional", annual: true,
      value: { amount_minor: 4900, currency: "GBP" },
    },
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("an operator signs in, sees an account's reward and ledger, and adjusts its credits", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
  const first = await page.goto(`${server.url}/admin`);
  assert.equal(new URL(page.url()).pathname, "/admin/login", "not signed in: sent to the sign-in page");
  const csp = first.headers()["content-security-policy"];
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /frame-ancestors 'none'/);

  // A supplier's account is not an operator's.
  await page.fill("input[name=email]", "studio@example.com");
  await page.fill("input[name=password]", "correct horse battery");
  await page.click("button[type=submit]");
  assert.match(await page.textContent("[role=alert]"), /not an operator/);

  await page.fill("input[name=email]", "ops@bouquet.example");
  await page.fill("input[name=password]", "a long operator password");
  await page.click("button[type=submit]");
  assert.equal(new URL(page.url()).pathname, "/admin");
  const row = page.locator("tr", { hasText: "studio@example.com" });
  assert.match(await row.textContent(), /75\.00 CRD/, "the pending reward of the annual professional conversion");
  assert.match(await row.textContent(), /Bronze/);

  await page.click("text=Lumen Studio");
  const accountPath = new URL(page.url()).pathname;
  assert.match(accountPath, /^\/admin\/accounts\/[0-9a-f-]{36}$/);
  assert.equal(await page.textContent("#pending"), "75.00 CRD");
  assert.equal(await page.textContent("#available"), "0.00 CRD");
  await page.fill("input[name=amount]", "12.50");
  await page.fill("input[name=reason]", "Goodwill: the fair's QR sheet misprinted");
  await page.click("text=Post adjustment");
  assert.match(await page.textContent("[role=status]"), /Adjustment of 12\.50 CRD posted/);
  assert.equal(await page.textContent("#available"), "12.50 CRD");
  const entry = page.locator("tr", { hasText: "misprinted" });
  assert.match(await entry.textContent(), /adjustment/);
  assert.match(await entry.textContent(), /ops@bouquet\.example/);
  await page.screenshot({ path: join(artifacts, "admin-account.png"), fullPage: true });

  // Reloading the result does not post again; a removal below zero is refused, kept in the form.
  await page.reload();
  assert.equal(await page.textContent("#available"), "12.50 CRD");
  await page.fill("input[name=amount]", "-20");
  await page.fill("input[name=reason]", "Reverse too much");
  await page.click("text=Post adjustment");
  assert.match(await page.textContent("[role=alert]"), /below zero/);
  assert.equal(await page.inputValue("input[name=amount]"), "-20");
  assert.equal(await page.textContent("#available"), "12.50 CRD");

  // The supplier sees the same figures through the API.
  const balance = await api(server, "GET", "/api/v1/me/balance", { token: supplier.token });
  assert.equal(balance.available.amount_minor, 1250);
  assert.equal(balance.pending.amount_minor, 7500);
  const ledger = await api(server, "GET", "/api/v1/me/ledger", { token: supplier.token });
  assert.ok(ledger.items.some((e) => e.cause === "adjustment" && e.memo === "Goodwill: the fair's QR sheet misprinted"));

  // A form posted from elsewhere (no CSRF token of this session) changes nothing.
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "bq_admin");
  assert.ok(session?.httpOnly && session.sameSite === "Strict", "the session cookie is HttpOnly and SameSite=Strict");
  const forged = await fetch(`${server.url}${accountPath}/adjustments`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: `bq_admin=${session.value}` },
    body: "csrf=forged&idempotency_key=x&amount=100&reason=stolen",
    redirect: "manual",
  });
  assert.equal(forged.status, 403);
  const after = await api(server, "GET", "/api/v1/me/balance", { token: supplier.token });
  assert.equal(after.available.amount_minor, 1250);

  await page.click("text=Sign out");
  assert.equal(new URL(page.url()).pathname, "/admin/login");
  await page.goto(`${server.url}/admin`);
  assert.equal(new URL(page.url()).pathname, "/admin/login", "signed out: the cookie is gone");
  await page.close();
});

test("an operator creates a targeted campaign; the supplier's next conversion under it is multiplied and names it", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, javaScriptEnabled: false });
  await page.goto(`${server.url}/admin/login`);
  await page.fill("input[name=email]", "ops@bouquet.example");
  await page.fill("input[name=password]", "a long operator password");
  await page.click("button[type=submit]");
  await page.click("nav >> text=Campaigns");
  const today = new Date();
  const day = (d) => d.toISOString().slice(0, 10);
  await page.fill("input[name=name]", "Photographers' autumn double");
  await page.selectOption("select[name=kind]", "targeted");
  await page.fill("input[name=vendor_type]", "photographer");
  await page.fill("input[name=starts_on]", day(today));
  await page.fill("input[name=ends_on]", day(new Date(today.getTime() + 30 * 86400000)));
  await page.fill("input[name=multiplier]", "2");
  await page.fill("input[name=budget]", "500");
  await page.fill("input[name=landing_headline]", "Double credits this autumn");
  await page.click("text=Create campaign");
  assert.match(await page.textContent("[role=status]"), /Campaign created/);
  assert.equal(await page.textContent("#status"), "active");
  const campaignPath = new URL(page.url()).pathname;

  // The supplier sees it open to them, makes a code under it, and a couple converts.
  const open = await api(server, "GET", "/api/v1/campaigns/active", { token: supplier.token });
  const campaign = open.find((c) => c.name === "Photographers' autumn double");
  assert.ok(campaign, JSON.stringify(open));
  const referral = await api(server, "POST", "/api/v1/referrals", { token: supplier.token, body: { method: "link", campaign_id: campaign.id } });
  const outcome = await api(server, "POST", "/api/v1/events", {
    token: server.apiKey,
    body: { idempotency_key: "convert-couple-2", type: "convert", occurred_at: new Date().toISOString(), user: { id: "couple-2", kind: "couple" }, code: referral.code, plan: "starter" },
  });
  const reward = outcome.rewards.find((r) => r.role === "referrer");
  // Starter 10.00 × 1.5 (one earlier success) = 15.00, × 2 under the campaign = 30.00.
  assert.equal(reward.amount.amount_minor, 3000, reward.reason);
  assert.match(reward.reason, /campaign "Photographers' autumn double" × 2/);
  const rewards = await api(server, "GET", "/api/v1/me/rewards", { token: supplier.token });
  assert.ok(rewards.items.some((r) => r.reason.includes("Photographers' autumn double")));

  await page.goto(`${server.url}${campaignPath}`);
  assert.equal(await page.textContent("#spent"), "30.00 CRD");
  assert.equal(await page.textContent("#conversions"), "1");
  await page.screenshot({ path: join(artifacts, "admin-campaign.png"), fullPage: true });
  await page.click("form:has(input[value=pause]) button");
  assert.equal(await page.textContent("#status"), "paused");
  const after = await api(server, "GET", "/api/v1/campaigns/active", { token: supplier.token });
  assert.ok(!after.some((c) => c.name === "Photographers' autumn double"), "a paused campaign is not offered");
  await page.close();
});
