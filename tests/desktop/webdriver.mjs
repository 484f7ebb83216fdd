// The built desktop app through tauri-driver + WebKitWebDriver: starting it with its own
// data folder, WebDriver calls, and stopping it whole. Shared by the e2e test and the
// desktop benchmark (measure.mjs).
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const root = resolve(import.meta.dirname, "../..");
export const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, "target");
export const driverBin = process.env.TAURI_DRIVER ?? join(process.env.CARGO_HOME ?? join(homedir(), ".cargo"), "bin", "tauri-driver");
export const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

/** The app binary of a cargo profile ("debug" for the tests, "release" for the benchmark). */
export const appBinary = (profile = "debug") => join(targetDir, profile, "bouquet-app");

/** One WebDriver call to the driver at `url`; its value, or an error naming the call. */
export async function webdriver(url, method, path, body) {
  const res = await fetch(url + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json.value ?? json)}`);
  return json.value;
}

/**
 * Starts tauri-driver on `port` and opens a session on `app` with `env`; returns
 * `{ driver, url, session }`. The driver, WebKitWebDriver and the app run in their own
 * process group, killed whole by `stopApp`: killing tauri-driver alone leaves
 * WebKitWebDriver running. Their output goes to `logFile`, so nothing left behind can hold
 * the caller's output open.
 */
export async function startApp({ port, app, env, logFile }) {
  const log = openSync(logFile, "w");
  const childEnv = { ...process.env, WEBKIT_DISABLE_COMPOSITING_MODE: "1", ...env };
  // No desktop session, so no keyring, even when run from one.
  delete childEnv.DBUS_SESSION_BUS_ADDRESS;
  const child = spawn(driverBin, ["--port", String(port), "--native-port", String(port + 1)], {
    env: childEnv,
    stdio: ["ignore", log, log],
    detached: true,
  });
  closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; i < 50; i++) {
      if (await fetch(`${url}/status`).then((r) => r.ok, () => false)) break;
      await sleep(200);
    }
    const created = await webdriver(url, "POST", "/session", { capabilities: { alwaysMatch: { "tauri:options": { application: app } } } });
    return { driver: child, url, session: created.sessionId };
  } catch (e) {
    // No app to hand back, so no caller can stop it: the group goes now, or its ports
    // stay taken for the next run.
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
    throw e;
  }
}

/** Ends the app's session and kills its driver's whole process group. */
export async function stopApp(app) {
  if (!app) return;
  if (app.session) await fetch(`${app.url}/session/${app.session}`, { method: "DELETE" }).catch(() => {});
  try {
    process.kill(-app.driver.pid, "SIGKILL");
  } catch {}
}
