// Starts a real bouquet-server process on a random port with its own SQLite file.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { createServer } from "node:net";
import { existsSync, readdirSync, readFileSync } from "node:fs";

/**
 * A real SMTP server (aiosmtpd, tests/smtp/relay.py) on a free port; `received()` lists
 * the emails it accepted, as Python's email parser read them.
 */
export async function startRelay() {
  const port = await new Promise((ok) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), "bouquet-relay-"));
  // Debian's Python, where python3-aiosmtpd is installed.
  const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  const child = spawn(python, [join(root, "tests/smtp/relay.py"), String(port), dir], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise((ok, fail) => {
    createInterface({ input: child.stdout }).once("line", (line) => (line.trim() === "ready" ? ok() : fail(new Error(line))));
    child.once("exit", (code) => fail(new Error(`the SMTP relay exited with ${code}`)));
  });
  return {
    port,
    env: { BOUQUET_SMTP_HOST: "127.0.0.1", BOUQUET_SMTP_PORT: String(port), BOUQUET_SMTP_TLS: "none" },
    received() {
      return readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")));
    },
    stop() {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const root = resolve(import.meta.dirname, "../..");
export const serverBin =
  process.env.BOUQUET_SERVER_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug", "bouquet-server");

/** Runs bouquet-server on `bind` over `databaseUrl`; resolves once it listens. */
async function launch(bind, databaseUrl, env = {}) {
  const child = spawn(serverBin, ["serve", "--bind", bind, "--database-url", databaseUrl], {
    // No seasonal calendar: the tests' rewards must not depend on the day they run. One
    // test signs in from one address faster than people do: the sign-in limit is raised
    // (the limits themselves are tested in crates/server/tests/rate_limits.rs).
    env: { ...process.env, BOUQUET_LOG: "warn", BOUQUET_SEED_CALENDAR: "false", BOUQUET_RATE_LIMITS: "sign_in=6000/1000", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise((ok, fail) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => ok(line.trim().split(" ").pop()));
    child.once("exit", (code) => fail(new Error(`bouquet-server exited with ${code}`)));
  });
  return { child, url };
}

async function kill(child) {
  child.kill("SIGTERM");
  await new Promise((ok) => (child.exitCode !== null ? ok() : child.once("exit", ok)));
}

/** `env`: more settings for the server, e.g. a mail relay (`BOUQUET_SMTP_HOST`…). */
export async function startServer(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), "bouquet-e2e-"));
  const databaseUrl = `sqlite://${join(dir, "server.db")}`;
  let { child, url } = await launch("127.0.0.1:0", databaseUrl, env);
  const apiKey = execFileSync(serverBin, ["api-key", "create", "--name", "wedsync", "--database-url", databaseUrl])
    .toString()
    .trim();
  return {
    url,
    apiKey,
    databaseUrl,
    /** An operator account, made as an operator would: `bouquet-server admin create`. */
    createAdmin(email, password) {
      execFileSync(serverBin, ["admin", "create", "--email", email, "--database-url", databaseUrl], {
        env: { ...process.env, BOUQUET_ADMIN_PASSWORD: password },
      });
    },
    /** Takes the server off the network (the app is offline); its database stays. */
    async pause() {
      await kill(child);
    },
    /** Back on the same address with the same database. */
    async resume() {
      ({ child } = await launch(new URL(url).host, databaseUrl, env));
    },
    async stop() {
      await kill(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function api(server, method, path, { token, body } = {}) {
  const res = await fetch(server.url + path, {
    method,
    headers: {
      ...(body ? { "content-type": "application/json" } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
