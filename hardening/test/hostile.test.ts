// Hostile and broken inputs against one real mesh (NPR for images, MesoNet-video, LFCC-LCNN for audio,
// the gateway; each its own process): every generated case over Connect, gRPC (grpc-js), gRPC-Web and REST,
// each answered with the typed error the case expects (or, for valid-but-odd media, a verdict).
// Afterwards: every process alive, RSS growth bounded, and nothing secret or media-like in the logs.
// Prints a table of case kinds × transports and the memory of each process before and after.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as net from "node:net";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { DeepSafeServiceClient } from "@deepsafe/proto/grpc/gateway";
import { MediaType } from "@deepsafe/proto/es/common";
import { SignJWT } from "jose";
import { call, multipart, postJson, streamedPost } from "../../gateway/test/http-helpers.js";
import { connectClient } from "../../deploy/test/clients.js";
import { type Mesh, loadRegistry, startMesh, withFreePorts } from "../../deploy/local/mesh.js";
import { prepareModels } from "../../deploy/local/prepare-models.js";
import { audioCases } from "../cases/audio.js";
import { still } from "../cases/encode.js";
import { imageCases } from "../cases/images.js";
import { type HostileCase, type MediaName, RPC_TRANSPORTS, type RpcTransport, TRANSPORTS, type Transport } from "../cases/types.js";
import { videoBombCases } from "../cases/video-bombs.js";
import { videoCases } from "../cases/video.js";
import { LogCapture, type Memory, mediaPatterns, memoryOf } from "./support/processes.js";
import { type RawReply, frame, rawCall, rawCallHttp1 } from "./support/raw-calls.js";
import { type Msg, type Observed, type Target, mismatch, runCase, sendMessages } from "./support/transports.js";

const SECRET = "hostile-suite-jwt-secret-0123456789-abcdefghijklmnop";
/** Upload limit for images in this mesh: small, so that floods past it stay cheap. */
const IMAGE_LIMIT = 4 * 1024 * 1024;
/** RSS growth allowed per process over the whole suite (MiB): generous, a leak of ~1 MiB per case would cross it. */
const RSS_GROWTH_LIMIT_MIB = 256;
/** A stalled upload is ended after this long without a byte (gateway.upload_idle_timeout_ms). */
const IDLE_MS = 3000;

const DETECTORS: Record<MediaName, string> = { image: "npr", video: "mesonet-video", audio: "lfcc-lcnn" };
let mesh: Mesh;
let target: Target;
let served = new Set<MediaName>();
const logs = new LogCapture();
const tally = new Map<string, Record<Transport | "total", number>>();
const memoryBefore = new Map<string, Memory>();
let token = "";

const count = (kind: string, t: Transport) => {
  const row = tally.get(kind) ?? { connect: 0, grpc: 0, "grpc-web": 0, rest: 0, total: 0 };
  row[t]++;
  row.total++;
  tally.set(kind, row);
};

test.before(async () => {
  try {
    const base = loadRegistry();
    const registry = await withFreePorts({
      ...base,
      gateway: { ...base.gateway, upload_idle_timeout_ms: IDLE_MS },
      media: { ...base.media, image: { ...base.media.image, max_upload_bytes: IMAGE_LIMIT } },
      history: { ...base.history, enabled: false },
      detectors: base.detectors.filter((d) => Object.values(DETECTORS).includes(d.name)).map((d) => ({ ...d, default: true })),
    });
    // NPR may run its random fixture (fine for inputs that must be refused before any inference);
    // video and audio need their official weights (DEEPSAFE_WEIGHTS_MIRROR), else their cases are skipped.
    const { ready, unavailable } = await prepareModels(registry, { allowRandomWeights: true });
    for (const [name, why] of unavailable) console.log(`  ${name} unavailable (${why}): its cases are skipped`);
    registry.detectors = registry.detectors.filter((d) => ready.includes(d.name));
    served = new Set((Object.keys(DETECTORS) as MediaName[]).filter((m) => ready.includes(DETECTORS[m])));
    assert.ok(served.has("image"), "NPR must be available");
    mesh = await startMesh({
      registry,
      output: "pipe",
      env: { DEEPSAFE_JWT_SECRET: SECRET, DEEPSAFE_LOG_LEVEL: "info", DEEPSAFE_DATA_DIR: mkdtempSync(join(tmpdir(), "deepsafe-hostile-gw-")) },
    });
    for (const p of mesh.processes.values()) logs.attach(p);
    await mesh.waitReady(120_000);
    const url = new URL(mesh.gatewayUrl);
    token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("hostile").setIssuer("deepsafe").setAudience("deepsafe-api").setIssuedAt().setExpirationTime("10m").sign(new TextEncoder().encode(SECRET));
    target = { baseUrl: mesh.gatewayUrl, grpcAddress: `${url.hostname}:${url.port}`, headers: { authorization: `Bearer ${token}` } };
  } catch (err) {
    console.error("hostile.test.ts: start-up failed:", err);
    throw err;
  }
});

test.after(async () => {
  // A process that died mid-suite: show how (its last output) before stopping the rest.
  for (const p of mesh?.processes.values() ?? []) {
    if (p.child.exitCode !== null) console.log(`\n  ${p.name} exited ${p.child.exitCode}; its last output:\n${logs.text(p.name).slice(-4000)}`);
  }
  await mesh?.stop();
});

/** Run cases over their transports, a few at a time; returns the failures. */
async function runAll(cases: HostileCase[], parallel = 3): Promise<string[]> {
  const jobs = cases.flatMap((c) => (c.transports ?? TRANSPORTS).map((t) => ({ c, t })));
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { c, t } = jobs[next++]!;
      const seen = await runCase(t, c, target);
      const expected = t === "rest" ? (c.rest ?? c.expect) : c.expect;
      const problem = mismatch(t, expected, seen);
      if (problem) failures.push(`[${t}] ${c.kind} / ${c.name}: ${problem}`);
      else if (seen.verdict && c.fileName !== undefined && t !== "rest" && seen.verdict.fileName !== c.fileName) {
        failures.push(`[${t}] ${c.kind} / ${c.name}: file name came back as ${JSON.stringify(seen.verdict.fileName.slice(0, 60))}`);
      }
      count(c.kind, t);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return failures;
}

function assertAlive(): void {
  for (const p of mesh.processes.values()) assert.is(p.child.exitCode, null, `${p.name} exited (${p.child.exitCode ?? p.child.signalCode})`);
}

test("warm-up: one valid file per media type over each transport (memory measured after it)", async () => {
  const warm: HostileCase[] = [{ kind: "warm-up", name: "jpeg", bytes: await still("jpeg"), expect: { verdict: true, media: "image" } }];
  const failures = await runAll(warm);
  assert.equal(failures, []);
  tally.delete("warm-up");
  for (const p of mesh.processes.values()) memoryBefore.set(p.name, memoryOf(p.child.pid!));
});

test("images: truncated, corrupt, pixel bombs, zero bytes, wrong MIME, polyglots, file-name tricks", async () => {
  const failures = await runAll(await imageCases());
  assert.equal(failures, [], failures.join("\n"));
  assertAlive();
});

test("video: malformed MP4/MKV/WebM, no frames, hours long, crafted playlists", async () => {
  if (!served.has("video")) return console.log("  skipped: mesonet-video has no weights here");
  const failures = await runAll(videoCases());
  assert.equal(failures, [], failures.join("\n"));
  assertAlive();
});

test("video bombs: absurd frame rates and counts, huge frame sizes, a day-long still (each timed, detector RSS after it)", async () => {
  if (!served.has("video")) return console.log("  skipped: mesonet-video has no weights here");
  const detector = mesh.processes.get(DETECTORS.video)!;
  const before = memoryOf(detector.child.pid!);
  const failures: string[] = [];
  console.log(`\n  video bombs (one at a time)                                   transport  answer (s)  ${DETECTORS.video} RSS (MiB)`);
  for (const c of videoBombCases()) {
    for (const t of c.transports ?? TRANSPORTS) {
      const started = performance.now();
      const seen = await runCase(t, c, target);
      const seconds = (performance.now() - started) / 1000;
      const problem = mismatch(t, t === "rest" ? (c.rest ?? c.expect) : c.expect, seen);
      if (problem) failures.push(`[${t}] ${c.kind} / ${c.name}: ${problem}`);
      count(c.kind, t);
      const answer = seen.verdict ? "verdict" : t === "rest" ? String(seen.error?.http) : Code[seen.error!.code];
      console.log(`  ${c.name.slice(0, 60).padEnd(60)} ${t.padEnd(9)} ${seconds.toFixed(2).padStart(6)} ${answer.padEnd(16)} ${memoryOf(detector.child.pid!).rssMiB.toFixed(0).padStart(5)}`);
    }
  }
  // Decoding runs in ffmpeg (a child process); the detector only holds the N sampled frames, so its RSS
  // must not follow the frame count or the declared size. Generous: heap and glibc keep some.
  const after = memoryOf(detector.child.pid!);
  assert.ok(after.rssMiB - before.rssMiB < RSS_GROWTH_LIMIT_MIB, `${detector.name}: RSS grew by ${(after.rssMiB - before.rssMiB).toFixed(0)} MiB over the video bombs`);
  assert.equal(failures, [], failures.join("\n"));
  assertAlive();
});

test("audio: odd sample rates and channels, truncated, impossible headers, hours long", async () => {
  if (!served.has("audio")) return console.log("  skipped: lfcc-lcnn has no weights here");
  const failures = await runAll(audioCases());
  assert.equal(failures, [], failures.join("\n"));
  assertAlive();
});

test("Detect streams that break the protocol: no header, header twice, floods, bad header fields", async () => {
  const jpeg = await still("jpeg");
  const png = await still("png");
  const flood = Buffer.alloc(1024 * 1024, 0x42);
  const cases: { kind: string; name: string; msgs: Msg[]; code: Code; message: RegExp }[] = [
    { kind: "stream ends before the header", name: "no message at all", msgs: [], code: Code.InvalidArgument, message: /the first message must be a header/ },
    { kind: "stream ends before the header", name: "a chunk first", msgs: [{ chunk: jpeg }], code: Code.InvalidArgument, message: /the first message must be a header/ },
    { kind: "stream ends before the header", name: "header, then nothing", msgs: [{ header: {} }], code: Code.InvalidArgument, message: /no media bytes were sent/ },
    { kind: "malformed Detect stream", name: "header sent twice", msgs: [{ header: {} }, { header: {} }, { chunk: jpeg }], code: Code.InvalidArgument, message: /the header was sent twice/ },
    { kind: "malformed Detect stream", name: "unknown media_type 99", msgs: [{ header: { mediaType: 99 } }, { chunk: jpeg }], code: Code.InvalidArgument, message: /unknown media_type 99/ },
    { kind: "malformed Detect stream", name: "threshold 7", msgs: [{ header: { threshold: 7 } }, { chunk: jpeg }], code: Code.InvalidArgument, message: /threshold must be in \[0, 1\]/ },
    { kind: "malformed Detect stream", name: "unknown model", msgs: [{ header: { models: ["ghost"] } }, { chunk: jpeg }], code: Code.InvalidArgument, message: /unknown model "ghost"/ },
    { kind: "wrong MIME vs magic", name: "media_type VIDEO, PNG bytes", msgs: [{ header: { mediaType: MediaType.VIDEO } }, { chunk: png }], code: Code.InvalidArgument, message: /media_type is video, but the bytes are image\/png/ },
    { kind: "chunk flood past the size limit", name: "declared size over the limit", msgs: [{ header: { mediaType: MediaType.IMAGE, declaredSize: IMAGE_LIMIT + 1 } }, { chunk: jpeg }], code: Code.ResourceExhausted, message: /declared size of \d+ bytes exceeds the 4194304-byte limit/ },
    {
      kind: "chunk flood past the size limit",
      name: "declared 1 KiB, then 6 MiB of chunks",
      msgs: [{ header: { declaredSize: 1024 } }, { chunk: jpeg }, ...Array.from({ length: 6 }, () => ({ chunk: flood }))],
      code: Code.ResourceExhausted,
      message: /upload of \d+ bytes exceeds the 4194304-byte limit/,
    },
  ];
  const failures: string[] = [];
  for (const c of cases) {
    for (const t of RPC_TRANSPORTS) {
      const seen: Observed = await sendMessages(t, target, c.msgs);
      const problem = mismatch(t, { verdict: false, code: c.code, http: 0, httpCode: "", message: c.message }, seen);
      if (problem) failures.push(`[${t}] ${c.kind} / ${c.name}: ${problem}`);
      count(c.kind, t);
    }
  }
  assert.equal(failures, [], failures.join("\n"));
  assertAlive();
});

test("malformed protobuf and framing on the wire (raw HTTP/2 with gRPC, gRPC-Web and Connect framing; gRPC-Web also HTTP/1.1)", async () => {
  const notProtobuf = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x99]);
  // field 1 (header), length 3, then field 4 (file_name) with invalid UTF-8
  const badUtf8 = Buffer.from([0x0a, 0x04, 0x22, 0x02, 0xc3, 0x28]);
  const cases: { name: string; body: Buffer; code: RegExp; message: RegExp }[] = [
    { name: "bytes that are not protobuf", body: frame(notProtobuf), code: /^INVALID_ARGUMENT$/, message: /malformed request message: parse binary: illegal tag/ },
    { name: "invalid UTF-8 in file_name", body: frame(badUtf8), code: /^INVALID_ARGUMENT$/, message: /malformed request message: .*not valid for encoding utf-8/ },
    { name: "message length 5 MiB (over the 4 MiB message limit)", body: frame(Buffer.alloc(16), { declaredLength: 5 * 1024 * 1024 }), code: /^RESOURCE_EXHAUSTED$/, message: /message size|larger than|exceeds/i },
    { name: "stream ends inside a message", body: frame(Buffer.alloc(10), { declaredLength: 100 }), code: /^INVALID_ARGUMENT$/, message: /premature|incomplete|EOF|end/i },
    { name: "compressed flag without an encoding", body: frame(Buffer.from([0x0a, 0x00]), { compressed: true }), code: /^(INTERNAL|INVALID_ARGUMENT)$/, message: /compress|encoding/i },
  ];
  const failures: string[] = [];
  for (const c of cases) {
    for (const protocol of RPC_TRANSPORTS) {
      const call = { protocol, method: "deepsafe.v1.DeepSafeService/Detect", body: c.body };
      // gRPC-Web twice: over HTTP/2, and over HTTP/1.1 as a browser sends it.
      const runs: [string, () => Promise<RawReply>][] = [["", () => rawCall(mesh.gatewayUrl, call)]];
      if (protocol === "grpc-web") runs.push([" HTTP/1.1", () => rawCallHttp1(mesh.gatewayUrl, call)]);
      for (const [via, send] of runs) {
        const r = await send();
        if (!c.code.test(r.code) || !c.message.test(r.message)) failures.push(`[${protocol}${via}] ${c.name}: got ${r.code} ${JSON.stringify(r.message)} (HTTP ${r.httpStatus})`);
        count("malformed protobuf / framing", protocol);
      }
    }
  }
  assert.equal(failures, [], failures.join("\n"));
  assertAlive();
});

test("gRPC-Web as a browser sends it (HTTP/1.1) and unary calls with broken framing (gRPC, gRPC-Web, Connect)", async () => {
  const jpeg = await still("jpeg");
  const empty = Buffer.alloc(0);
  // DetectRequest { header { include_random_weights: true } } and { chunk: <jpeg> }, by hand: a whole
  // client stream in one HTTP/1.1 body (a browser can send that much of a client stream).
  const detectBody = Buffer.concat([frame(Buffer.from([0x0a, 0x02, 0x48, 0x01])), frame(Buffer.concat([Buffer.from([0x12]), varint(jpeg.length), jpeg]))]);
  // body: the bytes as sent; payload: one message, enveloped (gRPC, gRPC-Web) or bare (Connect unary).
  const cases: { name: string; method: string; body?: Buffer; payload?: Buffer; protocols: RpcTransport[]; contentType?: string; http1Only?: boolean; code: string; message: RegExp }[] = [
    { name: "Detect, header and a JPEG in one body", method: "DeepSafeService/Detect", body: detectBody, protocols: ["grpc-web"], http1Only: true, code: "OK", message: /^$/ },
    { name: "ListModels, empty request (control)", method: "DeepSafeService/ListModels", payload: empty, protocols: ["connect", "grpc", "grpc-web"], code: "OK", message: /^$/ },
    { name: "Login, empty username and password", method: "AccountService/Login", payload: empty, protocols: ["connect", "grpc", "grpc-web"], code: "INVALID_ARGUMENT", message: /username: Too small/ },
    { name: "GetHealth, message length 5 MiB", method: "DeepSafeService/GetHealth", body: frame(Buffer.alloc(16), { declaredLength: 5 * 1024 * 1024 }), protocols: ["grpc", "grpc-web"], code: "RESOURCE_EXHAUSTED", message: /message size 5242880 is larger than configured readMaxBytes 4194304/ },
    { name: "ListModels, body ends inside the envelope", method: "DeepSafeService/ListModels", body: frame(Buffer.alloc(10), { declaredLength: 100 }), protocols: ["grpc", "grpc-web"], code: "INVALID_ARGUMENT", message: /incomplete envelope/ },
    { name: "GetHealth, two messages for a unary method", method: "DeepSafeService/GetHealth", body: Buffer.concat([frame(empty), frame(empty)]), protocols: ["grpc", "grpc-web"], code: "UNIMPLEMENTED", message: /extra input message for unary method/ },
    { name: "Login, compressed flag without an encoding", method: "AccountService/Login", body: frame(Buffer.from([0x0a, 0x01, 0x61]), { compressed: true }), protocols: ["grpc", "grpc-web"], code: "INTERNAL", message: /compressed envelope, but do not know how to decompress/ },
    { name: "application/grpc-web-text (base64; not spoken)", method: "DeepSafeService/ListModels", body: Buffer.from(frame(empty).toString("base64")), protocols: ["grpc-web"], contentType: "application/grpc-web-text", http1Only: true, code: "HTTP 415", message: /^$/ },
  ];
  const failures: string[] = [];
  for (const c of cases) {
    for (const protocol of c.protocols) {
      const body = c.body ?? (protocol === "connect" ? c.payload! : frame(c.payload!));
      const call = { protocol, method: `deepsafe.v1.${c.method}`, body, unary: c.method !== "DeepSafeService/Detect", contentType: c.contentType };
      const runs: [string, () => Promise<RawReply>][] = [];
      if (!c.http1Only) runs.push(["", () => rawCall(mesh.gatewayUrl, call)]);
      if (protocol === "grpc-web") runs.push([" HTTP/1.1", () => rawCallHttp1(mesh.gatewayUrl, call)]);
      for (const [via, send] of runs) {
        const r = await send();
        if (r.code !== c.code || !c.message.test(r.message)) failures.push(`[${protocol}${via}] ${c.name}: got ${r.code} ${JSON.stringify(r.message)} (HTTP ${r.httpStatus})`);
        count("gRPC-Web HTTP/1.1, unary framing", protocol);
      }
    }
  }
  assert.equal(failures, [], failures.join("\n"));
  assertAlive();
});

/** Protobuf base-128 varint. */
function varint(n: number): Buffer {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Buffer.from(out);
}

test("REST bodies that break the form: no boundary, cut multipart, no file, two files, bad JSON, bad base64", async () => {
  const jpeg = await still("jpeg");
  const m = multipart(jpeg, { fileName: "cut.jpg" });
  const two = multipart(jpeg, { fileName: "a.jpg" });
  const noFile = multipart(undefined, { fields: { threshold: "0.5" } });
  const secondFile = Buffer.from(`--${two.boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.jpg"\r\n\r\nxx\r\n`);
  const post = (body: Buffer | string, type: string) => call(mesh.gatewayUrl, "/detect", { method: "POST", headers: { "content-type": type }, body: typeof body === "string" ? body : new Uint8Array(body) });
  const cases: [string, () => Promise<{ status: number; body: { code?: string } }>, number, string][] = [
    ["multipart without a boundary", () => post(m.body, "multipart/form-data"), 400, "bad_request"],
    ["multipart cut before the closing boundary", () => post(Buffer.concat([m.head, jpeg.subarray(0, 500)]), m.contentType), 400, "bad_request"],
    ["multipart with no file part", () => post(noFile.body, noFile.contentType), 422, "validation_error"],
    ["two file parts", () => post(Buffer.concat([two.head, jpeg, Buffer.from("\r\n"), secondFile, Buffer.from(`--${two.boundary}--\r\n`)]), two.contentType), 422, "validation_error"],
    ["text/plain body", () => post("hello", "text/plain"), 415, "unsupported_media_type"],
    ["/predict malformed JSON", () => call(mesh.gatewayUrl, "/predict", { method: "POST", headers: { "content-type": "application/json" }, body: '{"media_type": "image", "image_data": ' }), 422, "validation_error"],
    ["/predict image_data not base64", () => postJson(mesh.gatewayUrl, "/predict", { media_type: "image", image_data: "@@not base64@@" }), 400, "invalid_base64"],
    ["/predict media_type video with JPEG bytes", () => postJson(mesh.gatewayUrl, "/predict", { media_type: "video", video_data: jpeg.toString("base64") }), 422, "validation_error"],
  ];
  const failures: string[] = [];
  for (const [name, send, status, code] of cases) {
    const r = await send();
    if (r.status !== status || r.body?.code !== code) failures.push(`${name}: expected ${status} ${code}, got ${r.status} ${JSON.stringify(r.body)}`);
    count("malformed REST body", "rest");
  }
  assert.equal(failures, [], failures.join("\n"));
  assertAlive();
});

test("slow-loris uploads: a stalled one is ended with a typed error; a slow but steady one succeeds", async () => {
  const jpeg = await still("jpeg");
  const m = multipart(jpeg, { fileName: "slow.jpg" });
  // REST stalls at each point of the body, all at once (each waits out the idle limit): before the body
  // starts, after a form field, after the file part's headers, a few bytes into the file.
  const rawHead = (type: string) => `POST /detect HTTP/1.1\r\nHost: hostile\r\nContent-Type: ${type}\r\nTransfer-Encoding: chunked\r\n\r\n`;
  const chunk = (b: string | Buffer) => Buffer.concat([Buffer.from(`${Buffer.byteLength(b).toString(16)}\r\n`), Buffer.from(b), Buffer.from("\r\n")]);
  const field = multipart(undefined, { fields: { threshold: "0.5" } });
  const fieldOnly = field.head.toString().replace(field.boundary, m.boundary);
  const fileHeaders = m.head.toString();
  const restStalls: [string, Buffer][] = [
    ["request headers sent, the body never starts", Buffer.from(rawHead(m.contentType))],
    ["a form field sent, then nothing", Buffer.concat([Buffer.from(rawHead(m.contentType)), chunk(fieldOnly)])],
    ["the file part's headers sent, no file byte", Buffer.concat([Buffer.from(rawHead(m.contentType)), chunk(fileHeaders)])],
    ["a few bytes into the file, then nothing", Buffer.concat([Buffer.from(rawHead(m.contentType)), chunk(fileHeaders), chunk(jpeg.subarray(0, 100))])],
  ];
  const restResults = restStalls.map(async ([name, sent]) => {
    const r = await stalledHttp1(sent);
    const problem = r.status !== 408 || r.code !== "request_timeout" || !/no upload data for 3 s/.test(r.detail) ? `${r.status} ${r.text.slice(0, 200)}` : "";
    count("slow-loris upload", "rest");
    return problem ? `[rest] ${name}: ${problem}` : "";
  });
  // Connect, gRPC and gRPC-Web: header and one chunk, then silence.
  const rpcResults = RPC_TRANSPORTS.map(async (t) => {
    const seen = await stalledStream(t, jpeg.subarray(0, 100));
    const problem = mismatch(t, { verdict: false, code: Code.DeadlineExceeded, http: 0, httpCode: "", message: /no upload data for 3 s/ }, seen);
    count("slow-loris upload", t);
    return problem ? `[${t}] stalled upload: ${problem}` : "";
  });

  // Slow but steady: 16 pieces, one every 500 ms (8 s in all, longer than the idle limit): a verdict.
  const steady = streamedPost(mesh.gatewayUrl, "/detect", { "content-type": m.contentType, "transfer-encoding": "chunked" });
  await steady.write(m.head);
  const piece = Math.ceil(jpeg.length / 16);
  for (let off = 0; off < jpeg.length; off += piece) {
    await steady.write(jpeg.subarray(off, off + piece));
    await new Promise((res) => setTimeout(res, 500));
  }
  await steady.write(m.tail);
  steady.end();
  const ok = await steady.reply;
  const failures = (await Promise.all([...restResults, ...rpcResults])).filter(Boolean);
  if (ok.status !== 200) failures.push(`[rest] slow but steady upload: ${ok.status} ${ok.text}`);
  count("slow-loris upload", "rest");
  assert.equal(failures, [], failures.join("\n"));
  assertAlive();
});

/** Send these bytes of an HTTP/1.1 request on a fresh connection, then nothing; the answer the gateway gives. */
function stalledHttp1(sent: Buffer): Promise<{ status: number; code?: string; detail: string; text: string }> {
  return new Promise((resolve) => {
    const url = new URL(mesh.gatewayUrl);
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(sent));
    const parts: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), IDLE_MS + 10_000);
    const done = () => {
      clearTimeout(timer);
      const text = Buffer.concat(parts).toString("utf8");
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
      // The JSON body (possibly chunk-encoded): from the first "{" to the last "}".
      let body: { code?: string; detail?: unknown } = {};
      try {
        body = JSON.parse(text.slice(text.indexOf("{"), text.lastIndexOf("}") + 1));
      } catch {
        body = {};
      }
      resolve({ status, code: body.code, detail: typeof body.detail === "string" ? body.detail : "", text: text || "no answer" });
    };
    socket.on("data", (d: Buffer) => {
      parts.push(d);
      // The whole answer is in once the JSON body closed (the server keeps the socket open for the body it still expects).
      if (/\}\s*(\r\n0\r\n\r\n)?$/.test(Buffer.concat(parts).toString("utf8"))) socket.destroy();
    });
    socket.on("error", () => {});
    socket.on("close", done);
  });
}

/** Header and a first chunk, then the stream stays open and silent until the gateway ends it. */
async function stalledStream(t: RpcTransport, first: Buffer): Promise<Observed> {
  let release!: () => void;
  const silence = new Promise<void>((r) => (release = r));
  const timer = setTimeout(release, IDLE_MS + 10_000);
  try {
    if (t !== "grpc") {
      async function* stream() {
        yield { payload: { case: "header" as const, value: {} } };
        yield { payload: { case: "chunk" as const, value: first } };
        await silence;
      }
      try {
        await connectClient(target.baseUrl, t).detect(stream());
        return { verdict: { media: "unknown", fileName: "", models: 0, modelErrors: [] } };
      } catch (err) {
        const e = ConnectError.from(err);
        return { error: { code: e.code, message: e.rawMessage } };
      }
    }
    const client = new DeepSafeServiceClient(target.grpcAddress, grpc.credentials.createInsecure());
    return await new Promise<Observed>((resolve) => {
      const c = client.detect((err) => {
        client.close();
        resolve(err ? { error: { code: err.code as number as Code, message: err.details } } : { verdict: { media: "unknown", fileName: "", models: 0, modelErrors: [] } });
      });
      c.on("error", () => {});
      c.write({ payload: { $case: "header", value: { requestId: "", mediaType: 0, mimeType: "", fileName: "", declaredSize: 0, ensembleMethod: 0, models: [], includeRandomWeights: true } } });
      c.write({ payload: { $case: "chunk", value: first } });
      void silence.then(() => c.end());
    });
  } finally {
    clearTimeout(timer);
    release();
  }
}

test("afterwards: every process alive, RSS growth bounded, no secret or media bytes in any log; the table", async () => {
  assertAlive();
  // The mesh still answers: a valid image over every transport.
  assert.equal(await runAll([{ kind: "after the suite (control)", name: "png", bytes: await still("png"), expect: { verdict: true, media: "image" } }]), []);

  console.log("\n  memory (MiB)         RSS before → after   high-water mark");
  for (const p of mesh.processes.values()) {
    const before = memoryBefore.get(p.name)!;
    const after = memoryOf(p.child.pid!);
    console.log(`  ${p.name.padEnd(20)} ${before.rssMiB.toFixed(0).padStart(6)} → ${after.rssMiB.toFixed(0).padEnd(8)}   ${after.hwmMiB.toFixed(0)}`);
    assert.ok(after.rssMiB - before.rssMiB < RSS_GROWTH_LIMIT_MIB, `${p.name}: RSS grew by ${(after.rssMiB - before.rssMiB).toFixed(0)} MiB`);
  }

  const jpeg = await still("jpeg");
  const secrets = { "JWT secret": SECRET, "bearer token": token, "token signature": token.split(".")[2]!, ...mediaPatterns("test JPEG", jpeg) };
  assert.equal(logs.leaks(secrets), [], "found in the mesh's output");
  assert.ok(logs.text("gateway").length > 0, "the gateway's output was captured");

  console.log(`\n  ${"case kind".padEnd(36)} ${TRANSPORTS.map((t) => t.padStart(8)).join(" ")}    total`);
  const totals: Record<Transport | "total", number> = { connect: 0, grpc: 0, "grpc-web": 0, rest: 0, total: 0 };
  for (const [kind, row] of [...tally.entries()].sort()) {
    console.log(`  ${kind.padEnd(36)} ${TRANSPORTS.map((t) => String(row[t]).padStart(8)).join(" ")} ${String(row.total).padStart(8)}`);
    for (const t of [...TRANSPORTS, "total"] as const) totals[t] += row[t];
  }
  console.log(`  ${"all".padEnd(36)} ${TRANSPORTS.map((t) => String(totals[t]).padStart(8)).join(" ")} ${String(totals.total).padStart(8)}`);
  const total = totals.total;
  assert.ok(total >= 200, `only ${total} cases ran`);
});

test.run();
