// The desktop benchmark (measure.mjs) run once, small, so CI catches it breaking: the
// debug app with 1,000 imported contacts launches, every screen opens, and each search
// for one couple's email shows that couple alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { measure } from "./measure.mjs";
import { appBinary, targetDir } from "./webdriver.mjs";

test("the desktop figures are measured on an app with 1,000 contacts", { timeout: 180_000 }, async () => {
  const appBin = appBinary("debug");
  const cli = join(targetDir, "debug", "bouquet");
  assert.ok(existsSync(appBin) && existsSync(cli), `build the app and the CLI first: ${appBin}, ${cli}`);
  const logDir = resolve(import.meta.dirname, "../artifacts");
  mkdirSync(logDir, { recursive: true });
  const figures = await measure({ appBin, cli, contacts: 1000, logDir });
  assert.ok(figures.launch_ms > 0 && figures.launch_ms < 60_000, JSON.stringify(figures));
  // The app and WebKit's web process at least, each holding real memory.
  assert.ok(figures.memory.processes >= 2 && figures.memory.rss_mib > 20, JSON.stringify(figures.memory));
  assert.equal(figures.search.samples, 9);
  assert.ok(figures.search.median_ms > 0 && figures.search.backend_median_ms > 0, JSON.stringify(figures.search));
});
