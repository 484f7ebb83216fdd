// The couples' own page in headless Chromium on a phone: a couple signs in, finds their
// code as a link, a QR code and one-tap sharing, and a friend who signs up and books
// through that code is attributed to them and rewarded by the couple rules (5% of the
// booking, at most 50 credits). A couple recommends the photographer they booked to two
// friends, and the photographer's list has both. Without JavaScript the essentials still work.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { seriousViolations } from "./axe.mjs";
import { startRelay, startServer, api } from "./server.mjs";

const artifacts = resolve(import.meta.dirname, "../artifacts");
const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  userAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
};
const PASSWORD = "correct horse battery";


let server;
let browser;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  server = await startServer();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(page, email) {
  await page.goto(`${server.url}/couple`);
  assert.match(page.url(), /\/couple\/login$/, "signed out, the page asks to sign in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await Promise.all([page.waitForURL(/\/couple$/), page.getByRole("button", { name: "Sign in" }).click()]);
}

test("a couple shares their code from their phone; a friend's booking through it rewards them by the couple rules", async () => {
  await api(server, "POST", "/api/v1/accounts", { body: { kind: "couple", email: "amy.ben@example.com", password: PASSWORD, couple_names: "Amy & Ben" } });
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await signIn(page, "amy.ben@example.com");

  assert.equal(await page.locator("h1").innerText(), "Amy & Ben");
  const code = (await page.locator("#code").innerText()).trim();
  assert.match(code, /^(COUPLE|UNITY|FOREVER|HEARTS|VOWS)-/);
  const link = await page.locator("#link").inputValue();
  assert.equal(link, `${server.url}/r/${code}`);
  // The QR code is an image of the link, drawn; the share links carry the link.
  assert.ok(await page.locator("#qr").evaluate((img) => img.complete && img.naturalWidth >= 240), "the QR code shows");
  assert.equal(await page.locator("#qr").getAttribute("alt"), `QR code of your link, ${link}`);
  const whatsapp = await page.locator("#share-whatsapp").getAttribute("href");
  assert.ok(whatsapp.startsWith("https://wa.me/?text=") && decodeURIComponent(whatsapp).includes(link), whatsapp);
  const mail = await page.locator("#share-email").getAttribute("href");
  assert.ok(mail.startsWith("mailto:?subject=") && decodeURIComponent(mail).includes(link), mail);
  // Chromium here has the clipboard: the copy button is offered (the script is the server's own).
  await page.locator("#copy-button").waitFor({ state: "visible" });
  // The same code on every visit (it has weeks to live), and nothing scrolls sideways.
  await page.reload();
  assert.equal((await page.locator("#code").innerText()).trim(), code);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), "the page is wider than the phone");
  assert.match(await page.locator("#rewards").innerText(), /Nothing yet/);
  await page.screenshot({ path: join(artifacts, "couple-page-phone.png"), fullPage: true });

  // A friend signs up on the platform with the code and books a £290.00 package: 5% is
  // 14.50 credits for Amy & Ben (under the 50-credit cap).
  const now = new Date().toISOString();
  const friend = { id: "wedsync-friend-7", kind: "couple", email: "cat.dan@example.com" };
  await api(server, "POST", "/api/v1/events", { token: server.apiKey, body: { idempotency_key: "friend-signup", type: "signup", occurred_at: now, user: friend, code } });
  const booked = await api(server, "POST", "/api/v1/events", {
    token: server.apiKey,
    body: { idempotency_key: "friend-convert", type: "convert", occurred_at: now, user: friend, plan: "professional", value: { amount_minor: 29000, currency: "GBP" } },
  });
  assert.equal(booked.conversion.referral_id !== undefined, true);
  const theirs = booked.rewards.find((r) => r.role === "referrer");
  assert.equal(theirs.amount.amount_minor, 1450, JSON.stringify(booked.rewards));

  await page.reload();
  assert.match(await page.locator("#rewards").innerText(), /14\.50 credits\s*pending/i);
  assert.equal(await page.locator("#pending").innerText(), "14.50 credits");
  assert.match(await page.locator("#tier").innerText(), /\S/);
  // They hear of it on their page too (couples have no app), and choose their emails here.
  assert.match(await page.locator("#news").innerText(), /You earned 14\.50 credits/);
  assert.ok(await page.locator("#email-reward_eligible").isChecked(), "every kind is emailed by default");
  await page.locator("#email-campaign_started").uncheck();
  await Promise.all([page.waitForURL(/saved=true/), page.getByRole("button", { name: "Save my email choices" }).click()]);
  assert.equal(await page.locator("#emails-saved").innerText(), "Saved.");
  assert.ok(!(await page.locator("#email-campaign_started").isChecked()));
  assert.ok(await page.locator("#email-reward_earned").isChecked());
  const session = await api(server, "POST", "/api/v1/sessions", { body: { email: "amy.ben@example.com", password: PASSWORD } });
  const choices = await api(server, "GET", "/api/v1/me/notification-preferences", { token: session.token });
  assert.deepEqual(choices.filter((c) => !c.email).map((c) => c.kind), ["campaign_started"]);
  await page.screenshot({ path: join(artifacts, "couple-page-rewarded-phone.png"), fullPage: true });

  // In Spanish, for a phone set to Spanish: the words, the numbers and the plural forms.
  const spanish = await browser.newContext({ ...PHONE, locale: "es-ES", storageState: await context.storageState() });
  const es = await spanish.newPage();
  await es.goto(`${server.url}/couple`);
  assert.equal(await es.locator("html").getAttribute("lang"), "es");
  assert.equal(await es.locator("#code-heading").innerText(), "Tu código");
  assert.equal(await es.locator("#pending").innerText(), "14,50 créditos");
  // What happened is told in the page's language, though it happened in English.
  assert.match(await es.locator("#news").innerText(), /Has ganado 14,50 créditos/);
  assert.match(await es.locator("#rewards").innerText(), /14,50 créditos\s*pendiente/i);
  assert.match(await es.locator("#tier-progress").locator("xpath=..").innerText(), /2 contrataciones más para/);
  assert.equal(await es.locator("#share-whatsapp").innerText(), "Enviar por WhatsApp");
  assert.match(decodeURIComponent(await es.locator("#share-whatsapp").getAttribute("href")), /Organizamos nuestra boda con Bouquet/);
  await es.screenshot({ path: join(artifacts, "couple-page-es-phone.png"), fullPage: true });
  await spanish.clearCookies();
  await es.goto(`${server.url}/couple/login`);
  assert.equal(await es.locator("h1").innerText(), "Tu página de Bouquet");
  await es.getByLabel("Correo electrónico").fill("amy.ben@example.com");
  await es.getByLabel("Contraseña").fill("not the password");
  await es.getByRole("button", { name: "Iniciar sesión" }).click();
  assert.equal(await es.locator("[role=alert]").innerText(), "Correo o contraseña incorrectos.");
  await spanish.close();

  // The couple chooses Spanish on their page: it wins over the English phone, tier and perk
  // included, until they choose their browser's language again.
  await page.getByLabel("Show my page and emails in").selectOption("es");
  await Promise.all([page.waitForURL(/#language$/), page.getByRole("button", { name: "Save my language" }).click()]);
  assert.equal(await page.locator("html").getAttribute("lang"), "es");
  assert.match(await page.locator("#tier").innerText(), /Primeros pasos — descuentos de proveedores de Bouquet/);
  assert.equal(await page.locator("#language-choice").inputValue(), "es");
  await page.getByLabel("Mostrar mi página y mis correos en").selectOption("");
  await Promise.all([page.waitForURL(/#language$/), page.getByRole("button", { name: "Guardar mi idioma" }).click()]);
  assert.equal(await page.locator("html").getAttribute("lang"), "en");
  assert.match(await page.locator("#tier").innerText(), /First — discounts from suppliers on Bouquet/);

  // Accessible, by a real checker: no serious or critical violations, signed in or not.
  const checking = await browser.newContext({ ...PHONE, bypassCSP: true, storageState: await context.storageState() });
  const checked = await checking.newPage();
  for (const path of ["/couple", "/couple/login"]) {
    if (path === "/couple/login") await checking.clearCookies();
    await checked.goto(`${server.url}${path}`);
    assert.deepEqual(await seriousViolations(checked), [], `accessibility of ${path}`);
  }
  await checking.close();

  // The page runs no inline script: its policy says so.
  const response = await page.goto(`${server.url}/couple`);
  assert.match(response.headers()["content-security-policy"], /script-src 'self';/);
  assert.doesNotMatch(await page.content(), /<script>(?!<\/script>)/, "no inline script");
  await context.close();
});

test("a couple recommends the photographer they booked to two friends; the photographer's list shows both", async () => {
  const signUp = async (body) => {
    await api(server, "POST", "/api/v1/accounts", { body: { password: PASSWORD, ...body } });
    return api(server, "POST", "/api/v1/sessions", { body: { email: body.email, password: PASSWORD } });
  };
  const lens = await signUp({ kind: "supplier", email: "hello@lensandlight.example", business_name: "Lens & Light", vendor_type: "photographer" });
  // An active florist: what "couples like you also booked" can suggest (a trade not booked).
  await signUp({ kind: "supplier", email: "hi@petalandstem.example", business_name: "Petal & Stem", vendor_type: "florist" });
  await signUp({ kind: "couple", email: "eve.finn@example.com", couple_names: "Eve & Finn" });
  // Eve & Finn booked Lens & Light through its code on the platform.
  const referral = await api(server, "POST", "/api/v1/referrals", { token: lens.token, body: {} });
  const user = { id: "wedsync-eve-finn", kind: "couple", email: "eve.finn@example.com" };
  const now = new Date().toISOString();
  await api(server, "POST", "/api/v1/events", { token: server.apiKey, body: { idempotency_key: "eve-signup", type: "signup", occurred_at: now, user, code: referral.code } });
  await api(server, "POST", "/api/v1/events", { token: server.apiKey,
    body: { idempotency_key: "eve-convert", type: "convert", occurred_at: now, user, plan: "professional", value: { amount_minor: 180000, currency: "GBP" } } });

  // CSP bypassed only so axe-core can be injected (the policy is checked above).
  const context = await browser.newContext({ ...PHONE, bypassCSP: true });
  const page = await context.newPage();
  await signIn(page, "eve.finn@example.com");
  const section = page.locator("#recommend");
  // Bookings are matched by email, so they are listed only once the couple has signed in
  // with an emailed link (a password sign-in does not prove the address is theirs).
  assert.doesNotMatch(await section.innerText(), /You booked/);
  assert.match(await section.innerText(), /Couples like you also booked\s*[\s\S]*Petal & Stem · Florist/);
  // Found by name and trade too.
  await page.getByLabel("Name").fill("lens");
  await page.getByLabel("Trade").selectOption("photographer");
  await Promise.all([page.waitForURL(/q=lens/), page.getByRole("button", { name: "Find" }).click()]);
  assert.match(await section.innerText(), /Found\s*Lens & Light · Photographer/);
  assert.deepEqual(await seriousViolations(page), [], "accessibility of the recommendation form");

  // No friend given: the page says so and keeps what was typed, the search too.
  await page.getByRole("radio", { name: "Lens & Light · Photographer" }).first().check();
  await page.getByLabel("Your line (optional)").fill("They made us laugh all day");
  await page.getByRole("button", { name: "Send to my friends" }).click();
  assert.match(await page.locator("#recommend-error").innerText(), /at least one friend/);
  assert.equal(await page.getByLabel("Your line (optional)").inputValue(), "They made us laugh all day");
  assert.match(await section.innerText(), /Found\s*Lens & Light · Photographer/);

  assert.ok(await page.getByRole("radio", { name: "Lens & Light · Photographer" }).first().isChecked(), "the pick is kept");
  await page.getByLabel("Friend's email 1").fill("gia@example.com");
  await page.getByLabel("Friend's email 2").fill("hugo@example.com");
  await Promise.all([page.waitForURL(/sent=2/), page.getByRole("button", { name: "Send to my friends" }).click()]);
  assert.match(await page.locator("#recommend-sent").innerText(), /went to 2 friends/);
  const mine = await page.locator("#recommendations").innerText();
  assert.equal((mine.match(/Lens & Light\s*sent/gi) ?? []).length, 2, mine);
  await page.screenshot({ path: join(artifacts, "couple-recommend-phone.png"), fullPage: true });

  // The photographer's list (what their app shows after a sync): both, from Eve & Finn.
  const received = await api(server, "GET", "/api/v1/me/recommended-by", { token: lens.token });
  assert.equal(received.items.length, 2);
  assert.ok(received.items.every((r) => r.couple_names === "Eve & Finn" && r.progress === "sent" && r.message === "They made us laugh all day"));
  await context.close();
});

test("without JavaScript a couple still signs in and shares; a supplier is sent to the app", async () => {
  await api(server, "POST", "/api/v1/accounts", { body: { kind: "couple", email: "eve.fin@example.com", password: PASSWORD, couple_names: "Eve & Fin" } });
  await api(server, "POST", "/api/v1/accounts", {
    body: { kind: "supplier", email: "venue@example.com", password: PASSWORD, business_name: "Old Mill", vendor_type: "venue" },
  });
  const context = await browser.newContext({ ...PHONE, javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, "eve.fin@example.com");
  assert.equal(await page.locator("h1").innerText(), "Eve & Fin");
  assert.ok(await page.locator("#share-whatsapp").isVisible());
  assert.ok(await page.locator("#share-email").isVisible());
  assert.ok(!(await page.locator("#share-button").isVisible()), "no share button without the script");
  // Signing out works as a plain form, and the page then asks to sign in again.
  await Promise.all([page.waitForURL(/\/couple\/login$/), page.getByRole("button", { name: "Sign out" }).click()]);
  await page.goto(`${server.url}/couple`);
  assert.match(page.url(), /\/couple\/login$/);

  await page.getByLabel("Email").fill("venue@example.com");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  assert.match(await page.locator("[role=alert]").innerText(), /for couples/);
  await context.close();
});

test("a couple without their password signs in with a link emailed to them, once", async () => {
  const relay = await startRelay();
  const mailing = await startServer(relay.env);
  try {
    await api(mailing, "POST", "/api/v1/accounts", { body: { kind: "couple", email: "gia.hal@example.com", password: PASSWORD, couple_names: "Gia & Hal" } });
    const context = await browser.newContext({ ...PHONE, javaScriptEnabled: false });
    const page = await context.newPage();
    const ask = async (email) => {
      await page.goto(`${mailing.url}/couple/login`);
      await page.getByLabel("Your email").fill(email);
      await page.getByRole("button", { name: "Email me a sign-in link" }).click();
      assert.match(await page.locator("#link-sent").innerText(), new RegExp(`if ${email.replace(".", "\\.")} has a Bouquet account, a sign-in link is on its way`));
    };
    // An address without an account gets the same answer, and no email.
    await ask("nobody@example.com");
    await ask("gia.hal@example.com");
    const deadline = Date.now() + 15_000;
    let mail;
    while (!(mail = relay.received().find((m) => m.rcpt_tos.includes("gia.hal@example.com")))) {
      assert.ok(Date.now() < deadline, "no sign-in email arrived");
      await new Promise((ok) => setTimeout(ok, 200));
    }
    assert.equal(mail.headers.Subject, "Your Bouquet sign-in link");
    const link = mail.text.match(/https?:\/\/\S+\/couple\/login\/bql_\S+/)[0];
    // Opening the link only asks (mail scanners open links); the button signs in.
    await page.goto(link);
    assert.match(page.url(), /\/couple\/login\/bql_/);
    await Promise.all([page.waitForURL(/\/couple$/), page.getByRole("button", { name: "Sign in" }).click()]);
    assert.equal(await page.locator("h1").innerText(), "Gia & Hal");
    // Used once: on another phone the same link is refused.
    const other = await (await browser.newContext(PHONE)).newPage();
    await other.goto(link);
    await other.getByRole("button", { name: "Sign in" }).click();
    assert.match(await other.locator("[role=alert]").innerText(), /expired or was already used/);
    assert.equal(relay.received().length, 1, "only the account's address got an email");
    await context.close();
  } finally {
    await mailing.stop();
    relay.stop();
  }
});
