// End-to-end parity against the PyTorch reference, and the checkpoint conversion path.
//
// Fixture images come from our own generator (python/make_fixtures.py); the model is a random-weight
// export of the official 146-key layout (python/export.py --random-seed 0), so the test runs without
// the official NPR.pth. For every image: the PyTorch reference (PIL decode -> PIL bilinear ->
// ToTensor/Normalize -> our nn.Module) against our TS path (sharp decode as the SDK does it ->
// Pillow-exact resize -> normalize -> onnxruntime-node).
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { decodeLikeSdk, diffStats } from "@deepsafe/sdk/testing";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { INPUT_SIZE, normalizeImageNet, preprocessNpr, resizeBilinearPil } from "../src/preprocess.js";
import { NprSession, PLANE } from "../src/session.js";
import { fixturesDir, pythonExecutable, runPython, tryPython } from "../scripts/python.js";
import { execFileSync } from "node:child_process";

const TOLERANCE = 1e-4;
const modelDir = join(fixturesDir, "model");
const imageDir = join(fixturesDir, "images");
const dumpDir = join(fixturesDir, "reference");
const checkpoint = join(modelDir, "random-v1-seed0.pth");

runPython("export.py", ["--random-seed", "0", "--out-dir", modelDir]);
runPython("make_fixtures.py", [imageDir]);
const files = (JSON.parse(readFileSync(join(imageDir, "fixtures.json"), "utf8")) as { files: string[] }).files;
const refJson = join(dumpDir, "reference.json");
mkdirSync(dumpDir, { recursive: true });
runPython("reference_logits.py", [
  "--checkpoint", checkpoint, "--json-out", refJson, "--dump-dir", dumpDir, "--threads", "1",
  ...files.map((f) => join(imageDir, f)),
]);
const reference = JSON.parse(readFileSync(refJson, "utf8")) as {
  results: { file: string; width: number; height: number; logit: number }[];
};

let session: NprSession;
const summary: Record<string, unknown>[] = [];
let maxDeltaSamePixels = 0;
let maxDeltaEndToEnd = 0;

test.before(async () => {
  session = await NprSession.create(join(modelDir, "model.onnx"), 1);
});
test.after(async () => {
  await session.release();
  console.log(`\nnpr parity (random-weight fixture, ${files.length} images)`);
  console.table(summary);
  console.log(`max |Δlogit| with PIL-decoded pixels: ${maxDeltaSamePixels.toExponential(3)}`);
  console.log(`max |Δlogit| end to end (sharp decode): ${maxDeltaEndToEnd.toExponential(3)}`);
  writeFileSync(join(dumpDir, "parity-summary.json"), JSON.stringify({ summary, maxDeltaSamePixels, maxDeltaEndToEnd }, null, 1));
});

files.forEach((file, i) => {
  test(`parity ${file}`, async () => {
    const ref = reference.results[i]!;
    const pilDecoded = new Uint8Array(readFileSync(join(dumpDir, `${i}.decoded.rgb`)));
    const pilResized = new Uint8Array(readFileSync(join(dumpDir, `${i}.resized.rgb`)));
    const refTensor = new Float32Array(new Uint8Array(readFileSync(join(dumpDir, `${i}.tensor.f32`))).buffer);

    // 1. Decoding: sharp (SDK) against PIL convert("RGB").
    const decoded = await decodeLikeSdk(readFileSync(join(imageDir, file)));
    assert.is(decoded.width, ref.width);
    assert.is(decoded.height, ref.height);
    const decodeDiff = diffStats(decoded.data, pilDecoded);
    if (!file.endsWith(".jpg")) assert.is(decodeDiff.count, 0, `PNG decode differs from PIL for ${file}`);

    // 2. Preprocessing from PIL's pixels must match PIL + torch exactly.
    const resized = resizeBilinearPil(pilDecoded, ref.width, ref.height, 3, INPUT_SIZE, INPUT_SIZE);
    assert.is(diffStats(resized, pilResized).count, 0, "resize differs from PIL");
    const tensor = normalizeImageNet(resized, INPUT_SIZE, INPUT_SIZE);
    const tensorDiff = diffStats(tensor, refTensor);
    assert.ok(tensorDiff.max <= 1e-6, `tensor differs from torch by ${tensorDiff.max}`);

    // 3. Model: onnxruntime on identical input against the PyTorch reference.
    const [logitSame] = await session.logits(tensor);
    const deltaSame = Math.abs(logitSame! - ref.logit);
    maxDeltaSamePixels = Math.max(maxDeltaSamePixels, deltaSame);
    assert.ok(deltaSame <= TOLERANCE, `|Δlogit| ${deltaSame} > ${TOLERANCE}`);

    // 4. End to end as served: sharp decode -> preprocess -> onnxruntime.
    const [logitServed] = await session.logits(preprocessNpr(decoded));
    const deltaServed = Math.abs(logitServed! - ref.logit);
    maxDeltaEndToEnd = Math.max(maxDeltaEndToEnd, deltaServed);
    if (decodeDiff.count === 0) assert.ok(deltaServed <= TOLERANCE, `end-to-end |Δlogit| ${deltaServed}`);

    summary.push({
      file,
      size: `${ref.width}x${ref.height}`,
      decodeDiffValues: decodeDiff.count,
      decodeMaxDiff: decodeDiff.max,
      tensorMaxDiff: tensorDiff.max,
      refLogit: Number(ref.logit.toFixed(6)),
      dLogitSamePixels: Number(deltaSame.toExponential(2)),
      dLogitServed: Number(deltaServed.toExponential(2)),
    });
  });
});

test("batched inference equals one-by-one", async () => {
  const a = normalizeImageNet(new Uint8Array(readFileSync(join(dumpDir, "0.resized.rgb"))), INPUT_SIZE, INPUT_SIZE);
  const b = normalizeImageNet(new Uint8Array(readFileSync(join(dumpDir, "1.resized.rgb"))), INPUT_SIZE, INPUT_SIZE);
  const both = new Float32Array(2 * 3 * PLANE);
  both.set(a, 0);
  both.set(b, 3 * PLANE);
  const batched = await session.logits(both, 2);
  const [la] = await session.logits(a);
  const [lb] = await session.logits(b);
  assert.ok(Math.abs(batched[0]! - la!) <= 1e-5 && Math.abs(batched[1]! - lb!) <= 1e-5);
});

// ---- Conversion path -------------------------------------------------------------------------

function python(code: string, ...args: string[]): void {
  execFileSync(pythonExecutable(), ["-c", code, ...args], { stdio: ["ignore", "pipe", "pipe"] });
}

const REWRITE = `
import sys, torch
sd = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
mode = sys.argv[3]
if mode == "prefix": sd = {"backbone." + k: v for k, v in sd.items()}
elif mode == "module": sd = {"module." + k: v for k, v in sd.items()}
elif mode == "drop": sd = {k: v for k, v in sd.items() if k != "layer2.3.bn3.running_var"}
elif mode == "wrapped": sd = {"model": sd, "total_steps": 7}
elif mode == "shape": sd["fc1.weight"] = torch.zeros(2, 512)
torch.save(sd, sys.argv[2])
`;

test("checkpoint layout: 146 keys, module. prefix and training wrapper accepted", () => {
  const ok = JSON.parse(runPython("export.py", ["--checkpoint", checkpoint, "--check-only"])) as { keys: number };
  assert.is(ok.keys, 146);
  for (const mode of ["module", "wrapped"]) {
    const path = join(modelDir, `variant-${mode}.pth`);
    python(REWRITE, checkpoint, path, mode);
    const r = JSON.parse(runPython("export.py", ["--checkpoint", path, "--check-only"])) as { keys: number };
    assert.is(r.keys, 146, mode);
  }
});

test("checkpoint with wrong keys or shapes is refused with a clear error", () => {
  const expectations: Record<string, RegExp> = {
    prefix: /missing 146: conv1\.weight.*\n.*unexpected 146: backbone\.conv1\.weight/s,
    drop: /missing 1: layer2\.3\.bn3\.running_var/,
    shape: /fc1\.weight: \(2, 512\) != \(1, 512\)/,
  };
  for (const [mode, pattern] of Object.entries(expectations)) {
    const path = join(modelDir, `bad-${mode}.pth`);
    python(REWRITE, checkpoint, path, mode);
    const r = tryPython("export.py", ["--checkpoint", path, "--kind", "project-trained", "--out-dir", join(modelDir, "bad-out")]);
    assert.is(r.status, 3, `${mode}: expected exit 3, got ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, pattern, mode);
  }
});

test("a checkpoint that is not the published NPR.pth cannot be labelled official", () => {
  const r = tryPython("export.py", ["--checkpoint", checkpoint, "--out-dir", join(modelDir, "bad-out")]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /not the published NPR\.pth/);
});

test("pickled code is never executed: a checkpoint with a custom class is refused", () => {
  const path = join(modelDir, "bad-pickle.pth");
  python(`
import sys, torch, collections
class Evil:
    def __reduce__(self): return (print, ("should never run",))
torch.save({"x": Evil()}, sys.argv[1])
`, path);
  const r = tryPython("export.py", ["--checkpoint", path, "--kind", "project-trained", "--check-only"]);
  assert.is(r.status, 3);
  assert.not.match(r.stdout + r.stderr, /should never run/);
  assert.match(r.stderr, /weights-only/);
});

test("random fixture provenance says the scores are meaningless", () => {
  const prov = JSON.parse(readFileSync(join(modelDir, "provenance.json"), "utf8")) as Record<string, string>;
  assert.is(prov.kind, "random-fixture");
  assert.match(prov.description!, /meaningless/);
  assert.match(prov.checkpointSha256!, /^[0-9a-f]{64}$/);
  assert.match(prov.onnxSha256!, /^[0-9a-f]{64}$/);
});

test.run();
