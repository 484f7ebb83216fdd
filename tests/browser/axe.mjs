// Accessibility checks with axe-core, the checker most audits use: a page's serious and
// critical violations. axe is injected, so the page's own Content-Security-Policy is
// bypassed for the checking context only.
import { createRequire } from "node:module";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/** The serious and critical violations of the page open in `page`. */
export async function seriousViolations(page) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ["violations"] }));
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}

/** Opens `url` in a fresh context of `browser` (with `options`, e.g. a phone) and checks it. */
export async function checkPage(browser, url, options = {}) {
  const context = await browser.newContext({ ...options, bypassCSP: true });
  try {
    const page = await context.newPage();
    await page.goto(url);
    return await seriousViolations(page);
  } finally {
    await context.close();
  }
}
