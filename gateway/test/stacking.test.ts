// Stacking in the gateway: a real meta-learner (scikit-learn pipeline trained by tools/retrain in its
// Python venv, exported to ONNX) served by a running gateway over loopback, in front of two fake
// detectors with fixed answers. Covers: fallback with nothing deployed, hot reload on deploy, the
// graph's answer used as ensemble_score, a failed detector imputed, column mismatches (set and
// version) falling back to average, a tampered artifact refused, and health (Connect and REST).
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { create } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { DeepSafeService, DetectRequestSchema, EnsembleMethod, StackingState, Verdict, type DetectHeader, type DetectRequest } from "@deepsafe/proto/es/gateway";
import { MediaType, Prediction, WeightsKind } from "@deepsafe/proto/es/common";
import { fuse } from "../src/fusion.js";
import { parseRegistry } from "../src/registry.js";
import { startGateway, type Gateway } from "../src/server.js";
import { ArtifactError, MANIFEST_FILE, type Manifest, deployArtifact, mediaDir } from "../src/stacking/artifact.js";
import { featureMismatch } from "../src/stacking/ensembles.js";
import { newArtifactId, publish, stagingDir, writeManifest } from "../../tools/retrain/publish.js";
import { type TrainResult, train } from "../../tools/retrain/train.js";
import { ensureVenv, run } from "../../tools/retrain/venv.js";
import { startFakeDetector, type FakeDetector } from "./fake-detector.js";
import { until } from "./until.js";

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(4096, 7)]);
const COLUMNS = [
  { model: "fa", version: "0.0.1", weightsKind: "OFFICIAL", checkpointSha256: "", onnxSha256: "" },
  { model: "fb", version: "0.0.1", weightsKind: "OFFICIAL", checkpointSha256: "", onnxSha256: "" },
];

let root: string;
let fakes: Record<string, FakeDetector>;
let gw: Gateway;
let client: Client<typeof DeepSafeService>;
let trained: { dir: string; manifest: Manifest; result: TrainResult; rows: Array<Array<number | null>> };

async function* upload(header: Partial<DetectHeader>): AsyncGenerator<DetectRequest> {
  yield create(DetectRequestSchema, { payload: { case: "header", value: header as DetectHeader } });
  yield create(DetectRequestSchema, { payload: { case: "chunk", value: JPEG } });
}

const imageHealth = async () => (await client.getHealth({})).mediaTypes.find((m) => m.mediaType === MediaType.IMAGE)!.stacking!;

/** Train a meta-learner on a synthetic two-column matrix that contains the rows the tests send. */
async function trainArtifact(): Promise<typeof trained> {
  const python = await ensureVenv();
  // fa is informative, fb is noise; the rows (0.9, 0.2) and (0.9, missing) are what the fakes answer.
  const rows: Array<Array<number | null>> = [];
  const y: Array<0 | 1> = [];
  for (let i = 0; i < 40; i++) {
    const label = (i % 2) as 0 | 1;
    rows.push([Number((0.15 + 0.6 * label + ((i * 37) % 11) / 50).toFixed(3)), Number((((i * 53) % 17) / 17).toFixed(3))]);
    y.push(label);
  }
  rows[0] = [0.9, 0.2];
  y[0] = 1;
  rows[2] = [0.9, null];
  y[2] = 1;
  const id = newArtifactId();
  const staging = stagingDir(root, "image", id);
  const result = await train(
    python,
    { X: rows, y, seed: 0, test_fraction: 0.25, folds: 3, optimizer: "grid", trials: 1, onnxPath: join(staging, "model.onnx") },
    staging,
    false,
  );
  const manifest = writeManifest({ id, media: "image", staging, result, columns: COLUMNS, rows: rows.map((values, i) => ({ values, label: y[i]! })), dataset: { sha256: "0".repeat(64), path: "synthetic" }, metrics: {} });
  return { dir: publish(staging, root, "image", id, false), manifest, result, rows };
}

test.before(async () => {
  root = mkdtempSync(join(tmpdir(), "deepsafe-stacking-"));
  trained = await trainArtifact();
  fakes = {
    fa: await startFakeDetector("fa", { probability: 0.9 }),
    fb: await startFakeDetector("fb", { probability: 0.2 }),
  };
  const registry = parseRegistry({
    gateway: { port: 0, host: "127.0.0.1", health_interval_ms: 100 },
    media: { image: { ensemble: "stacking" } },
    stacking: { dir: root, reload_interval_ms: 300 },
    detectors: [
      { name: "fa", package: "test", media_type: "image", address: fakes.fa!.address },
      { name: "fb", package: "test", media_type: "image", address: fakes.fb!.address },
    ],
  });
  gw = await startGateway({ registry, log: () => {}, mongodbUri: null });
  client = createClient(DeepSafeService, createConnectTransport({ baseUrl: gw.url, httpVersion: "2" }));
  await until(() => client.listModels({}), (l) => l.models.every((m) => m.info?.version === "0.0.1"));
});

test.after(async () => {
  await gw?.close();
  for (const f of Object.values(fakes ?? {})) await f.stop();
  rmSync(root, { recursive: true, force: true });
});

test("nothing deployed: stacking falls back to average and health says so", async () => {
  const h = await imageHealth();
  assert.is(h.state, StackingState.NOT_DEPLOYED);
  const res = await client.detect(upload({ mediaType: MediaType.IMAGE, ensembleMethod: EnsembleMethod.STACKING }));
  assert.is(res.ensembleMethodUsed, EnsembleMethod.AVERAGE);
  assert.ok(Math.abs(res.ensembleScore! - 0.55) < 1e-12);
  assert.match(res.note, /stacking is not available: no meta-learner is deployed for image; fell back to average/);
});

test("deploy: the running gateway reloads and serves the graph's P(fake) as ensemble_score", async () => {
  deployArtifact(root, "image", trained.dir);
  const h = await until(imageHealth, (s) => s.state === StackingState.READY);
  assert.is(h.artifactId, trained.manifest.id);
  assert.equal(h.featureColumns, ["fa@0.0.1", "fb@0.0.1"]);
  assert.is(h.classifier, trained.result.winner);
  // Requested explicitly, and as the media type's default (registry: image ensemble stacking).
  for (const ensembleMethod of [EnsembleMethod.STACKING, EnsembleMethod.UNSPECIFIED]) {
    const res = await client.detect(upload({ mediaType: MediaType.IMAGE, ensembleMethod }));
    assert.is(res.ensembleMethodUsed, EnsembleMethod.STACKING);
    // Row 0 of the training matrix is exactly (0.9, 0.2): Python's onnxruntime gave this P(fake).
    assert.ok(Math.abs(res.ensembleScore! - trained.result.onnx.proba[0]!) < 1e-6, `${res.ensembleScore} vs ${trained.result.onnx.proba[0]}`);
    assert.is(res.verdict, res.ensembleScore! > 0.5 ? Verdict.FAKE : Verdict.REAL);
    assert.match(res.note, new RegExp(`stacking: ${trained.result.winner} meta-learner ${trained.manifest.id}`));
    assert.ok(res.modelResults.every((m) => m.usedInVerdict));
  }
  const rest = (await (await fetch(`${gw.url}/health`)).json()) as { media_type_details: Record<string, { stacking_ensemble_loaded: boolean }> };
  assert.is(rest.media_type_details.image!.stacking_ensemble_loaded, true);
});

test("a failed detector is imputed by the pipeline, and the note says so", async () => {
  fakes.fb!.behavior.error = { code: grpc.status.INTERNAL, message: "boom" };
  try {
    const res = await client.detect(upload({ mediaType: MediaType.IMAGE, ensembleMethod: EnsembleMethod.STACKING }));
    assert.is(res.ensembleMethodUsed, EnsembleMethod.STACKING);
    assert.ok(Math.abs(res.ensembleScore! - trained.result.onnx.proba[2]!) < 1e-6, `${res.ensembleScore} vs ${trained.result.onnx.proba[2]} (row (0.9, NaN))`);
    assert.match(res.note, /no score from fb \(failed: INTERNAL\): imputed with its training median/);
    assert.equal(res.modelResults.map((m) => m.usedInVerdict), [true, false]);
  } finally {
    delete fakes.fb!.behavior.error;
  }
});

test("other detectors than the columns: falls back to average, never guesses", async () => {
  const res = await client.detect(upload({ mediaType: MediaType.IMAGE, ensembleMethod: EnsembleMethod.STACKING, models: ["fa"] }));
  assert.is(res.ensembleMethodUsed, EnsembleMethod.AVERAGE);
  assert.is(res.ensembleScore, 0.9);
  assert.match(res.note, /does not match this request's detectors \(trained with fb, which is not among the detectors called\); fell back to average/);
});

test("a column trained on another detector version: health MISMATCH and fallback, after a hot reload", async () => {
  const id = `${trained.manifest.id}-v2`;
  const dir = join(mediaDir(root, "image"), id);
  cpSync(trained.dir, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), "utf8")) as Manifest;
  manifest.id = id;
  manifest.features[1]!.version = "0.0.2";
  writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(manifest));
  deployArtifact(root, "image", dir);
  const h = await until(imageHealth, (s) => s.artifactId === id);
  assert.is(h.state, StackingState.MISMATCH);
  assert.match(h.detail, /fb runs version 0\.0\.1, the meta-learner was trained on 0\.0\.2/);
  const res = await client.detect(upload({ mediaType: MediaType.IMAGE, ensembleMethod: EnsembleMethod.STACKING }));
  assert.is(res.ensembleMethodUsed, EnsembleMethod.AVERAGE);
  assert.match(res.note, /fb runs version 0\.0\.1/);
  const rest = (await (await fetch(`${gw.url}/health`)).json()) as { media_type_details: Record<string, { stacking_ensemble_loaded: boolean }> };
  assert.is(rest.media_type_details.image!.stacking_ensemble_loaded, false);
});

test("a tampered graph is refused: deployArtifact throws; a pointer swapped by hand gives ERROR and average", async () => {
  const id = `${trained.manifest.id}-tampered`;
  const dir = join(mediaDir(root, "image"), id);
  cpSync(trained.dir, dir, { recursive: true });
  const onnx = readFileSync(join(dir, "model.onnx"));
  onnx.writeUInt8(onnx.readUInt8(onnx.length - 1) ^ 0xff, onnx.length - 1);
  writeFileSync(join(dir, "model.onnx"), onnx);
  assert.throws(() => deployArtifact(root, "image", dir), (e: unknown) => e instanceof ArtifactError && /sha256/.test((e as Error).message));
  // Bypassing the check (as a careless copy would): the gateway refuses to serve it.
  const link = join(mediaDir(root, "image"), "current");
  rmSync(link);
  symlinkSync(id, link);
  const h = await until(imageHealth, (s) => s.state === StackingState.ERROR);
  assert.match(h.detail, /sha256/);
  const res = await client.detect(upload({ mediaType: MediaType.IMAGE, ensembleMethod: EnsembleMethod.STACKING }));
  assert.is(res.ensembleMethodUsed, EnsembleMethod.AVERAGE);
  assert.match(res.note, /stacking is not available: .*sha256/);
  // Back to the good one.
  deployArtifact(root, "image", trained.dir);
  await until(imageHealth, (s) => s.state === StackingState.READY && s.artifactId === trained.manifest.id);
});

test("fuse with a stacking outcome: its score and used flags; none usable is UNDETERMINED; unavailable falls back", () => {
  const answer = (p: number) => ({ prediction: { probabilityFake: p, prediction: p >= 0.5 ? Prediction.FAKE : Prediction.REAL, weightsKind: WeightsKind.OFFICIAL } });
  const opts = { method: EnsembleMethod.STACKING, threshold: 0.5, includeRandomWeights: false };
  const served = fuse([answer(0.9), { errorCode: "INTERNAL" }], { ...opts, stacking: { score: 0.3, used: [true, false], note: "stacking: x" } });
  assert.equal([served.methodUsed, served.score, served.verdict, served.used, served.totalVotes], [EnsembleMethod.STACKING, 0.3, Verdict.REAL, [true, false], 1]);
  assert.ok(Math.abs(served.confidence - 0.7) < 1e-12);
  const none = fuse([{ errorCode: "INTERNAL" }, { errorCode: "UNAVAILABLE" }], { ...opts, stacking: { score: Number.NaN, used: [false, false], note: "" } });
  assert.equal([none.methodUsed, none.score, none.verdict], [EnsembleMethod.STACKING, undefined, Verdict.UNDETERMINED]);
  assert.match(none.note, /every detector failed/);
  const fallback = fuse([answer(0.9), answer(0.2)], { ...opts, stacking: { unavailable: "because" } });
  assert.equal([fallback.methodUsed, fallback.score], [EnsembleMethod.AVERAGE, 0.55]);
  assert.match(fallback.note, /stacking is not available: because; fell back to average/);
});

test("each of the 8 classifiers, calibrated and exported, runs in onnxruntime-node as in Python", async () => {
  const python = await ensureVenv();
  const dir = mkdtempSync(join(tmpdir(), "deepsafe-export-"));
  try {
    // Detector-like columns: saturated near 1, ties, and missing values (imputed inside the graph).
    const X: Array<Array<number | null>> = [];
    const y: Array<0 | 1> = [];
    for (let i = 0; i < 48; i++) {
      const label = (i % 2) as 0 | 1;
      const a = label ? 1 - ((i * 7) % 13) * 1e-7 : 0.9 + ((i * 5) % 9) / 100;
      const b = Number((((i * 29) % 23) / 23).toFixed(2));
      const c = i % 7 === 0 ? null : Number((0.3 + 0.4 * label + ((i * 11) % 5) / 20).toFixed(3));
      X.push([a, b, c]);
      y.push(label);
    }
    writeFileSync(join(dir, "request.json"), JSON.stringify({ X, y }));
    await run(python, [fileURLToPath(new URL("../../tools/retrain/python/check_export.py", import.meta.url)), join(dir, "request.json"), dir]);
    const results = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as Record<string, { output: string; parity: number; proba: number[] }>;
    assert.equal(Object.keys(results).sort(), ["gradient_boosting", "knn", "lightgbm", "logistic_regression", "naive_bayes", "random_forest", "svm", "xgboost"]);
    const rows = new Float32Array(X.flat().map((v) => v ?? Number.NaN));
    for (const [name, r] of Object.entries(results)) {
      assert.ok(r.parity <= 2e-2, `${name}: ONNX vs scikit-learn ${r.parity}`);
      const session = await ort.InferenceSession.create(join(dir, `${name}.onnx`));
      const out = await session.run({ features: new ort.Tensor("float32", rows, [X.length, 3]) }, [r.output]);
      const p = out[r.output]!.data as Float32Array;
      const worst = Math.max(...r.proba.map((q, i) => Math.abs(p[2 * i + 1]! - q)));
      assert.ok(worst < 1e-6, `${name}: onnxruntime-node vs Python onnxruntime ${worst}`);
      assert.ok(r.proba.every((q) => q >= 0 && q <= 1), name);
      await session.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("featureMismatch: names missing and extra, weights kind and checkpoint", () => {
  const info = (version: string, kind: number, checkpointSha256 = "") => ({ version, weights: { kind, checkpointSha256, onnxSha256: "" } }) as never;
  assert.is(featureMismatch(COLUMNS, [{ name: "fa", info: info("0.0.1", 1) }, { name: "fb", info: info("0.0.1", 1) }]), undefined);
  assert.match(featureMismatch(COLUMNS, [{ name: "fa", info: info("0.0.1", 1) }, { name: "fc" }])!, /trained with fb.*fc is called but not a feature/);
  assert.match(featureMismatch(COLUMNS, [{ name: "fa", info: info("0.0.1", 3) }, { name: "fb" }])!, /fa runs RANDOM_FIXTURE weights/);
  const withCkpt = [{ ...COLUMNS[0]!, checkpointSha256: "a".repeat(64) }];
  assert.match(featureMismatch(withCkpt, [{ name: "fa", info: info("0.0.1", 1, "b".repeat(64)) }])!, /checkpoint differs/);
});

test.run();
