// Official-weight pull, offline: a local HTTP server (with Range support) stands in for the public
// hosts, serving the shared weights folder; digests are checked, downloads resume, bad files are refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { promisify } from "node:util";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChecksumError, fetchWeights, readWeightsList, verifyWeights } from "@deepsafe/sdk";
import { repoRoot } from "../local/mesh.js";

const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
const haveWeights = mirror !== undefined && existsSync(join(mirror, "aasist", "AASIST-L.pth"));
let server: Server;
let baseUrl = "";
const ranges: string[] = [];
/** Paths whose bytes the server corrupts, to exercise the checksum refusal. */
const corrupt = new Set<string>();

test.before(async () => {
  if (!haveWeights) return;
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, "http://x").pathname.slice(1));
    const file = join(mirror!, path);
    if (path.includes("..") || !existsSync(file)) return void res.writeHead(404).end();
    let body = readFileSync(file);
    if (corrupt.has(path)) body = Buffer.concat([body.subarray(0, 100), Buffer.from([body[100]! ^ 0xff]), body.subarray(101)]);
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range) {
      ranges.push(req.headers.range!);
      const start = Number(range[1]);
      return void res.writeHead(206, { "content-range": `bytes ${start}-${body.length - 1}/${body.length}` }).end(body.subarray(start));
    }
    res.writeHead(200, { "content-length": body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

test.after(() => {
  server?.close();
});

const aasistList = () => readWeightsList(join(repoRoot, "services/aasist"));

test("downloads verify against the pinned sha256, and resume from a partial file", async () => {
  if (!haveWeights) return console.log("skipped: no weights mirror");
  const list = (await aasistList()).filter((w) => w.path === "aasist/AASIST-L.pth");
  const cache = mkdtempSync(join(tmpdir(), "deepsafe-cache-"));
  const original = readFileSync(join(mirror!, "aasist/AASIST-L.pth"));
  const part = join(cache, "aasist/AASIST-L.pth.part");
  mkdirSync(join(cache, "aasist"), { recursive: true });
  writeFileSync(part, original.subarray(0, 100_000));
  const folder = await fetchWeights(list, { baseUrl, cache });
  assert.is(folder, cache);
  assert.equal(readFileSync(join(cache, "aasist/AASIST-L.pth")), original);
  assert.equal(ranges, ["bytes=100000-"]);
  await verifyWeights(join(cache, "aasist/AASIST-L.pth"), list[0]!);
});

test("a file that does not match its pin is refused and not kept", async () => {
  if (!haveWeights) return console.log("skipped: no weights mirror");
  const list = (await aasistList()).filter((w) => w.path === "aasist/AASIST.pth");
  const cache = mkdtempSync(join(tmpdir(), "deepsafe-cache-"));
  corrupt.add("aasist/AASIST.pth");
  try {
    await fetchWeights(list, { baseUrl, cache });
    assert.unreachable("a corrupted download must be refused");
  } catch (err) {
    assert.instance(err, ChecksumError);
    assert.match((err as Error).message, /does not match the pinned 51d2d9cf/);
  } finally {
    corrupt.delete("aasist/AASIST.pth");
  }
  assert.not.ok(existsSync(join(cache, "aasist/AASIST.pth")));
  assert.not.ok(existsSync(join(cache, "aasist/AASIST.pth.part")));
});

test("`npm run models -- pull aasist` downloads and converts with no mirror configured", async () => {
  if (!haveWeights) return console.log("skipped: no weights mirror");
  const cache = mkdtempSync(join(tmpdir(), "deepsafe-cache-"));
  const models = mkdtempSync(join(tmpdir(), "deepsafe-models-"));
  const { DEEPSAFE_WEIGHTS_MIRROR: _, ...env } = process.env;
  // Asynchronous: this process also runs the HTTP server the child downloads from.
  const run = await promisify(execFile)(process.execPath, ["--import", "tsx", "deploy/local/models.ts", "pull", "aasist"], {
    cwd: repoRoot,
    env: { ...env, DEEPSAFE_WEIGHTS_BASE_URL: baseUrl, DEEPSAFE_WEIGHTS_CACHE: cache, DEEPSAFE_MODELS_DIR: models },
    encoding: "utf8",
  }).catch((err: { stdout: string; stderr: string }) => {
    throw new Error(`pull failed:\n${err.stdout}${err.stderr}`);
  });
  assert.match(run.stdout, /ready: aasist/);
  const provenance = JSON.parse(readFileSync(join(models, "aasist/provenance.json"), "utf8")) as { kind: string; checkpointSha256: string };
  assert.is(provenance.kind, "official");
  assert.is(provenance.checkpointSha256, "51d2d9cf0738172f61e2a384ec50a54a55363240f67c971ed55a92435bc1a1c0");
});

test.run();
