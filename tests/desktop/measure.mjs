// The desktop app's figures (issue 17), measured on the built app under Xvfb through
// tauri-driver: launch to the first painted screen, memory after visiting every screen,
// and a search of the contacts, with N contacts in its data folder (imported beforehand by
// the `bouquet` CLI, offline, as a supplier's CRM export would be).
//
//   node tests/desktop/measure.mjs --profile release --contacts 10000 --out desktop.json
//
// run under xvfb-run (scripts/bench does); measure.test.mjs runs it once, small, in CI.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { ELEMENT, appBinary, startApp, stopApp, targetDir, webdriver } from "./webdriver.mjs";

const SCREENS = ["dashboard", "contacts", "invitations", "fairs", "notifications", "settings"];
const CLOCK_TICKS = 100; // USER_HZ on Linux: /proc's start times count these

function csvOf(n) {
  const rows = ["names,email,phone,wedding_date,location,notes,tags"];
  const places = ["Bath", "York", "Harrogate", "Brighton", "Oxford", "Cardiff"];
  for (let i = 0; i < n; i++) {
    const place = places[i % places.length];
    rows.push(`Couple ${i},couple${i}@example.com,07700 9${String(i).padStart(5, "0")},2027-${String((i % 12) + 1).padStart(2, "0")}-${String((i % 28) + 1).padStart(2, "0")},${place},met at the ${place} show,fair`);
  }
  return rows.join("\n") + "\n";
}

/** Seconds since boot, as /proc counts them. */
const uptime = () => Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);

function stat(pid) {
  // The command name may hold spaces and parentheses: the fields after it are fixed.
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(fields[1]), startSeconds: Number(fields[19]) / CLOCK_TICKS };
}

/** Every process under `pid` (WebKit's web and network processes are the app's children). */
function descendants(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { ppid } = stat(entry);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {} // gone meanwhile
  }
  const found = [];
  const walk = (p) => (children.get(p) ?? []).forEach((c) => (found.push(c), walk(c)));
  walk(pid);
  return found;
}

/** The app's process: the one `bouquet-app` under the driver's process. */
function appProcess(driverPid) {
  const pid = descendants(driverPid).find((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, "utf8").trim() === "bouquet-app";
    } catch {
      return false;
    }
  });
  if (!pid) throw new Error("no bouquet-app process under tauri-driver");
  return pid;
}

/** Resident and proportional set sizes (MiB) of the app and its WebKit processes. */
function memory(appPid) {
  let rss = 0;
  let pss = 0;
  const processes = [appPid, ...descendants(appPid)];
  let counted = 0;
  // Each process's share, so the total says where it goes (the app, WebKit's web
  // process, its network process).
  const byProcess = [];
  for (const pid of processes) {
    let rollup;
    let name;
    try {
      rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      name = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      continue; // a helper process that ended meanwhile
    }
    const processRss = Number(/^Rss:\s+(\d+)/m.exec(rollup)[1]);
    const processPss = Number(/^Pss:\s+(\d+)/m.exec(rollup)[1]);
    rss += processRss;
    pss += processPss;
    byProcess.push({ name, rss_mib: processRss / 1024, pss_mib: processPss / 1024 });
    counted += 1;
  }
  return { rss_mib: rss / 1024, pss_mib: pss / 1024, processes: counted, by_process: byProcess };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Measures the app at `appBin` with `contacts` contacts; returns the figures. `cli` is the
 * `bouquet` binary that imports them; `logDir` keeps the driver's log.
 */
export async function measure({ appBin, cli, contacts, port = 4460, logDir = tmpdir() }) {
  const dataDir = mkdtempSync(join(tmpdir(), "bouquet-measure-"));
  let app;
  try {
    const csv = join(dataDir, "contacts.csv");
    writeFileSync(csv, csvOf(contacts));
    execFileSync(cli, ["--data-dir", dataDir, "contacts", "import", csv], { stdio: "ignore" });

    app = await startApp({ port, app: appBin, env: { BOUQUET_DATA_DIR: dataDir, BOUQUET_EXPORT_DIR: join(dataDir, "exports") }, logFile: join(logDir, `measure-${port}.log`) });
    const wd = (method, path, body) => webdriver(app.url, method, path, body);
    const run = (script, args = []) => wd("POST", `/session/${app.session}/execute/async`, { script, args });
    const appPid = appProcess(app.driver.pid);

    // Launch: from the app's process start to its first screen on the glass: the
    // navigation found in the page, then two animation frames (the one that paints it).
    let nav;
    for (const deadline = Date.now() + 30_000; !nav; ) {
      nav = await wd("POST", `/session/${app.session}/element`, { using: "css selector", value: '[data-testid="nav-contacts"]' }).catch(() => undefined);
      if (!nav && Date.now() > deadline) throw new Error("the app showed no screen within 30 s");
      if (!nav) await sleep(20); // a little, so the launch figure stays fine-grained
    }
    await run("const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done()));");
    const launchMs = (uptime() - stat(appPid).startSeconds) * 1000;

    // Every screen once, each given time to load what it shows.
    for (const screen of SCREENS) {
      const button = await wd("POST", `/session/${app.session}/element`, { using: "css selector", value: `[data-testid="nav-${screen}"]` });
      await wd("POST", `/session/${app.session}/element/${button[ELEMENT]}/click`, {});
      await sleep(1000);
    }
    const afterScreens = memory(appPid);

    // Search: a keystroke's worth of query typed into Contacts, until the list shows the
    // one couple it finds, painted; and, beside it, the backend call the screen makes.
    const contactsButton = await wd("POST", `/session/${app.session}/element`, { using: "css selector", value: '[data-testid="nav-contacts"]' });
    await wd("POST", `/session/${app.session}/element/${contactsButton[ELEMENT]}/click`, {});
    await sleep(500);
    const searches = [];
    const backendCalls = [];
    const picks = Array.from({ length: 9 }, (_, i) => Math.floor(((i + 1) * contacts) / 10) - 1);
    for (const pick of picks) {
      const found = await run(SEARCH, [`couple${pick}@example.com`, `Couple ${pick}`]);
      if (found.error) throw new Error(`searching for couple ${pick}: ${found.error}`);
      searches.push(found.ms);
      backendCalls.push(await run(BACKEND_CALL, [`couple${pick}@example.com`]));
      await run(SEARCH, ["", "Couple 0"]); // back to the whole list
    }
    const search = { median_ms: median(searches), max_ms: Math.max(...searches), backend_median_ms: median(backendCalls), samples: searches.length };
    return { contacts, launch_ms: launchMs, memory: afterScreens, search };
  } finally {
    await stopApp(app);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// Types `query` into the search box and waits for the list to show `expected` (and, for a
// query, nothing else), painted; answers the milliseconds it took.
const SEARCH = `
const [query, expected, done] = arguments;
const input = document.querySelector('[data-testid="contact-search"]');
const list = document.querySelector('[data-testid="contact-list"]');
const shows = () => list.textContent.includes(expected) && (query === "" || list.children.length === 1);
const started = performance.now();
const finish = () => requestAnimationFrame(() => done({ ms: performance.now() - started }));
const timeout = setTimeout(() => { observer.disconnect(); done({ error: "no answer in 10 s: " + list.textContent.slice(0, 200) }); }, 10000);
const observer = new MutationObserver(() => { if (shows()) { observer.disconnect(); clearTimeout(timeout); finish(); } });
observer.observe(list, { subtree: true, childList: true, characterData: true });
input.value = query;
input.dispatchEvent(new Event("input", { bubbles: true }));
`;

// The same query through the command the Contacts screen calls, alone.
const BACKEND_CALL = `
const [query, done] = arguments;
const started = performance.now();
window.__TAURI_INTERNALS__.invoke("contact_page", { query, limit: 200 }).then(() => done(performance.now() - started));
`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { profile: { type: "string", default: "release" }, contacts: { type: "string", default: "10000" }, out: { type: "string" } } });
  const figures = await measure({ appBin: appBinary(values.profile), cli: join(targetDir, values.profile, "bouquet"), contacts: Number(values.contacts) });
  const line = JSON.stringify({ profile: values.profile, ...figures });
  console.log(line);
  if (values.out) writeFileSync(values.out, line + "\n");
}
