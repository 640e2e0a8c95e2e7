// NprModel through the SDK: load errors, and one gRPC Predict whose logit matches PyTorch.
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { WeightsKind } from "@deepsafe/proto/grpc/common";
import { createDetectorClient, predictBytes, serveDetector } from "@deepsafe/sdk";
import { NprModel } from "../src/model.js";
import { fixturesDir, runPython } from "../scripts/python.js";

const modelDir = join(fixturesDir, "model");
const imageDir = join(fixturesDir, "images");
runPython("export.py", ["--random-seed", "0", "--out-dir", modelDir]);
runPython("make_fixtures.py", [imageDir]);

test("load() without converted weights tells the user how to make them", async () => {
  const empty = mkdtempSync(join(tmpdir(), "npr-empty-"));
  try {
    await new NprModel().load({ modelDir: empty, intraOpThreads: 1 });
    assert.unreachable("load should fail");
  } catch (err) {
    assert.match((err as Error).message, /model\.onnx is missing; run `npm run prepare-model -w @deepsafe\/npr`/);
  }
});

test("served prediction matches the PyTorch reference", async () => {
  const file = join(imageDir, "photo_640x480_q90.jpg");
  const ref = JSON.parse(
    runPython("reference_logits.py", ["--checkpoint", join(modelDir, "random-v1-seed0.pth"), "--threads", "1", file]),
  ) as { results: { logit: number; probabilityFake: number }[] };
  const handle = await serveDetector(new NprModel(), {
    port: 0,
    metricsPort: -1,
    handleSignals: false,
    modelDir,
    intraOpThreads: 1,
  });
  try {
    const client = createDetectorClient(`127.0.0.1:${handle.port}`);
    const res = await predictBytes(client, { header: { threshold: 0.5 }, bytes: readFileSync(file) });
    client.close();
    assert.is(res.modelName, "npr");
    assert.is(res.weightsKind, WeightsKind.WEIGHTS_KIND_RANDOM_FIXTURE);
    const expected = ref.results[0]!;
    assert.ok(Math.abs(res.logit! - expected.logit) <= 1e-4, `logit ${res.logit} vs ${expected.logit}`);
    assert.ok(Math.abs(res.probabilityFake - expected.probabilityFake) <= 1e-5);
  } finally {
    await handle.drain();
  }
});

test.run();
