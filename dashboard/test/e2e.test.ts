// The dashboard end to end in a real Chromium against the real mesh: MesoNet (official weights) for
// images and for video frames, LFCC-LCNN (official) for audio windows, NPR on random test weights
// (it must be labelled and never shown as a call), the gateway, and FerretDB for accounts and history.
// Screenshots land in .deepsafe/artifacts/dashboard/.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { findSamplePhotos } from "@deepsafe/sdk/testing";
import { ensureFerretDB } from "../../deploy/local/ferretdb.js";
import { type Mesh, freePort, loadRegistry, startMesh, withFreePorts } from "../../deploy/local/mesh.js";
import { prepareModels } from "../../deploy/local/prepare-models.js";
import { ensureDashboardBuilt, startDashboard, type DashboardServer } from "../server/index.js";
import { artifactsDir, haveChromium, launchChromium, screenshot, watchProblems } from "./browser.js";

const DETECTORS = ["mesonet", "mesonet-video", "npr", "lfcc-lcnn"];
const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
const photos = findSamplePhotos();
const skipWhy = !haveChromium()
  ? "no Chromium at /usr/bin/chromium (apt-get install chromium)"
  : !mirror || !existsSync(join(mirror, "mesonet", "MesoInception_DF.h5"))
    ? "DEEPSAFE_WEIGHTS_MIRROR has no mesonet weights"
    : photos.why;
if (skipWhy && process.env.CI) throw new Error(`dashboard e2e cannot run in CI: ${skipWhy}`);

const work = mkdtempSync(join(tmpdir(), "deepsafe-dashboard-"));
const user = `ada${Date.now().toString(36)}`;
const password = "a long enough password";
let mesh: Mesh;
let dashboard: DashboardServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[];
let base: string;

test.before(async () => {
  if (skipWhy) return;
  rmSync(artifactsDir, { recursive: true, force: true }); // the screenshots of this run only
  try {
    await ensureFerretDB((m) => console.log(`  ${m}`));
    const reg = loadRegistry();
    const dashboardPort = await freePort();
    base = `http://127.0.0.1:${dashboardPort}`;
    const registry = await withFreePorts({
      ...reg,
      rest: { ...reg.rest, cors_origins: [base] },
      detectors: reg.detectors.filter((d) => DETECTORS.includes(d.name)),
    });
    process.env.DEEPSAFE_ALLOW_RANDOM_WEIGHTS = "1"; // NPR has no official checkpoint here: its fixture
    const { ready, unavailable } = await prepareModels(registry);
    assert.equal([...ready].sort(), [...DETECTORS].sort(), JSON.stringify([...unavailable]));
    const [, , started] = await Promise.all([
      ensureDashboardBuilt(),
      launchChromium().then((b) => (browser = b)),
      startMesh({
        registry,
        output: "ignore",
        env: { DEEPSAFE_JWT_SECRET: "dashboard-e2e-secret-0123456789-abcdefghijkl", DEEPSAFE_DATA_DIR: join(work, "gateway") },
        ferretdb: { dataDir: join(work, "db") },
      }),
    ]);
    mesh = started;
    dashboard = await startDashboard({ port: dashboardPort, host: "127.0.0.1", gateway: { port: registry.gateway.port } });
    await mesh.waitReady(120_000);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    problems = watchProblems(page);
  } catch (err) {
    console.error("e2e.test.ts: start-up failed:", err); // uvu hides errors thrown in before hooks
    throw err;
  }
});

test.after(async () => {
  await browser?.close();
  await dashboard?.close();
  await mesh?.stop();
});

/** Problems seen so far that the test did not expect (then forgotten). */
function unexpectedProblems(expected: RegExp[] = []): string[] {
  // Requests cut short by a navigation the test made, and preview object URLs revoked when the page changes.
  const benign = [/net::ERR_ABORTED/, /blob:.*ERR_FILE_NOT_FOUND/, /^console: Failed to load resource: net::ERR_FILE_NOT_FOUND$/];
  const out = problems.filter((p) => ![...benign, ...expected].some((e) => e.test(p)));
  problems.length = 0;
  return out;
}

const pct = (s: string): number => Number(/([\d.]+)%/.exec(s)?.[1] ?? NaN);

async function analyse(path: string): Promise<string> {
  await page.goto(`${base}/#/analyse`);
  await page.setInputFiles("input[type=file]", path);
  await page.getByRole("button", { name: "Analyse", exact: true }).click();
  // Either the result opens or the page says why not.
  await page.locator('[data-testid="verdict"], main [role="alert"]').first().waitFor({ timeout: 120_000 });
  if (!page.url().includes("#/result/")) {
    await screenshot(page, `failed-${path.split("/").pop()}`);
    throw new Error(`analysing ${path} failed: ${await page.getByRole("alert").innerText()}`);
  }
  return decodeURIComponent(page.url().split("#/result/")[1]!);
}

test("register, log out, log in again", async () => {
  if (skipWhy) return console.log(`skipped: ${skipWhy}`);
  await page.goto(`${base}/#/login`);
  await page.getByRole("button", { name: "Register" }).click();
  await page.getByLabel("Username").fill("x"); // invalid: told before any round trip
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create an account" }).click();
  assert.match(await page.locator(".field-error").first().innerText(), /3 to 64 characters/);
  await screenshot(page, "01-register-invalid");
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.waitForURL(/#\/analyse$/);
  assert.is(await page.locator(".who").innerText(), user);
  await page.getByRole("button", { name: "Log out" }).click();
  await page.waitForURL(/#\/login$/);
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill("the wrong password");
  await page.locator("form").getByRole("button", { name: "Log in" }).click();
  assert.match(await page.getByRole("alert").innerText(), /password|credentials/i);
  await page.getByLabel("Password").fill(password);
  await page.locator("form").getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/#\/analyse$/);
  assert.is(await page.locator(".who").innerText(), user);
  // The token lives in this tab's sessionStorage, never in localStorage.
  assert.is(await page.evaluate(() => window.localStorage.length), 0);
  assert.ok(await page.evaluate(() => window.sessionStorage.getItem("deepsafe.session")?.includes(".")));
  assert.equal(unexpectedProblems([/401/]), []);
});

test("analyse a real photo: verdict with its confidence, per-model scores, random weights labelled", async () => {
  if (skipWhy) return console.log(`skipped: ${skipWhy}`);
  await page.goto(`${base}/#/analyse`);
  await page.setInputFiles("input[type=file]", join(photos.dir!, "astronaut.png"));
  await page.getByRole("img", { name: "Preview of astronaut.png" }).waitFor();
  // Live health: both image models listed and serving, NPR flagged as random test weights.
  const mesonet = page.locator(".model-choice", { hasText: "mesonet" });
  assert.ok(await mesonet.getByRole("checkbox").isEnabled());
  assert.match(await mesonet.innerText(), /serving[\s\S]*official weights/);
  assert.match(await page.locator(".model-choice", { hasText: "npr" }).innerText(), /random test weights[\s\S]*not counted/);
  await screenshot(page, "02-analyse-photo");
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, "02b-analyse-photo-phone");
  await page.setViewportSize({ width: 1280, height: 900 });

  const id = await analyse(join(photos.dir!, "astronaut.png"));
  const verdict = page.getByTestId("verdict");
  const headline = await verdict.locator(".headline").innerText();
  // Image verdicts use voting by default: the headline says how many models agree (a "100%
  // confidence" from one vote would overclaim), and the score line is the share voting fake.
  const votes = /^Likely (real|fake) · (\d+) of (\d+) models? agrees?$/.exec(headline);
  assert.ok(votes, headline);
  const pFake = pct(await verdict.getByText(/Share of models voting fake/).innerText());
  const agreeing = Number(votes[2]) / Number(votes[3]);
  assert.ok(Math.abs(100 * agreeing - (votes[1] === "real" ? 100 - pFake : pFake)) < 0.11, `${headline} vs ${pFake}% voting fake`);
  assert.ok(agreeing >= 0.5);

  const meso = page.locator('.model-result[data-model="mesonet"]');
  assert.match(await meso.innerText(), /official weights[\s\S]*(Real|Fake) · [<>]?[\d.]+% confidence[\s\S]*counted in the verdict[\s\S]*1 face region/);
  const npr = page.locator('.model-result[data-model="npr"]');
  const nprText = await npr.innerText();
  assert.match(nprText, /random test weights[\s\S]*meaningless, not counted in the verdict/);
  assert.not.match(nprText, /(Real|Fake) · /, "a random-weight model is never shown as a call");
  await screenshot(page, "03-result-photo");

  // Export: the typed DetectResponse as JSON.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export JSON" }).click()]);
  const exported = JSON.parse(readFileSync((await download.path())!, "utf8")) as { requestId: string; modelResults: Array<{ model: string }> };
  assert.is(exported.requestId, id);
  assert.equal(exported.modelResults.map((m) => m.model).sort(), ["mesonet", "npr"]);

  // The printable report: no navigation or buttons, the verdict and every model.
  await page.emulateMedia({ media: "print" });
  assert.not.ok(await page.locator("header.top").isVisible());
  assert.not.ok(await page.getByRole("button", { name: "Export JSON" }).isVisible());
  assert.ok(await meso.isVisible());
  await screenshot(page, "03b-result-print");
  await page.emulateMedia({ media: "screen" });

  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, "04-result-photo-phone");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone screen`);
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.equal(unexpectedProblems(), []);
});

test("history lists the analysis and reopens its full result", async () => {
  if (skipWhy) return console.log(`skipped: ${skipWhy}`);
  await page.goto(`${base}/#/history`);
  // Records reach MongoDB through the gateway's outbox: give it a moment.
  const row = page.locator("table.history tbody tr", { hasText: "astronaut.png" });
  for (let i = 0; i < 20 && (await row.count()) === 0; i++) {
    await page.waitForTimeout(500);
    await page.reload();
    await page.locator("table.history, .error, main p").first().waitFor();
  }
  assert.is(await row.count(), 1);
  assert.match(await row.innerText(), /image[\s\S]*Likely (real|fake)[\s\S]*%/);
  await screenshot(page, "05-history");
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, "06-history-phone");
  await page.setViewportSize({ width: 1280, height: 900 });
  await row.getByRole("link").click();
  await page.waitForURL(/#\/result\//);
  // Opened from history (HistoryService.GetAnalysis), not from this tab's memory.
  await page.reload();
  await page.getByTestId("verdict").waitFor();
  assert.match(await page.getByTestId("verdict").innerText(), /Analysed/);
  assert.match(await page.locator('.model-result[data-model="mesonet"]').innerText(), /official weights/);
  await screenshot(page, "07-result-from-history");
  assert.equal(unexpectedProblems(), []);
});

test("history is paged: newest first, ten to a page", async () => {
  if (skipWhy) return console.log(`skipped: ${skipWhy}`);
  // Ten more analyses by the same user, straight through the REST API with the dashboard's token.
  const token = await page.evaluate(() => (JSON.parse(window.sessionStorage.getItem("deepsafe.session")!) as { token: string }).token);
  const coffee = readFileSync(join(photos.dir!, "coffee.png"));
  for (let i = 0; i < 10; i++) {
    const form = new FormData();
    form.append("file", new Blob([coffee], { type: "image/png" }), `coffee-${i}.png`);
    const res = await fetch(`${mesh.gatewayUrl}/detect`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form });
    assert.is(res.status, 200, await res.text());
  }
  await page.goto(`${base}/#/history`);
  const rows = page.locator("table.history tbody tr");
  for (let i = 0; i < 20 && !/11 analyses/.test(await page.locator(".pager").innerText().catch(() => "")); i++) {
    await page.waitForTimeout(500);
    await page.reload();
    await rows.first().waitFor();
  }
  assert.match(await page.locator(".pager").innerText(), /Page 1 of 2 · 11 analyses/);
  assert.is(await rows.count(), 10);
  assert.match(await rows.first().innerText(), /coffee-9\.png/);
  await page.getByRole("link", { name: "Older" }).click();
  await page.waitForURL(/#\/history\?page=2$/);
  await page.locator(".pager", { hasText: "Page 2 of 2" }).waitFor();
  // The pager can show before the page's rows replace page 1's: wait for the oldest record's row.
  await rows.filter({ hasText: "astronaut.png" }).waitFor();
  assert.is(await rows.count(), 1);
  assert.match(await rows.first().innerText(), /astronaut\.png/);
  await screenshot(page, "07b-history-page-2");
  assert.equal(unexpectedProblems(), []);
});

test("an invalid file and a bad setting get clear errors", async () => {
  if (skipWhy) return console.log(`skipped: ${skipWhy}`);
  const fake = join(work, "holiday.jpg");
  writeFileSync(fake, "#!/bin/sh\necho this is a shell script, not a photo\n");
  await page.goto(`${base}/#/analyse`);
  await page.setInputFiles("input[type=file]", fake);
  await page.getByRole("button", { name: "Analyse", exact: true }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.innerText(), /not a supported image, video or audio file[\s\S]*request /);
  assert.match(await page.locator(".preview").innerText(), /No preview/);
  await screenshot(page, "08-invalid-file");
  await page.getByLabel(/Threshold/).fill("7");
  await page.getByRole("button", { name: "Analyse", exact: true }).click();
  assert.match(await alert.innerText(), /between 0 and 1/);
  await page.getByLabel(/Threshold/).fill("");
  assert.equal(unexpectedProblems([/415/]), []);
});

test("video frames and audio windows as timelines", async () => {
  if (skipWhy) return console.log(`skipped: ${skipWhy}`);
  const video = join(work, "face.mp4");
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-i", join(photos.dir!, "astronaut.png"), "-vf", "zoompan=z='1+0.003*on':d=1:s=512x512:fps=25", "-t", "2", "-pix_fmt", "yuv420p", "-c:v", "libx264", video]);
  await analyse(video);
  const frames = page.locator('.model-result[data-model="mesonet-video"] figure.timeline');
  assert.match(await frames.locator("figcaption").innerText(), /P\(fake\) per frame/);
  assert.ok((await frames.locator("svg rect.fake, svg rect.real").count()) >= 10);
  await screenshot(page, "09-result-video");

  const audio = join(work, "speech.wav");
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "flite=text='DeepSafe checks audio too, window by window.'", "-ar", "16000", audio], { stdio: "ignore" });
  await analyse(audio);
  const windows = page.locator('.model-result[data-model="lfcc-lcnn"] figure.timeline');
  assert.match(await windows.locator("figcaption").innerText(), /P\(fake\) per window/);
  assert.ok((await windows.locator("svg rect.fake, svg rect.real").count()) >= 1);
  // Audio verdicts average probabilities, so the headline carries the confidence in the verdict.
  const headline = await page.getByTestId("verdict").locator(".headline").innerText();
  assert.match(headline, /^Likely (real|fake) · [<>]?[\d.]+% confidence$/);
  await screenshot(page, "10-result-audio");
  assert.equal(unexpectedProblems(), []);
});

test("models page: live health, versions, weights provenance, latency", async () => {
  if (skipWhy) return console.log(`skipped: ${skipWhy}`);
  await page.goto(`${base}/#/models`);
  const meso = page.locator('.model-list li[data-model="mesonet"]');
  await meso.waitFor();
  await page.getByText(/mean over \d+ call/).first().waitFor();
  assert.match(await meso.innerText(), /serving[\s\S]*official weights[\s\S]*Version[\s\S]*Checkpoint sha256[\s\S]*Latency\s*[\d.]+ s mean over \d+ call/);
  assert.match(await page.locator('.model-list li[data-model="npr"]').innerText(), /random test weights[\s\S]*not counted in verdicts/);
  await screenshot(page, "11-models");
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, "12-models-phone");
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.equal(unexpectedProblems(), []);
});

test("a refused or expired token ends the session and returns to login", async () => {
  if (skipWhy) return console.log(`skipped: ${skipWhy}`);
  // A token the gateway does not accept (signature broken), still "valid" by its exp: the first call ends the session.
  await page.evaluate(() => {
    const s = JSON.parse(window.sessionStorage.getItem("deepsafe.session")!) as { token: string };
    s.token = `${s.token.slice(0, -4)}AAAA`;
    window.sessionStorage.setItem("deepsafe.session", JSON.stringify(s));
  });
  await page.goto(`${base}/#/history`);
  await page.reload();
  await page.waitForURL(/#\/login$/);
  assert.match(await page.getByRole("status").innerText(), /session has expired or was refused/);
  assert.is(await page.evaluate(() => window.sessionStorage.getItem("deepsafe.session")), null);
  // An expired one is dropped on load, before any call.
  await page.evaluate(() => window.sessionStorage.setItem("deepsafe.session", JSON.stringify({ token: "a.b.c", username: "old", expiresAt: Date.now() - 1000 })));
  await page.goto(`${base}/#/history`);
  await page.reload();
  assert.match(await page.locator("main").innerText(), /Log in to see your analyses/);
  await screenshot(page, "13-session-ended");
  assert.equal(unexpectedProblems([/401/]), []);
});

test("live health: a detector that goes down is greyed out and cannot be picked", async () => {
  if (skipWhy) return console.log(`skipped: ${skipWhy}`);
  const lfcc = mesh.processes.get("lfcc-lcnn")!;
  lfcc.child.kill("SIGTERM");
  await lfcc.exited;
  await page.goto(`${base}/#/analyse`);
  await page.setInputFiles("input[type=file]", join(work, "speech.wav"));
  const choice = page.locator(".model-choice", { hasText: "lfcc-lcnn" });
  await choice.waitFor();
  // The gateway's health checks and the page's 5 s refresh notice it without a reload.
  await page.waitForFunction(() => document.querySelector<HTMLInputElement>('.model-choice input[id$="lfcc-lcnn"]')?.disabled === true, null, { timeout: 30_000 });
  assert.match(await choice.innerText(), /unreachable|not ready/);
  await page.getByRole("button", { name: "Analyse", exact: true }).click();
  assert.match(await page.getByRole("alert").innerText(), /Select at least one audio model that is serving/);
  await screenshot(page, "14-detector-down");
  assert.equal(unexpectedProblems(), []);
});

test("every form control has a label; the file picker is reachable by keyboard", async () => {
  if (skipWhy) return console.log(`skipped: ${skipWhy}`);
  for (const route of ["#/login", "#/analyse"]) {
    await page.goto(`${base}/${route}`);
    await page.locator("main h1").waitFor();
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll("input, select, textarea")]
        .filter((e) => !(e as HTMLInputElement).labels?.length && !e.getAttribute("aria-label"))
        .map((e) => e.outerHTML),
    );
    assert.equal(unlabelled, [], route);
  }
  let reached = false;
  for (let i = 0; i < 15 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type === "file");
  }
  assert.ok(reached, "Tab reaches the file input");
});

test.run();
