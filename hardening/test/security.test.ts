// Security against a real mesh (NPR, LFCC-LCNN and MesoNet-video when their weights are here, the
// gateway, FerretDB), with anonymous detection turned off: forged and damaged JWTs over REST, Connect
// and gRPC; one user's history invisible to another; login rate limit over both APIs; crafted
// playlists and concat scripts that must never make ffmpeg open a local file (a FIFO canary proves it);
// and no secret, password, token, API key or media bytes in anything the processes print.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync, spawn } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { AccountService } from "@deepsafe/proto/es/accounts";
import { DeepSafeService } from "@deepsafe/proto/es/gateway";
import { HistoryService } from "@deepsafe/proto/es/history";
import { DeepSafeServiceClient } from "@deepsafe/proto/grpc/gateway";
import { SignJWT, UnsecuredJWT } from "jose";
import { call, postForm } from "../../gateway/test/http-helpers.js";
import { ensureFerretDB } from "../../deploy/local/ferretdb.js";
import { type Mesh, loadRegistry, startMesh, withFreePorts } from "../../deploy/local/mesh.js";
import { prepareModels } from "../../deploy/local/prepare-models.js";
import { ffmpeg, still } from "../cases/encode.js";
import { LogCapture, mediaPatterns } from "./support/processes.js";
import { type Target, runCase } from "./support/transports.js";

const SECRET = "security-suite-jwt-secret-0123456789-abcdefghijklm";
const API_KEY = "batch-key-0123456789-abcdefghijklmnopqrstuvwxyz";
const PASSWORDS = { olga: "olga's quite long password 1", piet: "piet's quite long password 2" };
/** Registered by the rate-limit test (never logged in before it). */
const ROSA_PASSWORD = "rosa's quite long password 3";
let mesh: Mesh;
let noHistory = "";
let haveAudio = false;
let haveVideo = false;
const logs = new LogCapture();
let jpeg: Buffer;
const tokens: Record<string, string> = {};

test.before(async () => {
  try {
    jpeg = await still("jpeg");
    const base = loadRegistry();
    const registry = await withFreePorts({
      ...base,
      auth: { ...base.auth, anonymous_detect: false },
      detectors: base.detectors.filter((d) => ["npr", "lfcc-lcnn", "mesonet-video"].includes(d.name)).map((d) => ({ ...d, default: true })),
    });
    const { ready } = await prepareModels(registry, { allowRandomWeights: true });
    registry.detectors = registry.detectors.filter((d) => ready.includes(d.name));
    haveAudio = ready.includes("lfcc-lcnn");
    haveVideo = ready.includes("mesonet-video");
    try {
      await ensureFerretDB();
    } catch (err) {
      if (process.env.CI) throw err;
      noHistory = (err as Error).message;
    }
    mesh = await startMesh({
      registry,
      output: "pipe",
      env: { DEEPSAFE_JWT_SECRET: SECRET, DEEPSAFE_API_KEYS: `batch=${API_KEY}`, DEEPSAFE_LOG_LEVEL: "info", DEEPSAFE_DATA_DIR: mkdtempSync(join(tmpdir(), "deepsafe-sec-gw-")) },
      ferretdb: noHistory ? undefined : { dataDir: mkdtempSync(join(tmpdir(), "deepsafe-sec-db-")) },
    });
    for (const p of mesh.processes.values()) logs.attach(p);
    await mesh.waitReady(120_000);
    if (!noHistory) {
      for (const [u, pw] of Object.entries(PASSWORDS)) {
        const reg = await postForm(mesh.gatewayUrl, "/register", { username: u, password: pw });
        assert.is(reg.status, 200, JSON.stringify(reg.body));
        tokens[u] = (await postForm(mesh.gatewayUrl, "/token", { username: u, password: pw })).body.access_token;
      }
    }
  } catch (err) {
    console.error("security.test.ts: start-up failed:", err);
    throw err;
  }
});

test.after(async () => {
  await mesh?.stop();
});

const grpcAddress = () => new URL(mesh.gatewayUrl).host;
const key = () => new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const jwt = (o: { sub?: string; aud?: string; iss?: string; exp?: number; iat?: number } = {}) =>
  new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(o.sub ?? "olga")
    .setIssuer(o.iss ?? "deepsafe")
    .setAudience(o.aud ?? "deepsafe-api")
    .setIssuedAt(o.iat ?? now())
    .setExpirationTime(o.exp ?? now() + 600);

/** Swap the payload of a signed token, keeping its header and signature. */
function tamper(token: string, claims: Record<string, unknown>): string {
  const [h, p, s] = token.split(".");
  const payload = { ...JSON.parse(Buffer.from(p!, "base64url").toString()), ...claims };
  return [h, Buffer.from(JSON.stringify(payload)).toString("base64url"), s].join(".");
}

async function forgedTokens(): Promise<Record<string, { token: string; message: RegExp }>> {
  const good = await jwt().sign(key());
  return {
    expired: { token: await jwt({ exp: now() - 120, iat: now() - 1900 }).sign(key()), message: /token expired/ },
    "wrong signature": { token: await jwt().sign(new TextEncoder().encode("another-secret-0123456789-abcdefghijklmnopq")), message: /signature is invalid/ },
    "alg none": { token: new UnsecuredJWT({ sub: "olga" }).setIssuer("deepsafe").setAudience("deepsafe-api").setIssuedAt().setExpirationTime("5m").encode(), message: /algorithm is not allowed|malformed/ },
    "HS512 (algorithm not pinned)": { token: await new SignJWT({}).setProtectedHeader({ alg: "HS512" }).setSubject("olga").setIssuer("deepsafe").setAudience("deepsafe-api").setIssuedAt().setExpirationTime("5m").sign(new TextEncoder().encode(SECRET + SECRET)), message: /algorithm is not allowed/ },
    "wrong audience": { token: await jwt({ aud: "another-api" }).sign(key()), message: /claim "aud" is invalid/ },
    "wrong issuer": { token: await jwt({ iss: "someone-else" }).sign(key()), message: /claim "iss" is invalid/ },
    "tampered subject (olga → piet)": { token: tamper(good, { sub: "piet" }), message: /signature is invalid/ },
    "tampered expiry (+1 year)": { token: tamper(good, { exp: now() + 365 * 86400 }), message: /signature is invalid/ },
    "not a JWT": { token: "not.a.jwt", message: /malformed/ },
  };
}

test("forged or damaged JWTs are refused on every API: REST 401, Connect and gRPC UNAUTHENTICATED", async () => {
  const failures: string[] = [];
  let n = 0;
  for (const [what, { token, message }] of Object.entries(await forgedTokens())) {
    const auth = { authorization: `Bearer ${token}` };
    // REST: detection and the account.
    for (const path of ["/detect", "/users/me"]) {
      const r = path === "/detect"
        ? await runCase("rest", { kind: "jwt", name: what, bytes: jpeg, expect: { verdict: true, media: "image" } }, { baseUrl: mesh.gatewayUrl, grpcAddress: grpcAddress(), headers: auth })
        : await call(mesh.gatewayUrl, path, { headers: auth }).then((x) => ({ error: { code: Code.Unknown, http: x.status, httpCode: x.body?.code, message: String(x.body?.detail) } }));
      if (r.error?.http !== 401 || r.error.httpCode !== "unauthenticated" || !message.test(r.error.message)) failures.push(`REST ${path} ${what}: ${JSON.stringify(r)}`);
      n++;
    }
    // Connect (Detect and HistoryService) and plain gRPC (Detect).
    const target: Target = { baseUrl: mesh.gatewayUrl, grpcAddress: grpcAddress(), headers: auth };
    for (const protocol of ["connect", "grpc"] as const) {
      const transport = (protocol === "grpc" ? createGrpcTransport : createConnectTransport)({ baseUrl: mesh.gatewayUrl, httpVersion: "2" });
      const detect = createClient(DeepSafeService, transport).detect(
        (async function* () {
          yield { payload: { case: "header" as const, value: {} } };
          yield { payload: { case: "chunk" as const, value: jpeg } };
        })(),
        { headers: auth },
      );
      const list = createClient(HistoryService, transport).listAnalyses({}, { headers: auth });
      for (const [rpc, p] of [["Detect", detect], ["ListAnalyses", list]] as const) {
        const e = await p.then(() => undefined, (err: unknown) => ConnectError.from(err));
        if (e?.code !== Code.Unauthenticated || !message.test(e.rawMessage)) failures.push(`${protocol} ${rpc} ${what}: ${e ? `${Code[e.code]} ${e.rawMessage}` : "accepted"}`);
        n++;
      }
    }
    const viaGrpcJs = await grpcJsDetect(target, auth.authorization);
    if (viaGrpcJs.code !== grpc.status.UNAUTHENTICATED || !message.test(viaGrpcJs.details)) failures.push(`grpc-js Detect ${what}: ${JSON.stringify(viaGrpcJs)}`);
    n++;
  }
  console.log(`  ${n} forged-token requests, all refused`);
  assert.equal(failures, [], failures.join("\n"));
  // Control: a good token and the API key pass.
  if (!noHistory) assert.is((await call(mesh.gatewayUrl, "/users/me", { headers: { authorization: `Bearer ${tokens.olga}` } })).status, 200);
  const viaKey = await runCase("connect", { kind: "api key", name: "x-api-key", bytes: jpeg, expect: { verdict: true, media: "image" } }, { baseUrl: mesh.gatewayUrl, grpcAddress: grpcAddress(), headers: {} });
  assert.ok(viaKey.error?.code === Code.Unauthenticated, "anonymous Connect Detect is refused");
  const keyed = await grpcJsDetect({ baseUrl: mesh.gatewayUrl, grpcAddress: grpcAddress(), headers: {} }, undefined, API_KEY);
  assert.is(keyed.code, grpc.status.OK, keyed.details);
});

/** Detect over plain grpc-js with the given authorization / x-api-key metadata: the final status. */
function grpcJsDetect(target: Target, authorization?: string, apiKey?: string): Promise<{ code: number; details: string }> {
  const client = new DeepSafeServiceClient(target.grpcAddress, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (authorization) md.set("authorization", authorization);
  if (apiKey) md.set("x-api-key", apiKey);
  return new Promise((resolve) => {
    const c = client.detect(md, (err) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: "" });
    });
    c.on("error", () => {});
    c.write({ payload: { $case: "header", value: { requestId: "", mediaType: 0, mimeType: "", fileName: "", declaredSize: 0, ensembleMethod: 0, models: [], includeRandomWeights: true } } });
    c.write({ payload: { $case: "chunk", value: jpeg } });
    c.end();
  });
}

test("one user's history is invisible to another, over REST and Connect", async () => {
  if (noHistory) return console.log(`  skipped: ${noHistory}`);
  const authOf = (u: string) => ({ authorization: `Bearer ${tokens[u]}` });
  const ids: Record<string, string> = {};
  for (const u of ["olga", "piet"]) {
    const r = await runCase("connect", { kind: "history", name: u, bytes: jpeg, fileName: `${u}.jpg`, expect: { verdict: true, media: "image" } }, { baseUrl: mesh.gatewayUrl, grpcAddress: grpcAddress(), headers: authOf(u) });
    assert.ok(r.verdict, JSON.stringify(r.error));
  }
  const history = (u: string) => createClient(HistoryService, createConnectTransport({ baseUrl: mesh.gatewayUrl, httpVersion: "2" }));
  for (const u of ["olga", "piet"]) {
    const end = Date.now() + 20_000;
    let list = await history(u).listAnalyses({}, { headers: authOf(u) });
    while (list.total === 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      list = await history(u).listAnalyses({}, { headers: authOf(u) });
    }
    assert.is(list.total, 1, `${u} sees exactly their own record`);
    assert.is(list.records[0]!.fileName, `${u}.jpg`);
    ids[u] = list.records[0]!.requestId;
  }
  // Piet asks for Olga's record by id: NOT_FOUND over Connect, 404 over REST — never "forbidden" (no oracle).
  const e = await history("piet").getAnalysis({ requestId: ids.olga! }, { headers: authOf("piet") }).then(() => undefined, (err: unknown) => ConnectError.from(err));
  assert.is(e?.code, Code.NotFound);
  assert.is((await call(mesh.gatewayUrl, `/history/${ids.olga}`, { headers: authOf("piet") })).status, 404);
  assert.is((await call(mesh.gatewayUrl, `/history/${ids.olga}`, { headers: authOf("olga") })).status, 200);
  const pietList = (await call(mesh.gatewayUrl, "/history", { headers: authOf("piet") })).body as { records: { request_id: string }[] };
  assert.ok(pietList.records.every((r) => r.request_id !== ids.olga));
});

test("login attempts are rate-limited across REST and Connect (one bucket per user and address)", async () => {
  if (noHistory) return console.log(`  skipped: ${noHistory}`);
  const accounts = createClient(AccountService, createConnectTransport({ baseUrl: mesh.gatewayUrl, httpVersion: "2" }));
  // A fresh account (registering does not draw from the login bucket), then eight wrong passwords.
  const password = ROSA_PASSWORD;
  await accounts.register({ username: "rosa", password });
  const outcomes: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (i % 2 === 0) outcomes.push(String((await postForm(mesh.gatewayUrl, "/token", { username: "rosa", password: `wrong guess ${i}` })).status));
    else outcomes.push(await accounts.login({ username: "rosa", password: `wrong guess ${i}` }).then(() => "OK", (err: unknown) => Code[ConnectError.from(err).code]!));
  }
  console.log(`  8 wrong passwords, alternating REST and Connect: ${outcomes.join(" ")}`);
  assert.equal(outcomes.slice(0, 5), ["401", "Unauthenticated", "401", "Unauthenticated", "401"]);
  assert.equal(outcomes.slice(5), ["ResourceExhausted", "429", "ResourceExhausted"]);
  // The right password is refused too while the bucket is empty (no guessing through the limit).
  const r = await postForm(mesh.gatewayUrl, "/token", { username: "rosa", password });
  assert.is(r.status, 429);
  assert.ok(Number(r.headers.get("retry-after")) > 0);
});

test("crafted playlists, concat scripts and disguised ones never make ffmpeg open a local file", async () => {
  if (!haveAudio && !haveVideo) return console.log("  skipped: no audio or video detector here");
  const dir = mkdtempSync(join(tmpdir(), "deepsafe-canary-"));
  // A FIFO: opening it for reading blocks until a writer comes, so any attempt by ffmpeg to read it is
  // caught below (our non-blocking open for writing succeeds only while someone has it open to read).
  const canary = join(dir, "canary.wav");
  execFileSync("mkfifo", [canary]);
  const hls = (target: string) => `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n${target}\n#EXT-X-ENDLIST\n`;
  const bodies: [string, Buffer][] = [
    ["HLS, absolute path", Buffer.from(hls(canary))],
    ["HLS, file: URL", Buffer.from(hls(`file://${canary}`))],
    ["HLS, AES key from a local file", Buffer.from(`#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="file://${canary}"\n#EXTINF:1,\n${canary}\n#EXT-X-ENDLIST\n`)],
    ["ffconcat script", Buffer.from(`ffconcat version 1.0\nfile '${canary}'\n`)],
    ["SDP pointing at a file", Buffer.from(`v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nm=audio 0 RTP/AVP 0\na=x-include:${canary}\n`)],
  ];
  const disguises: [string, (b: Buffer) => Buffer][] = [
    ["as is", (b) => b],
    ["behind an MP4 ftyp box", (b) => Buffer.concat([Buffer.from([0, 0, 0, 16]), Buffer.from("ftypisom\0\0\0\0"), b])],
    ["behind a Matroska EBML header", (b) => Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x84, 0x42, 0x82, 0x81, 0x6d]), b])],
    ["behind an ID3 tag", (b) => Buffer.concat([Buffer.from("ID3\x04\x00\x00\x00\x00\x00\x00", "latin1"), b])],
  ];
  let opened = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      try {
        const fd = openSync(canary, constants.O_WRONLY | constants.O_NONBLOCK);
        opened++;
        writeSync(fd, Buffer.from("not audio"));
        closeSync(fd);
      } catch {
        // ENXIO: nobody is reading the canary — what we want
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const target: Target = { baseUrl: mesh.gatewayUrl, grpcAddress: grpcAddress(), headers: { "x-api-key": API_KEY } };
  const answers: string[] = [];
  const verdictsOnTheBytes: string[] = [];
  const openedByUploads = await (async () => {
    // The watcher must stop even when an assertion fails, or its loop keeps the suite alive forever.
    try {
      for (const [what, body] of bodies) {
        for (const [how, wrap] of disguises) {
          const r = await runCase("rest", { kind: "playlist", name: `${what} ${how}`, bytes: wrap(body), fileName: "clip.m3u8", expect: { verdict: true, media: "audio" } }, target);
          answers.push(`${what} ${how}: ${r.error ? `${r.error.http} ${r.error.httpCode}` : "verdict"}`);
          // A typed refusal, or (an ID3 tag is valid MP3 framing) a verdict on the bytes themselves.
          // 503 only where the bytes sniff as a media type with no detector here (weights not prepared).
          const noDetector = r.error?.http === 503 && /no detector is configured for (audio|video)/.test(r.error.message) && !(haveAudio && haveVideo);
          if (r.error) assert.ok([400, 415].includes(r.error.http!) || noDetector, `${what} ${how}: ${JSON.stringify(r.error)}`);
          else verdictsOnTheBytes.push(`${what} ${how}`);
        }
      }
      const byUploads = opened;
      // Control: the canary does catch a reader. ffmpeg run the naive way (playlist by file name, default
      // protocols) opens it; the watcher sees that within milliseconds.
      const playlist = join(dir, "naive.m3u8");
      writeFileSync(playlist, hls(canary));
      const naive = spawn("ffmpeg", ["-nostdin", "-loglevel", "error", "-i", playlist, "-f", "null", "-"], { stdio: "ignore" });
      const naiveDone = new Promise((r) => naive.once("exit", r));
      const end = Date.now() + 10_000;
      while (opened === byUploads && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      naive.kill("SIGKILL");
      await naiveDone;
      return byUploads;
    } finally {
      watching = false;
      await watcher;
    }
  })();
  console.log(`  ${answers.length} crafted uploads: ${answers.filter((a) => / 4\d\d /.test(a)).length} refused (400/415), ${verdictsOnTheBytes.length} scored as the bytes they are; canary opened ${openedByUploads} times by them (and ${opened - openedByUploads} by the naive ffmpeg control)`);
  assert.is(openedByUploads, 0, "ffmpeg (or anything) opened the canary file");
  assert.ok(opened > openedByUploads, "control: a naive ffmpeg opening the playlist is caught by the canary");
  for (const p of mesh.processes.values()) assert.is(p.child.exitCode, null, `${p.name} died`);
});

test("no JWT secret, password, token, API key or media bytes in anything the processes printed", async () => {
  // Make sure the logs have something to show: an error path with every credential in play.
  await postForm(mesh.gatewayUrl, "/token", { username: "nobody", password: PASSWORDS.olga });
  await call(mesh.gatewayUrl, "/users/me", { headers: { authorization: `Bearer ${tokens.olga ?? "x"}`, "x-api-key": `${API_KEY}-wrong` } });
  const audio = haveAudio ? ffmpeg(["-f", "lavfi", "-i", "sine=frequency=500:duration=1"], "leak.wav") : undefined;
  if (audio) await runCase("grpc", { kind: "log", name: "wav", bytes: audio, expect: { verdict: true, media: "audio" } }, { baseUrl: mesh.gatewayUrl, grpcAddress: grpcAddress(), headers: {} });
  const secrets: Record<string, string> = {
    "JWT secret": SECRET,
    "API key": API_KEY,
    ...Object.fromEntries(Object.entries(PASSWORDS).map(([u, pw]) => [`${u}'s password`, pw])),
    "rosa's password": ROSA_PASSWORD,
    ...Object.fromEntries(Object.entries(tokens).map(([u, t]) => [`${u}'s token`, t])),
    ...Object.fromEntries(Object.entries(tokens).map(([u, t]) => [`${u}'s token signature`, t.split(".")[2]!])),
    ...mediaPatterns("test JPEG", jpeg),
    ...(audio ? mediaPatterns("test WAV", audio) : {}),
  };
  const all = logs.text();
  console.log(`  ${(all.length / 1024).toFixed(0)} KiB of output from ${mesh.processes.size} processes checked for ${Object.keys(secrets).length} patterns`);
  // Captured from every process (a size bound would depend on which detectors have weights here).
  assert.ok(all.includes("detector listening") && all.includes("gateway listening"), "the output was captured");
  assert.equal(logs.leaks(secrets), []);
});

test.run();
