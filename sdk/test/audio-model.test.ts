// The shared parts of the windowed audio detectors (sdk/src/audio/model.ts, onnx.ts, prepare.ts and the
// Python deepsafe_weights.py): the clip result, the AudioModel skeleton on an injected session, the
// checks of a converted model directory, prepare-model's idempotence and messages, and the converters'
// checkpoint verification. No ONNX graph or torch needed (the services' tests run the real ones).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Prediction } from "@deepsafe/proto/grpc/common";
import { audioTesting } from "../src/testing/index.js";
import {
  positiveIntFromEnv,
  prepareModels,
  readConvertedModel,
  readWaveformModelDir,
  sha256File,
  WaveformWindowModel,
  waveformWindowCard,
  windowedResult,
  type LoadContext,
  type Provenance,
  type WaveformSession,
} from "../src/index.js";

const { decodedAudio, predictContext, rejectionMessage, tempDir, tone, unscorableClips, writeModelDir } = audioTesting;
const W = 64_600;

test("windowedResult: mean P(fake), log-odds, one segment per window, the note", () => {
  const clip = {
    probabilityFake: 0.6,
    windows: [
      { index: 0, probabilityFake: 0.4, startSeconds: 0, endSeconds: 4.0375 },
      { index: 1, probabilityFake: 0.8, startSeconds: 2.01875, endSeconds: 6.05625 },
    ],
    plan: { padded: false, subsampled: true, regularCount: 5 },
  };
  const r = windowedResult(clip, 0.5, { padded: "PADDED", hop: "7 frames" });
  assert.is(r.prediction, Prediction.PREDICTION_FAKE);
  assert.ok(Math.abs(r.logit! - Math.log(0.6 / 0.4)) < 1e-12);
  assert.equal(r.segments, clip.windows.map((w) => ({ kind: "window", ...w })));
  assert.is(r.note, "mean P(fake) of 2 windows; highest 0.8000 at 2.02–6.06 s; 5 windows needed at hop 7 frames; 2 spread evenly instead");
  const one = windowedResult({ ...clip, windows: clip.windows.slice(0, 1), plan: { padded: true, subsampled: false, regularCount: 1 } }, 0.7, {
    padded: "PADDED",
    hop: "x",
  });
  assert.is(one.prediction, Prediction.PREDICTION_REAL);
  assert.is(one.note, "mean P(fake) of 1 window; highest 0.4000 at 0.00–4.04 s; PADDED");
});

/** A waveform model whose "network" returns [mean of the window, 0] and records its calls. */
class FakeWaveformModel extends WaveformWindowModel {
  readonly card = waveformWindowCard({ name: "fake", version: "1", description: "d", paper: "p", license: "l" });
  calls: number[] = [];
  released = 0;

  protected async open(ctx: LoadContext): Promise<{ session: WaveformSession; provenance: Provenance }> {
    return {
      session: {
        infer: async (w) => {
          this.calls.push(w.length);
          return [w.reduce((a, v) => a + v, 0) / w.length, 0];
        },
        release: async () => void this.released++,
      },
      provenance: { kind: "random-fixture", source: ctx.modelDir, onnxSha256: "ab", variant: "x", inputSamples: W } as Provenance,
    };
  }
}

test("WaveformWindowModel: card, load, warm-up, windows, notes, abstaining, limits", async () => {
  const model = new FakeWaveformModel("FAKE-1");
  assert.equal(model.card.tensors.map((t) => t.shape), [[1, W], [1, 2]]);
  assert.ok(model.card.mimeTypes!.includes("audio/flac") && model.card.mimeTypes!.includes("video/mp4"));
  assert.match(await rejectionMessage(() => model.predict(decodedAudio(tone(1)), predictContext())), /fake is not loaded/);

  // only the served provenance fields come back; a second load releases the first session
  assert.equal(await model.load({ modelDir: "/m", intraOpThreads: 1 }), {
    kind: "random-fixture",
    source: "/m",
    checkpointSha256: undefined,
    onnxSha256: "ab",
    license: undefined,
    description: undefined,
  });
  await model.load({ modelDir: "/m", intraOpThreads: 1 });
  assert.is(model.released, 1);
  await model.warmup();
  assert.equal(model.calls, [W]);

  for (const [samples, reason] of unscorableClips()) {
    const r = await model.predict(decodedAudio(samples), predictContext());
    assert.is(r.prediction, Prediction.PREDICTION_UNDETERMINED);
    assert.match(r.note, reason);
  }
  assert.match(await rejectionMessage(() => model.predict({ ...decodedAudio(tone(1)), sampleRate: 8000 }, predictContext())), /^FAKE-1 needs 16000 Hz/);

  const short = await model.predict(decodedAudio(tone(2)), predictContext());
  assert.match(short.note, /clip shorter than 64600 samples, repeat-padded/);
  const long = await model.predict(decodedAudio(tone(10)), predictContext());
  assert.equal(long.segments.map((s) => s.startSeconds), [0, 32300 / 16000, 64600 / 16000, 95400 / 16000]);

  const capped = new FakeWaveformModel("FAKE-1", { maxWindows: 2, hopSamples: 16000 });
  await capped.load({ modelDir: "/m", intraOpThreads: 1 });
  assert.match((await capped.predict(decodedAudio(tone(10)), predictContext())).note, /7 windows needed at hop 16000; 2 spread evenly instead/);
  const strict = new FakeWaveformModel("FAKE-1", { maxWindows: 2, onTooMany: "error" });
  await strict.load({ modelDir: "/m", intraOpThreads: 1 });
  assert.match(await rejectionMessage(() => strict.predict(decodedAudio(tone(10)), predictContext())), /needs 4 windows .* limit of 2/);
  const quiet = new FakeWaveformModel("FAKE-1", { minSeconds: 0.1, silencePeak: 0.5 });
  await quiet.load({ modelDir: "/m", intraOpThreads: 1 });
  assert.match((await quiet.predict(decodedAudio(tone(0.2)), predictContext())).note, /silent/);

  const ac = new AbortController();
  ac.abort(new Error("gone"));
  assert.match(await rejectionMessage(() => model.predict(decodedAudio(tone(10)), { ...predictContext(), signal: ac.signal })), /gone/);
  await model.dispose();
  assert.is(model.released, 2);
});

test("readConvertedModel / readWaveformModelDir: hint, service checks, pinned checkpoint, graph hashes", async () => {
  const spec = { packageName: "@deepsafe/x", checkpointSha256: "c".repeat(64) };
  assert.match(await rejectionMessage(() => readConvertedModel(tempDir("sdk-empty"), spec)), /npm run prepare-model -w @deepsafe\/x/);

  const official = writeModelDir(tempDir("sdk-model"), { kind: "official", source: "u", checkpointSha256: "0".repeat(64) });
  assert.match(await rejectionMessage(() => readConvertedModel(official, spec)), /is not the pinned c{64}/);

  const files = { "model.onnx": "g", "frontend.onnx": "f" };
  const dir = writeModelDir(tempDir("sdk-model"), { kind: "random-fixture", source: "s", frontendSha256: "e".repeat(64) }, files);
  const graphs = { "model.onnx": "onnxSha256", "frontend.onnx": "frontendSha256" };
  assert.match(await rejectionMessage(() => readConvertedModel(dir, { ...spec, graphs })), /frontend\.onnx has sha256 [0-9a-f]{64}, but provenance\.json records e{64}/);
  assert.match(await rejectionMessage(() => readConvertedModel(dir, { ...spec, check: () => { throw new Error("no thanks"); } })), /no thanks/);
  const ok = await readConvertedModel(dir, spec);
  assert.is(ok.provenance.onnxSha256, await sha256File(join(dir, "model.onnx")));
  assert.equal(Object.keys(ok.graphPaths), ["model.onnx"]);

  const wave = (p: object) => writeModelDir(tempDir("sdk-wave"), { kind: "random-fixture", source: "s", ...p });
  const read = (d: string) => readWaveformModelDir(d, { ...spec, variant: "mul", variantLabel: (v) => `M-${v}` });
  assert.match(await rejectionMessage(() => read(wave({ variant: "cat" }))), /holds M-cat, not M-mul/);
  assert.match(await rejectionMessage(() => read(wave({ inputSamples: 48000 }))), /takes 48000 samples; this service needs 64600/);
  assert.match((await read(wave({ variant: "mul", inputSamples: W }))).onnxPath, /model\.onnx$/);
});

test("positiveIntFromEnv", () => {
  process.env.DEEPSAFE_TEST_INT = "";
  assert.is(positiveIntFromEnv("DEEPSAFE_TEST_INT"), undefined);
  process.env.DEEPSAFE_TEST_INT = "12";
  assert.is(positiveIntFromEnv("DEEPSAFE_TEST_INT"), 12);
  process.env.DEEPSAFE_TEST_INT = "0";
  assert.throws(() => positiveIntFromEnv("DEEPSAFE_TEST_INT"), /DEEPSAFE_TEST_INT must be a positive integer, got "0"/);
  delete process.env.DEEPSAFE_TEST_INT;
});

test("prepareModels: converted directories are left alone; otherwise it says what to set or download", async () => {
  const saved = { models: process.env.DEEPSAFE_MODELS_DIR, mirror: process.env.DEEPSAFE_WEIGHTS_MIRROR };
  const models = tempDir("sdk-models");
  process.env.DEEPSAFE_MODELS_DIR = models;
  mkdirSync(join(models, "a-model"));
  const lines: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = console.error = (line: string) => void lines.push(line);
  const spec = {
    service: "svc",
    packageName: "@deepsafe/svc",
    exportScript: "/nonexistent/export.py",
    variants: ["a", "b"] as const,
    parseVariant: (n: string) => (n === "a" || n === "b" ? n : "a"),
    label: (v: string) => `V-${v}`,
    modelName: (v: string) => `${v}-model`,
    checkpoint: (v: string) => ({ path: `folder/${v}.pth`, url: `https://example.org/${v}.pth` }),
    readModelDir: async (d: string) => {
      if (!existsSync(d)) throw new Error("absent");
      return { provenance: { kind: "official", source: "u" } as Provenance };
    },
  };
  try {
    delete process.env.DEEPSAFE_WEIGHTS_MIRROR;
    assert.is(await prepareModels(spec, ["a"]), 0);
    assert.match(lines.pop()!, /^svc: .*a-model is already converted from the official V-a weights/);
    assert.is(await prepareModels(spec, []), 1);
    assert.match(lines.pop()!, /^svc: DEEPSAFE_WEIGHTS_MIRROR is not set, so V-b cannot be converted\. .*folder\/b\.pth \(download https:\/\/example\.org\/b\.pth\).*-w @deepsafe\/svc/);
    process.env.DEEPSAFE_WEIGHTS_MIRROR = tempDir("sdk-mirror");
    assert.is(await prepareModels(spec, ["b", "--force"]), 1);
    assert.match(lines.pop()!, /b\.pth not found .*download https:\/\/example\.org\/b\.pth there\. Skipping V-b/);
  } finally {
    [console.log, console.error] = [log, error];
    for (const [key, value] of [["DEEPSAFE_MODELS_DIR", saved.models], ["DEEPSAFE_WEIGHTS_MIRROR", saved.mirror]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
});

const sdkPython = join(dirname(fileURLToPath(import.meta.url)), "..", "python");

test("deepsafe_weights.py: pinned checkpoints, the references' checkpoint lookup, provenance.json", () => {
  const dir = tempDir("sdk-weights");
  const script = `
import json, os, sys
sys.path.insert(0, ${JSON.stringify(sdkPython)})
from deepsafe_weights import ChecksumMismatch, resolve_checkpoint, sha256_of, verify_checkpoint, write_provenance
d = ${JSON.stringify(dir)}
os.makedirs(os.path.join(d, "m"), exist_ok=True)
ckpt = os.path.join(d, "m", "w.pth")
open(ckpt, "wb").write(b"weights")
sha = sha256_of(ckpt)
out = {"sha": sha, "ok": verify_checkpoint(ckpt, sha, "X", "u")}
try:
    verify_checkpoint(ckpt, "0" * 64, "X-1", "https://e/w.pth")
except ChecksumMismatch as err:
    out["mismatch"] = str(err)
os.environ["DEEPSAFE_WEIGHTS_MIRROR"] = d
out["resolved"] = resolve_checkpoint(None, "m/w.pth", lambda p: verify_checkpoint(p, sha, "X", "u"))
out["refused"] = resolve_checkpoint(ckpt, "m/w.pth", lambda p: verify_checkpoint(p, "1" * 64, "X", "u"))
write_provenance(d, {"kind": "official", "source": "u"})
print(json.dumps(out))
`;
  const run = spawnSync(audioTesting.pythonBinary(), ["-c", script], { encoding: "utf8" });
  assert.is(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.is(out.ok, out.sha);
  assert.match(String(out.mismatch), /^refusing .*w\.pth: sha256 [0-9a-f]{64} does not match the pinned sha256 0{64} of the official X-1 checkpoint \(https:\/\/e\/w\.pth\)$/);
  assert.equal(out.resolved, [join(dir, "m", "w.pth"), out.sha]);
  assert.is(out.refused, null);
  assert.match(run.stderr, /error: refusing .* does not match the pinned sha256 1{64}/);
  assert.equal(JSON.parse(readFileSync(join(dir, "provenance.json"), "utf8")), { kind: "official", source: "u" });
});

test.run();
