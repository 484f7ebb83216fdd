// The referral landing page in headless Chromium on a phone-sized screen: it renders,
// the lead form submits (with JavaScript off, as on the most locked-down phone), and the
// lead's conversion is attributed to the supplier who printed the QR code.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { checkPage } from "./axe.mjs";
import { startServer, api } from "./server.mjs";

const artifacts = resolve(import.meta.dirname, "../artifacts");
const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  userAgent:
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
};

let server;
let browser;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  server = await startServer();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function supplierWithQrCode() {
  await api(server, "POST", "/api/v1/accounts", {
    body: {
      kind: "supplier",
      email: "studio@example.com",
      password: "correct horse battery",
      business_name: "Golden Hour Studio",
      vendor_type: "photographer",
    },
  });
  const session = await api(server, "POST", "/api/v1/sessions", {
    body: { email: "studio@example.com", password: "correct horse battery" },
  });
  const referral = await api(server, "POST", "/api/v1/referrals", {
    token: session.token,
    body: {
      method: "qr",
      message: "So lovely to meet you at the Harrogate wedding fair!",
      incentive_offered: "£100 off your engagement shoot",
      utm_source: "harrogate-fair",
    },
  });
  return { session, referral };
}

test("a couple scans the QR code, leaves their details, and the conversion is attributed", async () => {
  const { session, referral } = await supplierWithQrCode();
  const context = await browser.newContext({ ...PHONE, javaScriptEnabled: false });
  const page = await context.newPage();

  const response = await page.goto(referral.qr_link);
  assert.equal(response.status(), 200);
  // No script may run on the page, it cannot be framed, and its form may only go here (and
  // on to the platform's sign-up page).
  const headers = response.headers();
  assert.match(headers["content-security-policy"], /^default-src 'none';.*form-action 'self'/);
  assert.doesNotMatch(headers["content-security-policy"], /script-src/);
  assert.equal(headers["x-frame-options"], "DENY");
  assert.equal(headers["x-content-type-options"], "nosniff");
  assert.match(await page.locator("h1").innerText(), /Golden Hour Studio invited you/);
  assert.match(await page.locator(".offer").innerText(), /£100 off your engagement shoot/);
  assert.match(await page.locator(".note").innerText(), /Harrogate wedding fair/);
  // Fits the phone: nothing scrolls sideways, the button is a comfortable tap target.
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  assert.ok(fits, "the page is wider than the phone");
  const button = await page.getByRole("button", { name: "Claim my invitation" }).boundingBox();
  assert.ok(button.height >= 44 && button.width >= 300, `button is ${button.width}x${button.height}`);
  const cookies = await context.cookies();
  assert.ok(cookies.some((c) => c.name === "bq_touch" && c.httpOnly), "bq_touch cookie set");
  await page.screenshot({ path: join(artifacts, "landing-phone.png"), fullPage: true });
  assert.deepEqual(await checkPage(browser, referral.link, PHONE), [], "accessibility of the landing page");

  await page.getByLabel("Your names").fill("Priya & Sam");
  await page.getByLabel("Email").fill("priya.sam@example.com");
  await page.getByLabel(/Wedding date/).fill("2027-09-18");
  await Promise.all([page.waitForURL(/\/welcome\?bq_touch=/), page.getByRole("button", { name: "Claim my invitation" }).click()]);
  const touchId = new URL(page.url()).searchParams.get("bq_touch");
  assert.match(touchId, /^[0-9a-f-]{36}$/);
  assert.match(await page.locator("h1").innerText(), /you're in/i);
  await page.screenshot({ path: join(artifacts, "welcome-phone.png") });
  assert.deepEqual(await checkPage(browser, page.url(), PHONE), [], "accessibility of the welcome page");
  assert.deepEqual(await checkPage(browser, `${server.url}/api/v1/unsubscribe/${"x".repeat(43)}`, PHONE), [], "accessibility of the unsubscribe page");
  // On a phone set to Spanish, the landing, welcome and unsubscribe pages are in Spanish
  // (the supplier's own message and offer stay as they wrote them).
  const spanish = await browser.newContext({ ...PHONE, locale: "es-ES" });
  const es = await spanish.newPage();
  await es.goto(referral.link);
  assert.equal(await es.locator("html").getAttribute("lang"), "es");
  assert.equal(await es.locator("h1").innerText(), "Golden Hour Studio te ha invitado");
  assert.match(await es.locator(".lede").innerText(), /^Tu fotógrafo quiere ayudarte a planear tu día/);
  assert.ok(await es.getByLabel("Vuestros nombres").isVisible());
  await es.screenshot({ path: join(artifacts, "landing-phone-es.png"), fullPage: true });
  assert.deepEqual(await checkPage(browser, referral.link, { ...PHONE, locale: "es-ES" }), [], "accessibility of the Spanish landing page");
  // A mistake is told in Spanish, and the form keeps what was typed.
  await es.getByLabel("Vuestros nombres").fill("Lucía y Mateo");
  await es.getByLabel("Correo electrónico").fill("lucia@example.com");
  await es.getByLabel(/Fecha de la boda/).fill("2027-09-18");
  await es.evaluate(() => { document.querySelector("input[name=email]").type = "text"; document.querySelector("input[name=email]").value = "lucia"; });
  await es.getByRole("button", { name: "Aceptar mi invitación" }).click();
  assert.equal(await es.locator(".error").innerText(), "Esa dirección de correo no parece correcta.");
  assert.equal(await es.getByLabel("Vuestros nombres").inputValue(), "Lucía y Mateo");
  await es.goto(`${server.url}/r/LOVE-ABCDEFGHJK`);
  assert.equal(await es.locator("h1").innerText(), "Revisemos ese código");
  await es.goto(`${server.url}/welcome`);
  assert.equal(await es.locator("html").getAttribute("lang"), "es");
  assert.equal(await es.locator("h1").innerText(), "¡Gracias, ya estás dentro!");
  const unsubscribe = await es.goto(`${server.url}/api/v1/unsubscribe/${"x".repeat(43)}`);
  assert.match(unsubscribe.headers()["content-security-policy"], /^default-src 'none';/);
  assert.equal(await es.locator("h1").innerText(), "Este enlace no es válido");
  await spanish.close();

  const now = new Date().toISOString();
  const user = { id: "wedsync-user-42", kind: "couple", email: "Priya.Sam@example.com" };
  const signup = await api(server, "POST", "/api/v1/events", {
    token: server.apiKey,
    body: { idempotency_key: "signup-42", type: "signup", occurred_at: now, user, touch_id: touchId },
  });
  assert.equal(signup.touches_linked, 1);
  const convert = await api(server, "POST", "/api/v1/events", {
    token: server.apiKey,
    body: {
      idempotency_key: "convert-42",
      type: "convert",
      occurred_at: new Date(Date.now() + 1000).toISOString(),
      user,
      plan: "essentials",
      value: { amount_minor: 2900, currency: "GBP" },
    },
  });
  assert.equal(convert.conversion.referrer_id, session.account.id);
  assert.equal(convert.conversion.credits[0].channel, "qr");

  const stats = await api(server, "GET", "/api/v1/me/stats", { token: session.token });
  assert.equal(stats.qr_scans, 1);
  assert.equal(stats.leads, 1);
  assert.equal(stats.successful_referrals, 1);
  assert.deepEqual(stats.value_generated, [{ amount_minor: 2900, currency: "GBP" }]);
  await context.close();
});

test("a mistyped code shows a friendly page with a form to type it again", async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  const response = await page.goto(`${server.url}/r/LOVE-ABCDEFGHJK`);
  assert.equal(response.status(), 404);
  assert.match(await page.locator("h1").innerText(), /check that code/i);
  assert.ok(await page.getByLabel(/Type the code/).isVisible());
  await context.close();
});
