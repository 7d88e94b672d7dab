// End-to-end: the built app in Debian's Chromium (playwright-core) against the real Django
// server (gunicorn, DEBUG off, its CSP on) on Postgres, with the demo user from load_demo.
// Screenshots every screen (E2E_SCREENSHOTS, default web/e2e/.out/). Exit code 1 on any failure.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
// `make web-screenshots` writes them to docs/screenshots/; a plain run keeps them out of the tree.
const shots = resolve(repo, process.env.E2E_SCREENSHOTS || "web/e2e/.out");
const python = resolve(here, "..", process.env.PYTHON || resolve(repo, ".venv/bin/python"));
const base = process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/clone";
const databaseUrl = process.env.E2E_DATABASE_URL || `${base.replace(/\/+$/, "")}_web_e2e`;
const ACCESS_SECONDS = 8;
const started = Date.now();

const freePort = () =>
  new Promise((ok) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });

const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  DJANGO_DEBUG: "0",
  DJANGO_SECRET_KEY: "e2e-only-not-a-secret-0123456789abcdef0123456789",
  CLONE_JWT_ACCESS_SECONDS: String(ACCESS_SECONDS),
  CLONE_WEB_DIST: resolve(here, "../dist"),
};

function manage(...args) {
  return execFileSync(python, ["manage.py", ...args], { cwd: repo, env, maxBuffer: 64 << 20 }).toString();
}

function recreateDatabase() {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  const admin = `${url.protocol}//${url.username ? url.username + "@" : ""}${url.host}/postgres`;
  execFileSync(python, ["-c", `import psycopg,sys
with psycopg.connect(sys.argv[1], autocommit=True) as c:
    c.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % sys.argv[2])
    c.execute('CREATE DATABASE "%s"' % sys.argv[2])`, admin, name]);
}

// --- a tiny harness ------------------------------------------------------------------------
const results = [];
async function test(name, fn) {
  const t0 = Date.now();
  try {
    const skipped = await fn();
    results.push({ name, ok: true, skipped: Boolean(skipped), ms: Date.now() - t0 });
    console.log(`${skipped ? "SKIP" : "ok  "} ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)${skipped ? `: ${skipped}` : ""}`);
  } catch (error) {
    results.push({ name, ok: false, ms: Date.now() - t0 });
    console.log(`FAIL ${name}\n     ${error?.stack ?? error}`);
  }
}
function expect(condition, message) {
  if (!condition) throw new Error(message);
}

// --- set-up --------------------------------------------------------------------------------
recreateDatabase();
manage("migrate", "--noinput");
const demo = manage("load_demo", "--days", "5", "--set-password");
const password = demo.match(/user 'demo', password (\S+) /)[1];
const apiKey = demo.match(/API key \(shown once\): (\S+)/)[1];

const port = await freePort();
const origin = `http://127.0.0.1:${port}`;
const server = spawn(
  resolve(repo, ".venv/bin/gunicorn"),
  ["clone_server.wsgi:application", "--bind", `127.0.0.1:${port}`, "--workers", "1", "--threads", "4", "--log-level", "warning"],
  { cwd: repo, env, stdio: ["ignore", "inherit", "inherit"] },
);
const stopServer = () => server.kill("SIGTERM");
process.on("exit", stopServer);
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${origin}/api/health/`)).ok) break;
  } catch {}
  if (i > 100) throw new Error("the server did not start");
  await new Promise((r) => setTimeout(r, 200));
}

async function apiCall(path, { method = "GET", body, key = apiKey } = {}) {
  const response = await fetch(origin + path, {
    method,
    headers: { "X-Clone-API-Key": key, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const axeSource = readFileSync(resolve(here, "../node_modules/axe-core/axe.min.js"), "utf8");
mkdirSync(shots, { recursive: true });

async function newPage(viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.violations = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) page.violations.push(m.text());
  });
  page.on("pageerror", (e) => page.violations.push(String(e)));
  page.refreshes = 0;
  page.on("request", (r) => {
    if (r.url().endsWith("/api/auth/token/refresh/")) page.refreshes += 1;
  });
  return { context, page };
}

async function signIn(page) {
  await page.goto(origin + "/");
  await page.getByLabel("Username").fill("demo");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

async function axe(page, screen) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const serious = result.violations.filter((v) => ["serious", "critical"].includes(v.impact));
  expect(!serious.length, `${screen}: axe: ${serious.map((v) => `${v.id} (${v.nodes.length}): ${v.nodes[0]?.target}`).join("; ")}`);
}

async function visit(page, path, heading, shot) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: heading === "Your data" ? "Data" : heading }).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
  await page.waitForFunction(() => !document.querySelector('[role="status"].muted'));
  expect(new URL(page.url()).pathname === path, `${heading}: at ${page.url()}`);
  if (shot) await page.screenshot({ path: resolve(shots, shot), fullPage: true });
}

// An escalated question for the inbox: something the demo history has never seen.
const asked = await apiCall("/api/predictions/predict/", {
  method: "POST",
  body: { agent: "claude-code", agent_input: "Shall I delete the staging database and recreate it from the backup?" },
});

const { page } = await newPage();

await test("sign in; the refresh token is in no cookie or storage a script can read", async () => {
  const bad = await page.context().newPage();
  await bad.goto(origin + "/");
  await bad.getByLabel("Username").fill("demo");
  await bad.getByLabel("Password").fill("wrong");
  await bad.getByRole("button", { name: "Sign in" }).click();
  await bad.getByRole("alert").waitFor();
  await bad.close();
  await signIn(page);
  const seen = await page.evaluate(() => ({
    cookie: document.cookie,
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
  }));
  const cookies = await page.context().cookies();
  const refresh = cookies.find((c) => c.name === "clone_refresh");
  expect(refresh && refresh.httpOnly && refresh.sameSite === "Strict" && refresh.path === "/api/auth/token/refresh/", `cookie: ${JSON.stringify(refresh)}`);
  expect(!seen.cookie.includes("clone_refresh") && !seen.cookie.includes(refresh.value), `document.cookie: ${seen.cookie}`);
  for (const store of [seen.local, seen.session]) expect(!store.includes(refresh.value) && !/eyJ/.test(store), `storage: ${store}`);
  const headers = (await page.request.get(origin + "/")).headers();
  expect(/script-src 'self'/.test(headers["content-security-policy"]) && headers["x-frame-options"] === "DENY", "security headers");
});

const schema = await (await fetch(`${origin}/api/schema/?format=json`)).json();
const canAnswer = "/api/predictions/{prediction_id}/answer/" in schema.paths;

await test("inbox: answer an escalated question and see the stats change", async () => {
  expect(asked.status === 201 && asked.body.status === "escalated", `predict: ${JSON.stringify(asked)}`);
  const before = (await apiCall("/api/predictions/stats/")).body.labelled;
  await visit(page, "/", "Inbox", "inbox.png");
  await axe(page, "Inbox");
  await page.getByText(asked.body.agent_input).waitFor();
  if (!canAnswer) return "skip: this server has no answer endpoint";
  await page.keyboard.press("/");
  await page.keyboard.type("No, ask the DBA first.");
  await page.getByRole("button", { name: "Send" }).first().click();
  await page.getByText(/Answered 1/).waitFor();
  const after = (await apiCall("/api/predictions/stats/")).body.labelled;
  expect(after === before + 1, `labelled ${before} -> ${after}`);
  await visit(page, "/trust", "Trust");
  await page.getByText(String(after), { exact: true }).first().waitFor();
});

await test("trust: figures, both reliability diagrams and the coverage curve", async () => {
  await visit(page, "/trust", "Trust", "trust.png");
  await page.getByRole("img", { name: /Reliability diagram/ }).waitFor();
  await page.getByRole("img", { name: /Coverage and precision/ }).waitFor();
  await page.getByText("(yours)").waitFor();
  await axe(page, "Trust");
});

await test("settings: set an audit rate of your own, then reset it to the server's default", async () => {
  await visit(page, "/trust", "Trust");
  const rate = page.getByLabel(/Audit rate/);
  const reset = page.getByRole("button", { name: "Reset audit rate to the server's default" });
  const serverDefault = (await apiCall("/api/memory/profile/")).body;
  expect(serverDefault.audit_rate_is_default, `demo starts on the default: ${JSON.stringify(serverDefault)}`);
  expect(await reset.isDisabled(), "reset enabled while on the default");
  await rate.fill("0.37");
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  let profile = (await apiCall("/api/memory/profile/")).body;
  expect(profile.audit_rate === 0.37 && !profile.audit_rate_is_default, `saved: ${JSON.stringify(profile)}`);
  // Saving the audit rate pinned nothing else: the never-auto list is still the server's.
  expect(profile.never_auto_is_default, "never_auto pinned by saving the audit rate");
  await reset.click();
  await page.getByRole("status").filter({ hasText: "reset to the server's default" }).waitFor();
  profile = (await apiCall("/api/memory/profile/")).body;
  expect(profile.audit_rate_is_default && profile.audit_rate === serverDefault.audit_rate, `after reset: ${JSON.stringify(profile)}`);
  expect(Number(await rate.inputValue()) === serverDefault.audit_rate, `input shows ${await rate.inputValue()}`);
  expect(await reset.isDisabled(), "reset still enabled after the reset");
  await axe(page, "Settings");
});

await test("activity and one prediction's page", async () => {
  await visit(page, "/activity", "Activity", "activity.png");
  await axe(page, "Activity");
  await page.getByRole("link", { name: asked.body.agent_input }).click();
  await page.getByRole("heading", { level: 1, name: asked.body.agent_input }).waitFor();
  await page.getByRole("heading", { name: "Candidates and why" }).waitFor();
  await page.waitForFunction(() => !document.querySelector('[role="status"].muted'));
  await page.screenshot({ path: resolve(shots, "prediction.png"), fullPage: true });
  await axe(page, "Prediction");
});

await test("memory: edit a fact, delete it, and it is gone from the context bundle", async () => {
  await visit(page, "/memory", "Memory", "memory.png");
  await axe(page, "Memory");
  const marker = `E2E marker fact ${Date.now()}`;
  await page.getByLabel("New fact").fill(`${marker} draft`);
  await page.getByRole("button", { name: "Add fact" }).click();
  await page.getByRole("button", { name: `Edit fact: ${marker} draft` }).click();
  await page.getByLabel("Fact", { exact: true }).fill(marker);
  await page.getByLabel("Importance (0–1)").fill("0.95");
  await page.getByRole("button", { name: "Save fact" }).click();
  await page.getByRole("button", { name: `Delete fact: ${marker}`, exact: true }).waitFor();
  let bundle = await apiCall("/api/memory/context/", { method: "POST", body: { facts_limit: 200 } });
  expect(JSON.stringify(bundle.body).includes(marker), "edited fact in the bundle");
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: `Delete fact: ${marker}`, exact: true }).click();
  await page.getByRole("button", { name: `Delete fact: ${marker}`, exact: true }).waitFor({ state: "detached" });
  bundle = await apiCall("/api/memory/context/", { method: "POST", body: { facts_limit: 200 } });
  expect(!JSON.stringify(bundle.body).includes(marker), "deleted fact still in the bundle");
});

await test("connect: create a key, shown once, that works; revoke it and it stops", async () => {
  await visit(page, "/connect", "Connect", "connect.png");
  await axe(page, "Connect");
  await page.getByLabel("Key name").fill("e2e");
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-key").textContent()).trim();
  expect((await apiCall("/api/predictions/stats/", { key })).status === 200, "new key works");
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Revoke key e2e" }).click();
  await page.getByRole("button", { name: "Revoke key e2e" }).waitFor({ state: "detached" });
  expect((await apiCall("/api/predictions/stats/", { key })).status === 401, "revoked key refused");
  expect((await page.getByText(origin).count()) > 0, "snippets name the server URL");
  // The hooks snippets are the server's setup, verbatim, pointing at this server.
  const setup = (await apiCall("/api/integrations/claude-code/setup/")).body;
  expect(setup.hook_url === `${origin}/api/integrations/claude-code/hooks/`, `hook_url: ${setup.hook_url}`);
  const shown = await page.getByLabel("Claude Code: .claude/settings.json hooks", { exact: true }).textContent();
  expect(shown === setup.text, `Claude Code snippet differs from the server's setup: ${shown}`);
  // One line of the CLI wires each agent (clone hooks install fetches the same setup).
  const cliLines = [
    ...(await page.getByLabel("Claude Code with the CLI", { exact: true }).textContent()).split("\n"),
    ...(await page.getByLabel("Codex CLI, Gemini CLI, Cursor with the CLI", { exact: true }).textContent()).split("\n"),
  ];
  for (const agent of ["claude-code", "codex", "gemini", "cursor"]) {
    expect(cliLines.some((line) => line.startsWith(`clone hooks install ${agent}`)), `no CLI line for ${agent}`);
  }
  expect(cliLines.filter((line) => line === `clone login --url ${origin} --username demo`).length === 2, "login line");
  for (const [agent, name] of [["codex", "Codex CLI"], ["gemini", "Gemini CLI"], ["cursor", "Cursor"]]) {
    const other = (await apiCall(`/api/integrations/${agent}/setup/`)).body;
    const text = await page.getByLabel(new RegExp(`^${name}: .* hooks$`)).textContent();
    expect(text === other.text && text.includes(`${origin}/api/integrations/${agent}/hooks/`), `${name} snippet: ${text}`);
  }
});

await test("data screen", async () => {
  await visit(page, "/data", "Your data", "data.png");
  await axe(page, "Data");
  const remove = page.getByRole("button", { name: "Delete all my data" });
  expect(await remove.isDisabled(), "delete enabled without confirmation");
  await page.getByLabel(/Type your username/).fill("demo");
  expect(!(await remove.isDisabled()), "delete disabled after typing the username");
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download export" }).click();
  expect(/clone-export-.*\.json/.test((await download).suggestedFilename()), "export file name");
});

await test("the access token is refreshed before it expires", async () => {
  const before = page.refreshes;
  await page.waitForTimeout(ACCESS_SECONDS * 1000 + 2000);
  expect(page.refreshes > before, "no refresh happened");
  await visit(page, "/activity", "Activity");
  expect(!(await page.getByRole("alert").count()), "an error after the refresh");
});

await test("a session that ends asks to sign in again and keeps what was typed", async () => {
  await visit(page, "/memory", "Memory");
  const note = page.getByLabel(/A note for Clone/);
  await note.fill("Typed before the session ended");
  await page.context().clearCookies();
  await page.getByRole("dialog").waitFor({ timeout: ACCESS_SECONDS * 1000 + 5000 });
  await page.getByRole("dialog").getByLabel("Password").fill(password);
  await page.getByRole("dialog").getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("dialog").waitFor({ state: "detached" });
  expect((await note.inputValue()) === "Typed before the session ended", "typed text lost");
  await page.getByRole("button", { name: "Record note" }).click();
  await page.getByText("Recorded as a note.").waitFor();
});

await test("a phone-sized viewport: no sideways scrolling, every screen reachable", async () => {
  const { context, page: phone } = await newPage({ width: 375, height: 760 });
  await signIn(phone);
  for (const [path, heading, shot] of [
    ["/", "Inbox", "phone-inbox.png"],
    ["/memory", "Memory", "phone-memory.png"],
    ["/trust", "Trust", "phone-trust.png"],
    ["/connect", "Connect", null],
  ]) {
    await visit(phone, path, heading, shot);
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    expect(width <= 375, `${heading}: ${width}px wide`);
  }
  await axe(phone, "phone");
  expect(!phone.violations.length, `phone: ${phone.violations.join("; ")}`);
  await context.close();
});

await test("no CSP violation or page error on any screen", async () => {
  expect(!page.violations.length, page.violations.join("; "));
});

await browser.close();
stopServer();
const failed = results.filter((r) => !r.ok);
const skipped = results.filter((r) => r.skipped);
console.log(`\n${results.length - failed.length - skipped.length} passed, ${skipped.length} skipped, ${failed.length} failed; browser tests ran in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed.length ? 1 : 0);
