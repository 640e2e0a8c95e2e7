// Faults in a real mesh: NPR and the gateway as processes (startMesh), three instances of a test-fixture
// SDK detector (hardening/fixtures/stalling-detector.ts: one answers at once, one hangs, one is slow),
// and FerretDB for history. A detector killed with SIGKILL mid-upload, a hanging detector (deadline and
// cancellation seen on the detector's side), MongoDB stopped during a run, SIGTERM on every process.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { MediaType } from "@deepsafe/proto/es/common";
import { ModelHealth, Verdict, type DetectResponse } from "@deepsafe/proto/es/gateway";
import { call, multipart, postForm } from "../../gateway/test/http-helpers.js";
import { connectClient } from "../../deploy/test/clients.js";
import { ensureFerretDB, startFerretDB, type FerretDBServer } from "../../deploy/local/ferretdb.js";
import { type Mesh, type MeshProcess, loadRegistry, startMesh, withFreePorts } from "../../deploy/local/mesh.js";
import { prepareModels } from "../../deploy/local/prepare-models.js";
import { still } from "../cases/encode.js";
import { detectorHealth, metric, startFixture } from "./support/fixture.js";
import { LogCapture } from "./support/processes.js";
import { postOnce } from "./support/transports.js";

const SECRET = "faults-suite-jwt-secret-0123456789-abcdefghijklmnopq";
const NPR_DEADLINE_MS = 20_000;
const HANG_DEADLINE_MS = 3_000;
const SLOW_MS = 3_000;

let mesh: Mesh;
let noHistory = "";
let ferret: FerretDBServer | undefined;
const fixtures = new Map<string, MeshProcess>();
const fixtureEnv: Record<string, Record<string, string>> = {
  steady: { FIXTURE_MODE: "answer" },
  hanging: { FIXTURE_MODE: "hang" },
  slow: { FIXTURE_MODE: "answer", FIXTURE_DELAY_MS: String(SLOW_MS) },
};
const logs = new LogCapture();
const address = new Map<string, string>();
let jpeg: Buffer;

const portOf = (name: string) => Number(address.get(name)!.split(":")[1]);

function launchFixture(name: string): MeshProcess {
  const p = startFixture(name, portOf(name), fixtureEnv[name]!);
  fixtures.set(name, p);
  logs.attach(p);
  return p;
}

test.before(async () => {
  try {
    jpeg = await still("jpeg", 1280, 960);
    const base = loadRegistry();
    const npr = base.detectors.find((d) => d.name === "npr")!;
    const fixture = (name: string, deadline_ms: number) => ({ ...npr, name, package: "hardening-fixture", default: false, deadline_ms, env: undefined });
    const registry = await withFreePorts({
      ...base,
      gateway: { ...base.gateway, health_interval_ms: 250 },
      detectors: [{ ...npr, deadline_ms: NPR_DEADLINE_MS }, fixture("steady", 20_000), fixture("hanging", HANG_DEADLINE_MS), fixture("slow", 20_000)],
    });
    for (const d of registry.detectors) address.set(d.name, d.address);
    const { ready, unavailable } = await prepareModels({ ...registry, detectors: registry.detectors.filter((d) => d.name === "npr") }, { allowRandomWeights: true });
    assert.equal(ready, ["npr"], JSON.stringify([...unavailable]));
    try {
      await ensureFerretDB();
    } catch (err) {
      if (process.env.CI) throw err;
      noHistory = (err as Error).message;
    }
    for (const name of Object.keys(fixtureEnv)) launchFixture(name);
    mesh = await startMesh({
      registry,
      detectors: ["npr"],
      output: "pipe",
      env: { DEEPSAFE_JWT_SECRET: SECRET, DEEPSAFE_LOG_LEVEL: "info", DEEPSAFE_DATA_DIR: mkdtempSync(join(tmpdir(), "deepsafe-faults-gw-")) },
      ferretdb: noHistory ? undefined : { dataDir: mkdtempSync(join(tmpdir(), "deepsafe-faults-db-")) },
    });
    ferret = mesh.ferretdb;
    for (const p of mesh.processes.values()) logs.attach(p);
    await mesh.waitReady(120_000);
    for (const name of fixtures.keys()) await serving(name);
  } catch (err) {
    console.error("faults.test.ts: start-up failed:", err);
    throw err;
  }
});

test.after(async () => {
  for (const p of fixtures.values()) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await mesh?.stop();
  if (ferret !== mesh?.ferretdb) await ferret?.stop();
});

/** Until the gateway reports the detector SERVING (its health poll runs every 250 ms here). */
async function serving(name: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await connectClient(mesh.gatewayUrl).listModels({}).catch(() => undefined);
    if (r?.models.find((m) => m.name === name)?.health === ModelHealth.SERVING) return;
    if (Date.now() > end) throw new Error(`${name} not SERVING after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Until `text` shows up in the process's captured output. */
async function logged(name: string, pattern: RegExp, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pattern.test(logs.text(name))) {
    if (Date.now() > end) throw new Error(`${name} never logged ${pattern}; its last output:\n${logs.text(name).slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A Detect whose upload pauses after `beforeFault` chunks to run `fault`, then sends the rest. */
async function detectWithFault(models: string[], requestId: string, fault?: { afterChunks: number; run: () => Promise<void> }, timeoutMs?: number, signal?: AbortSignal): Promise<DetectResponse> {
  const piece = 16 * 1024;
  async function* stream() {
    yield { payload: { case: "header" as const, value: { requestId, models, includeRandomWeights: true, fileName: "fault.jpg" } } };
    for (let off = 0, n = 0; off < jpeg.length; off += piece, n++) {
      if (fault && n === fault.afterChunks) await fault.run();
      yield { payload: { case: "chunk" as const, value: jpeg.subarray(off, off + piece) } };
    }
  }
  return connectClient(mesh.gatewayUrl).detect(stream(), { timeoutMs, signal });
}

const result = (r: DetectResponse, model: string) => r.modelResults.find((m) => m.model === model)!;

test("a detector killed (SIGKILL) mid-upload: partial verdict within the deadline, that model failed; after its restart it serves again, same gateway", async () => {
  const gatewayPid = mesh.processes.get("gateway")!.child.pid;
  const npr = mesh.processes.get("npr")!;
  assert.ok(jpeg.length > 4 * 16 * 1024, `${jpeg.length} bytes: enough chunks to kill in between`);
  const t0 = performance.now();
  const r = await detectWithFault(["npr", "steady"], "fault-kill-1", {
    afterChunks: 2,
    run: async () => {
      npr.child.kill("SIGKILL");
      await npr.exited;
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(`  killed mid-upload: answered in ${seconds.toFixed(2)} s (npr deadline ${NPR_DEADLINE_MS / 1000} s); npr: ${result(r, "npr").errorCode} ${result(r, "npr").errorMessage}`);
  assert.ok(seconds * 1000 < NPR_DEADLINE_MS, "answered within the deadline");
  assert.is(result(r, "npr").errorCode, "UNAVAILABLE");
  assert.ok(!result(r, "npr").usedInVerdict);
  assert.is(result(r, "steady").errorCode, "", result(r, "steady").errorMessage);
  assert.ok(result(r, "steady").usedInVerdict);
  assert.ok([Verdict.FAKE, Verdict.REAL].includes(r.verdict), `a verdict from the surviving detector, got ${Verdict[r.verdict]}`);
  assert.is(npr.child.signalCode, "SIGKILL");

  // Restart NPR on the same port; the running gateway picks it up.
  const again = mesh.startDetector("npr");
  logs.attach(again);
  await serving("npr", 90_000);
  // The gateway's channel to it may still be in reconnect backoff (at most 2 s) when health already
  // says SERVING: requests succeed again within that, with no gateway restart.
  const since = performance.now();
  let r2 = await detectWithFault(["npr", "steady"], "fault-kill-2");
  for (let attempt = 1; result(r2, "npr").errorCode === "UNAVAILABLE" && performance.now() - since < 5_000; attempt++) {
    await new Promise((r) => setTimeout(r, 250));
    r2 = await detectWithFault(["npr", "steady"], `fault-kill-2-${attempt}`);
  }
  console.log(`  restarted npr answered again ${((performance.now() - since) / 1000).toFixed(2)} s after it reported SERVING`);
  assert.is(result(r2, "npr").errorCode, "", result(r2, "npr").errorMessage);
  assert.ok(result(r2, "npr").prediction!.probabilityFake > 0);
  assert.is(mesh.processes.get("gateway")!.child.pid, gatewayPid, "the gateway was not restarted");
  assert.is(mesh.processes.get("gateway")!.child.exitCode, null);
});

test("a hanging detector: its deadline ends the call on both sides; the other detector's verdict stands", async () => {
  const metrics = `http://127.0.0.1:${portOf("hanging") + 10000}/metrics`;
  const before = await metric(metrics, "deepsafe_detector_requests_total", { outcome: "DEADLINE_EXCEEDED" });
  const t0 = performance.now();
  const r = await detectWithFault(["npr", "hanging"], "fault-hang-1");
  const seconds = (performance.now() - t0) / 1000;
  console.log(`  hanging detector: answered in ${seconds.toFixed(2)} s (its deadline ${HANG_DEADLINE_MS / 1000} s)`);
  assert.is(result(r, "hanging").errorCode, "DEADLINE_EXCEEDED", result(r, "hanging").errorMessage);
  assert.is(result(r, "npr").errorCode, "");
  assert.ok(seconds * 1000 >= HANG_DEADLINE_MS - 100 && seconds * 1000 < NPR_DEADLINE_MS);
  // The detector itself stopped waiting: its predict saw the propagated deadline.
  await logged("hanging", /"msg":"fixture predict aborted","model":"hanging","requestId":"fault-hang-1","reason":"DeadlineExceededError"/);
  assert.is(await metric(metrics, "deepsafe_detector_requests_total", { outcome: "DEADLINE_EXCEEDED" }), before + 1);
});

test("the client's own deadline and a client cancel propagate to the hanging detector", async () => {
  const metrics = `http://127.0.0.1:${portOf("hanging") + 10000}/metrics`;
  // A client deadline shorter than the registry's: the detector gets the client's.
  const t0 = performance.now();
  try {
    await detectWithFault(["hanging"], "fault-hang-2", undefined, 1500);
    assert.unreachable("a hanging detector alone cannot answer");
  } catch (err) {
    assert.is(Code[ConnectError.from(err).code], Code[Code.DeadlineExceeded], ConnectError.from(err).rawMessage);
  }
  assert.ok(performance.now() - t0 < HANG_DEADLINE_MS, "the client's 1.5 s, not the registry's 3 s");
  await logged("hanging", /"requestId":"fault-hang-2","reason":"(DeadlineExceededError|CancelledError)"/);

  // The client gives up after the upload: the gateway cancels, the detector sees CANCELLED.
  const cancelledBefore = await metric(metrics, "deepsafe_detector_requests_total", { outcome: "CANCELLED" });
  const abort = new AbortController();
  const pending = detectWithFault(["hanging"], "fault-hang-3", undefined, undefined, abort.signal);
  await logged("hanging", /"msg":"fixture predict started","model":"hanging","requestId":"fault-hang-3"/);
  abort.abort();
  try {
    await pending;
    assert.unreachable("cancelled");
  } catch (err) {
    assert.is(Code[ConnectError.from(err).code], Code[Code.Canceled]);
  }
  await logged("hanging", /"requestId":"fault-hang-3","reason":"CancelledError"/);
  const end = Date.now() + 5000;
  while ((await metric(metrics, "deepsafe_detector_requests_total", { outcome: "CANCELLED" })) < cancelledBefore + 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  assert.is(await metric(metrics, "deepsafe_detector_requests_total", { outcome: "CANCELLED" }), cancelledBefore + 1);
});

test("MongoDB stopped during a run: detections keep being served; every record is written once it is back", async () => {
  if (noHistory) return console.log(`  skipped: ${noHistory}`);
  const base = mesh.gatewayUrl;
  assert.is((await postForm(base, "/register", { username: "dana", password: "dana's long password" })).status, 200);
  const token = (await postForm(base, "/token", { username: "dana", password: "dana's long password" })).body.access_token as string;
  const auth = { authorization: `Bearer ${token}` };
  const ids: string[] = [];
  const detectOnce = async (i: number): Promise<void> => {
    if (i % 2 === 0) {
      const m = multipart(jpeg, { fileName: `run-${i}.jpg`, fields: { models: "steady", include_random_weights: "true" } });
      const r = await postOnce(`${base}/detect`, { ...auth, "content-type": m.contentType }, m.body);
      assert.is(r.status, 200, r.text);
      ids.push(r.body.request_id);
    } else {
      const r = await connectClient(base).detect(
        (async function* () {
          yield { payload: { case: "header" as const, value: { models: ["steady"], includeRandomWeights: true } } };
          yield { payload: { case: "chunk" as const, value: jpeg } };
        })(),
        { headers: auth },
      );
      ids.push(r.requestId);
    }
  };
  await Promise.all([0, 1].map(detectOnce));
  // Stop the database while two more are in flight, then keep going without it.
  const inFlight = Promise.all([2, 3].map(detectOnce));
  await ferret!.stop();
  await inFlight;
  for (let i = 4; i < 8; i++) await detectOnce(i);
  assert.is((await call(base, "/history", { headers: auth })).status, 503, "history itself is unavailable meanwhile");
  ferret = await startFerretDB({ dataDir: ferret!.dataDir, port: ferret!.port, output: "ignore" });
  const end = Date.now() + 60_000;
  let page: { total: number; records: { request_id: string }[] } = { total: 0, records: [] };
  while (Date.now() < end) {
    const r = await call(base, "/history?limit=100", { headers: auth });
    if (r.status === 200) page = r.body;
    if (page.total >= ids.length) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`  MongoDB down for 6 of 8 detections: ${page.total} of ${ids.length} records in history afterwards`);
  assert.is(page.total, ids.length, "every record once, none lost, none doubled");
  assert.equal(page.records.map((r) => r.request_id).sort(), [...ids].sort());
});

test("SIGTERM on a detector mid-request: readiness flips, the request finishes, then it exits 0", async () => {
  const slow = fixtures.get("slow")!;
  const pending = detectWithFault(["slow"], "fault-term-1");
  await logged("slow", /"msg":"fixture predict started","model":"slow","requestId":"fault-term-1"/);
  slow.child.kill("SIGTERM");
  await logged("slow", /"msg":"draining"/);
  const health = await detectorHealth(address.get("slow")!);
  assert.ok(health !== "SERVING", `readiness after SIGTERM: ${health}`);
  const r = await pending;
  assert.is(result(r, "slow").errorCode, "", result(r, "slow").errorMessage);
  assert.ok(result(r, "slow").prediction);
  assert.is(await slow.exited, 0);
  const out = logs.text("slow");
  assert.ok(out.indexOf('"fixture predict finished"') < out.indexOf('"msg":"stopped"'), "finished before it stopped");
});

test("SIGTERM on the gateway mid-request: no new connections, the request finishes, then it exits 0", async () => {
  launchFixture("slow");
  await serving("slow");
  const gateway = mesh.processes.get("gateway")!;
  const port = Number(new URL(mesh.gatewayUrl).port);
  const pending = detectWithFault(["slow"], "fault-term-2");
  await logged("slow", /"requestId":"fault-term-2"/);
  gateway.child.kill("SIGTERM");
  // The listening socket closes at once: a new client is refused while the old request still runs.
  let refused = false;
  for (let i = 0; i < 40 && !refused; i++) {
    refused = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: "127.0.0.1" });
      s.once("connect", () => (s.destroy(), resolve(false)));
      s.once("error", () => resolve(true));
    });
    if (!refused) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(refused, "new connections refused during the drain");
  const r = await pending;
  assert.is(result(r, "slow").errorCode, "", result(r, "slow").errorMessage);
  assert.is(r.mediaType, MediaType.IMAGE);
  assert.is(await gateway.exited, 0);
});

test("SIGTERM on the remaining detectors: each drains and exits 0", async () => {
  const rest = [mesh.processes.get("npr")!, ...[...fixtures.values()].filter((p) => p.child.exitCode === null)];
  for (const p of rest) p.child.kill("SIGTERM");
  const codes = await Promise.all(rest.map((p) => p.exited));
  assert.equal(codes, rest.map(() => 0), rest.map((p) => p.name).join(", "));
  for (const p of rest) assert.match(logs.text(p.name), /"msg":"stopped"/, `${p.name} logged its stop`);
});

test.run();
