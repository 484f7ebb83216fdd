// The desktop app, built for real, started in a virtual X display against a real
// server: the window comes up, the UI asks the Rust side for the server's status, and
// the Rust side reaches the server. A screenshot of the window is kept as an artifact.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { startServer } from "../browser/server.mjs";

const root = resolve(import.meta.dirname, "../..");
const appBin = join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug", "bouquet");
const artifacts = resolve(import.meta.dirname, "../artifacts");
let server;

after(async () => server?.stop());

async function healthChecks() {
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const line = metrics.split("\n").find((l) => l.startsWith('bouquet_http_requests_total{method="GET",route="/healthz",status="200"}'));
  return line ? Number(line.split(" ").pop()) : 0;
}

test("the desktop app starts and reaches the sync server", { timeout: 120_000 }, async () => {
  assert.ok(existsSync(appBin), `build the app first: ${appBin}`);
  mkdirSync(artifacts, { recursive: true });
  server = await startServer();
  const shot = join(artifacts, "desktop-app.png");
  // Inside one xvfb-run: start the app, give it time to render, photograph the display,
  // and report whether the app is still running.
  const script = `"$APP" & app=$!; sleep 10; import -window root "$SHOT"; if kill -0 $app 2>/dev/null; then kill $app; echo alive; else echo died; fi`;
  const output = await new Promise((ok, fail) => {
    const child = spawn("xvfb-run", ["-a", "-s", "-screen 0 1280x800x24", "bash", "-c", script], {
      env: { ...process.env, APP: appBin, SHOT: shot, BOUQUET_SERVER_URL: server.url, WEBKIT_DISABLE_COMPOSITING_MODE: "1" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", fail);
    child.on("exit", () => ok(out));
  });
  assert.match(output, /alive/, "the app exited before its window was photographed");
  assert.ok(statSync(shot).size > 5_000, "the screenshot is empty");
  assert.ok((await healthChecks()) >= 1, "the app never reached the server");
});
