// The operators' console in headless Chromium: an operator signs in at /admin, finds a
// supplier whose couple converted, sees the pending reward, and posts an adjustment with a
// reason; the supplier's own balance (through the API) shows it, and the ledger names the
// reason and the operator. A supplier's sign-in is refused, a forged form is refused, and
// the pages carry their security headers. An operator works a fraud case held by the
// default policy (a ring of look-alike sign-ups a minute apart) from the review queue, and
// the supplier sees where review stands. An operator subscribes a webhook receiver and
// reads its delivery log.
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
  // This server has no mail relay: the console says invitations wait, and what to do.
  assert.match(await page.textContent("[data-testid=email-status]"), /No mail relay is configured: 0 invitations wait in the queue\. Set BOUQUET_SMTP_HOST/);
  const row = page.locator("tr", { hasText: "studio@example.com" });
  assert.match(await row.textContent(), /75\.00 CRD/, "the pending reward of the annual professional conversion");
  assert.match(await row.textContent(), /Bronze/);

  await page.click("text=Lumen Studio");
  const accountPath = new URL(page.url()).pathname;
  assert.match(accountPath, /^\/admin\/accounts\/[0-9a-f-]{36}$/);
  assert.equal(await page.textContent("#pending"), "75.00 CRD");
  assert.equal(await page.textContent("#available"), "0.00 CRD");
  // What the supplier was told: the reward and the tier, not emailed (no relay here yet).
  assert.match(await page.textContent("#notifications"), /You earned 75 credits[\s\S]*pending/);
  assert.match(await page.textContent("#notifications"), /You reached the Bronze tier/);
  assert.match(await page.textContent("#emails-off"), /Every kind is emailed/);
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

/** An address as the fraud checks compare it: Gmail ignores dots and `+tags`. */
function asCompared(email) {
  const [local, domain] = email.toLowerCase().split("@");
  if (domain !== "gmail.com" && domain !== "googlemail.com") return `${local}@${domain}`;
  return `${local.split("+")[0].replaceAll(".", "")}@gmail.com`;
}

test("an operator works a fraud case through the review queue: evidence, approve with a note, the supplier sees approved", async () => {
  // A florist's code, and six look-alike Gmail sign-ups through it, a script's 60 s apart.
  await api(server, "POST", "/api/v1/accounts", {
    body: { kind: "supplier", email: "flo@petalandstem.example", password: "correct horse battery", business_name: "Petal & Stem", vendor_type: "florist" },
  });
  const flo = await api(server, "POST", "/api/v1/sessions", { body: { email: "flo@petalandstem.example", password: "correct horse battery" } });
  const { code } = await api(server, "POST", "/api/v1/referrals", {
    token: flo.token,
    body: { method: "link", incentive_amount: { amount_minor: 1000, currency: "GBP" }, incentive_offered: "£10 off" },
  });
  const emails = ["anna.test1@gmail.com", "annatest2+x@gmail.com", "anna.test3@googlemail.com", "a.nna.test4@gmail.com", "annatest5@gmail.com", "anna.test6+ring@gmail.com"];
  const start = Math.floor((Date.now() - 3 * 86400000) / 1000) * 1000;
  const ring = emails.map((email, i) => ({ id: `ring${i}`, email, at: new Date(start + 60000 * i) }));
  for (const [i, member] of ring.entries()) {
    await api(server, "POST", "/api/v1/events", {
      token: server.apiKey,
      body: {
        idempotency_key: `signup-${member.id}`, type: "signup", occurred_at: member.at.toISOString(), code,
        user: { id: member.id, kind: "couple", email: member.email, ip: `198.51.100.${i}`, user_agent: "Mozilla/5.0 (iPhone)" },
      },
    });
  }
  const last = ring.at(-1);

  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, javaScriptEnabled: false });
  await page.goto(`${server.url}/admin/login`);
  await page.fill("input[name=email]", "ops@bouquet.example");
  await page.fill("input[name=password]", "a long operator password");
  await page.click("button[type=submit]");
  await page.click("nav >> text=Fraud review");
  assert.equal(new URL(page.url()).pathname, "/admin/fraud");
  const floRows = page.locator("tbody tr", { hasText: "Petal & Stem" });
  assert.equal(await floRows.count(), 6, "the whole ring waits for review, not just its last member");
  for (const member of ring) {
    assert.match(await page.locator("tbody tr", { has: page.getByRole("link", { name: member.id, exact: true }) }).textContent(), /review/);
  }

  // The last member's case: why it was held, and the evidence.
  await page.getByRole("link", { name: last.id, exact: true }).click();
  const casePath = new URL(page.url()).pathname;
  assert.match(casePath, /^\/admin\/fraud\/[0-9a-f-]{36}$/);
  assert.equal(await page.textContent("h1"), `Referee ${last.id}`);
  assert.equal(await page.textContent("#action"), "review");
  assert.equal(await page.textContent("#case-status"), "pending");
  const signal = (name) => page.locator("h2:text-is('Signals') + table tbody tr", { has: page.locator(`td:first-child:text-is('${name}')`) });
  for (const name of ["timing", "similarity"]) {
    assert.equal(await signal(name).count(), 1, `a ${name} row`);
    assert.equal(await signal(name).locator("td").nth(1).textContent(), "yes", `${name} fired`);
  }
  assert.match(await signal("timing").textContent(), /60 s apart/);
  assert.equal(await signal("self referral").locator("td").nth(1).textContent(), "no");

  const lookAlikes = page.locator("h2:text-is('Look-alike emails') + table tbody tr");
  assert.ok((await lookAlikes.count()) >= 1, "look-alike emails are listed");
  const pairs = await lookAlikes.evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent.trim())));
  const compared = new Set(ring.map((m) => asCompared(m.email)));
  for (const [mine, other] of pairs) {
    assert.equal(mine, asCompared(last.email), "this referee's address as compared");
    assert.ok(compared.has(other) && other !== mine, `${other}: another ring member, as compared`);
  }
  assert.ok(pairs.some(([, other]) => other === asCompared(emails[1])), `${asCompared(emails[1])} among ${JSON.stringify(pairs)}`);
  assert.ok(!pairs.flat().some((e) => e.includes("+")), "no +tags shown");

  const plot = page.locator("svg[aria-label^='Sign-up times']");
  assert.equal(await plot.locator("circle").count(), ring.length, "a dot per sign-up");
  assert.ok((await plot.getAttribute("aria-label")).includes(last.at.toISOString().slice(0, 19).replace("T", " ")), "the plot runs to the last sign-up");

  const referees = page.locator("h2:has-text('referees') + table tbody tr");
  assert.equal(await referees.count(), ring.length);
  for (const member of ring) {
    const row = referees.filter({ has: page.locator(`td:first-child:text-is('${member.id}')`) });
    assert.equal(await row.locator("td").nth(1).textContent(), asCompared(member.email));
    assert.equal(await row.locator("td").nth(2).textContent(), member.at.toISOString().slice(0, 19).replace("T", " "));
  }

  // Approve with a note: the decision shows, and the form is gone.
  const note = "Called the couple: twins' shared planner, genuine";
  await page.fill("textarea[name=note]", note);
  await page.click("text=Approve: release the rewards");
  assert.equal(new URL(page.url()).pathname, casePath);
  const decision = await page.textContent("#decision");
  assert.match(decision, /approved by an operator/);
  assert.ok(decision.includes(note), decision);
  assert.equal(await page.textContent("#case-status"), "approved");
  assert.equal(await page.textContent("#action"), "approve", "the action in force is the decision");
  assert.equal(await page.locator("text=Approve: release the rewards").count(), 0, "a decided case takes no second decision");
  await page.screenshot({ path: join(artifacts, "admin-fraud-case.png"), fullPage: true });

  // The queue: decided under "Decided", five left pending.
  await page.click("text=← Fraud review");
  await page.getByRole("link", { name: "Decided", exact: true }).click();
  const decided = page.locator("tbody tr", { has: page.getByRole("link", { name: last.id, exact: true }) });
  assert.equal(await decided.count(), 1);
  assert.match(await decided.textContent(), /approved/);
  await page.getByRole("link", { name: "Pending", exact: true }).click();
  assert.equal(await floRows.count(), 5);
  assert.equal(await page.getByRole("link", { name: last.id, exact: true }).count(), 0);

  // The supplier sees where review stands: still under review while five wait.
  const status = async () => (await api(server, "GET", "/api/v1/sync/codes", { token: flo.token })).find((c) => c.code === code)?.fraud_status;
  assert.equal(await status(), "under_review");

  // The operator approves the rest through the API; the code is then approved.
  const ops = await api(server, "POST", "/api/v1/sessions", { body: { email: "ops@bouquet.example", password: "a long operator password" } });
  const queue = await api(server, "GET", "/api/v1/admin/fraud/reviews?status=pending", { token: ops.token });
  const rest = queue.items.filter((c) => c.referrer_id === flo.account.id);
  assert.deepEqual(rest.map((c) => c.platform_user_id).sort(), ring.slice(0, -1).map((m) => m.id));
  for (const c of rest) {
    const done = await api(server, "POST", `/api/v1/admin/fraud/reviews/${c.id}/decision`, { token: ops.token, body: { decision: "approve", note: "the same planner" } });
    assert.equal(done.status, "approved");
  }
  assert.equal(await status(), "approved");
  await page.reload();
  assert.equal(await floRows.count(), 0, "nothing of the ring waits any more");
  await page.close();
});

test("an operator reads the platform's growth: targets, the series and its chart, the funnel's bottleneck, the loop, a split, and a CSV export that agrees", async () => {
  const ops = await api(server, "POST", "/api/v1/sessions", { body: { email: "ops@bouquet.example", password: "a long operator password" } });
  const report = await api(server, "GET", "/api/v1/admin/analytics?period=week", { token: ops.token });
  assert.ok(report.total.referrals_made >= 2 && report.total.conversions >= 2, "the conversions made by the tests above");

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
  await page.goto(`${server.url}/admin/login`);
  await page.fill("input[name=email]", "ops@bouquet.example");
  await page.fill("input[name=password]", "a long operator password");
  await page.click("button[type=submit]");
  await page.getByRole("link", { name: "Growth", exact: true }).click();
  assert.equal(new URL(page.url()).pathname, "/admin/analytics");
  const csp = (await page.goto(page.url())).headers()["content-security-policy"];
  assert.match(csp, /default-src 'none'/);

  // The range row says what the API says; twelve weekly bars, one per week including empty ones.
  const range = page.locator("tr", { has: page.locator("th", { hasText: "Range" }) });
  const cells = await range.locator("td").allTextContents();
  assert.equal(Number(cells[0]), report.total.referrals_made);
  assert.equal(Number(cells[4]), report.total.conversions);
  assert.equal(await page.locator("svg[aria-label^='Referrals made'] rect").count(), report.series.length);
  assert.equal(report.series.length, 12);
  assert.match(await page.textContent("body"), /held or rejected by fraud review are left out/);

  // Targets: referral conversion against 25%, and the loop's K (no couple has referred a supplier: not measured).
  const conversion = page.locator("[data-kpi='Referral conversion']");
  assert.match(await conversion.textContent(), /target above 25\.0%/);
  assert.match(await page.locator("[data-kpi='Full loop K']").textContent(), /not measured yet/);
  assert.match(await page.textContent("[data-testid=full-loop-k]"), /—/);

  // The funnel: the bottleneck the API names is the row marked, with its recommendation.
  if (report.funnel.bottleneck) {
    assert.equal(await page.locator("tr[data-bottleneck=true]").count(), 1);
    assert.equal(await page.textContent("[data-testid=recommendation]"), report.funnel.recommendation);
  }
  await page.screenshot({ path: join(artifacts, "admin-analytics.png"), fullPage: true });

  // Split by method: the groups' referrals add up to the range's.
  await page.selectOption("select[name=split]", "method");
  await page.click("text=Show");
  assert.match(page.url(), /split=method/);
  const groupRows = page.locator("section[aria-labelledby=over-time] table").nth(1).locator("tbody tr");
  let sum = 0;
  for (const row of await groupRows.all()) sum += Number((await row.locator("td").allTextContents())[1]);
  assert.equal(sum, report.total.referrals_made);

  // The CSV: a header, the "all" series, then each group's; its totals agree with the API.
  const href = await page.getAttribute("text=Export CSV", "href");
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "bq_admin");
  const res = await fetch(`${server.url}${href}`, { headers: { cookie: `bq_admin=${session.value}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /text\/csv/);
  assert.match(res.headers.get("content-disposition"), /attachment/);
  const rows = (await res.text()).trim().split("\n").map((l) => l.split(","));
  assert.equal(rows[0][0], "group");
  const all = rows.filter((r) => r[0] === "all");
  assert.equal(all.length, 12);
  assert.equal(all.reduce((n, r) => n + Number(r[2]), 0), report.total.referrals_made);
  assert.ok(rows.some((r) => r[0] === "qr"), "the split's groups follow");

  // A bad range is said plainly, with the form kept.
  const bad = await page.goto(`${server.url}/admin/analytics?from=someday`);
  assert.equal(bad.status(), 400);
  assert.match(await page.textContent("[role=alert]"), /from must be a date/);
  assert.equal(await page.inputValue("input[name=from]"), "someday");

  // Without the operator's session: to the sign-in page, and no CSV.
  const anonymous = await fetch(`${server.url}/admin/analytics.csv`, { redirect: "manual" });
  assert.notEqual(anonymous.status, 200);
  await page.close();
});

test("an operator subscribes a receiver to referrals; the secret is shown once, and the delivery log shows the signed request it took", async () => {
  // A real receiver on this machine, recording what it is sent.
  const { createServer } = await import("node:http");
  const received = [];
  const receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      received.push({ id: req.headers["webhook-id"], signature: req.headers["webhook-signature"], body });
      res.writeHead(204).end();
    });
  });
  await new Promise((ok) => receiver.listen(0, "127.0.0.1", ok));
  const hookUrl = `http://127.0.0.1:${receiver.address().port}/bouquet`;
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
    await page.goto(`${server.url}/admin/login`);
    await page.fill("input[name=email]", "ops@bouquet.example");
    await page.fill("input[name=password]", "a long operator password");
    await page.click("button[type=submit]");
    await page.getByRole("link", { name: "Webhooks", exact: true }).click();
    assert.equal(new URL(page.url()).pathname, "/admin/webhooks");
    // Plain HTTP across a network is refused, with the reason.
    await page.fill("input[name=url]", "http://hooks.example.com/x");
    await page.check("input[name=event_types][value='referral.created']");
    await page.click("form[action='/admin/webhooks'] button[type=submit]");
    assert.match(await page.textContent("[role=alert]"), /not a webhook address/);
    await page.fill("input[name=url]", hookUrl);
    await page.check("input[name=event_types][value='referral.created']");
    await page.click("form[action='/admin/webhooks'] button[type=submit]");
    const shown = await page.textContent("[data-testid=webhook-secret]");
    assert.match(shown, /whsec_[A-Za-z0-9+/=]+/);
    await page.goto(`${server.url}/admin/webhooks`);
    assert.equal(await page.locator("[data-testid=webhook-secret]").count(), 0, "the secret is shown once");
    await page.screenshot({ path: join(artifacts, "console-webhooks.png"), fullPage: true });

    // The supplier makes a referral: the receiver is told, signed.
    const made = await api(server, "POST", "/api/v1/referrals", { token: supplier.token, body: { method: "link" } });
    const deadline = Date.now() + 15_000;
    while (received.length === 0) {
      assert.ok(Date.now() < deadline, "the receiver was never called");
      await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.equal(JSON.parse(received[0].body).data.code, made.code);
    assert.match(received[0].signature, /^v1,/);
    // Its delivery log in the console: the event, delivered, the receiver's 204.
    await page.getByRole("link", { name: hookUrl }).click();
    // The attempt is recorded once the receiver has answered: reload until it shows.
    let log = await page.textContent("[data-testid=webhook-deliveries]");
    for (let tries = 0; !/delivered/.test(log) && tries < 50; tries++) {
      await new Promise((ok) => setTimeout(ok, 200));
      await page.reload();
      log = await page.textContent("[data-testid=webhook-deliveries]");
    }
    assert.match(log, /referral\.created/);
    assert.match(log, new RegExp(received[0].id));
    assert.match(log, /delivered/);
    assert.match(log, /· 204 ·/);
    await page.screenshot({ path: join(artifacts, "console-webhook-log.png"), fullPage: true });
    await page.close();
  } finally {
    receiver.close();
  }
});
