// UfdModel through the SDK: load errors, model info and provenance over gRPC, and one Predict whose
// logit matches PyTorch.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { WeightsKind } from "@deepsafe/proto/grpc/common";
import type { GetModelInfoResponse } from "@deepsafe/proto/grpc/detector";
import { createDetectorClient, predictBytes, serveDetector } from "@deepsafe/sdk";
import { UfdModel } from "../src/model.js";
import { ensureFixture, runPython } from "../scripts/python.js";

const fixture = ensureFixture();
const imageDir = mkdtempSync(join(tmpdir(), "ufd-model-"));
const file = join(imageDir, "ff_320x200.jpg");
execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x200:rate=1", "-frames:v", "1", "-q:v", "4", file]);

test("load() without converted weights tells the user how to make them", async () => {
  const empty = mkdtempSync(join(tmpdir(), "ufd-empty-"));
  try {
    await new UfdModel().load({ modelDir: empty, intraOpThreads: 1 });
    assert.unreachable("load should fail");
  } catch (err) {
    assert.match((err as Error).message, /model\.onnx is missing; run `npm run prepare-model -w @deepsafe\/ufd -- --backbone/);
  }
});

test("served prediction matches the PyTorch reference; provenance says random fixture", async () => {
  const ref = JSON.parse(
    runPython("reference_logits.py", ["--backbone", fixture.backbone, "--head", fixture.head, "--threads", "1", file]),
  ) as { results: { logit: number; probabilityFake: number }[] };
  const handle = await serveDetector(new UfdModel(), {
    port: 0,
    metricsPort: -1,
    handleSignals: false,
    modelDir: fixture.modelDir,
    intraOpThreads: 1,
  });
  const client = createDetectorClient(`127.0.0.1:${handle.port}`);
  try {
    const res = await predictBytes(client, { header: { threshold: 0.5 }, bytes: readFileSync(file) });
    const info = (
      await new Promise<GetModelInfoResponse>((resolve, reject) =>
        client.getModelInfo({}, (err, res) => (err ? reject(err) : resolve(res))),
      )
    ).model!;
    assert.is(info.name, "ufd");
    assert.is(info.weights?.kind, WeightsKind.WEIGHTS_KIND_RANDOM_FIXTURE);
    assert.match(info.weights?.description ?? "", /RANDOM-WEIGHT TEST FIXTURE/);
    assert.equal(info.input?.tensors.map((t) => [t.name, t.shape]), [["image", [-1, 3, 224, 224]], ["logit", [-1, 1]]]);
    assert.is(res.modelName, "ufd");
    assert.is(res.weightsKind, WeightsKind.WEIGHTS_KIND_RANDOM_FIXTURE);
    const expected = ref.results[0]!;
    const delta = Math.abs(res.logit! - expected.logit);
    console.log(`served logit ${res.logit} vs PyTorch ${expected.logit}: |Δ| ${delta.toExponential(2)}`);
    assert.ok(delta <= 1e-4, `logit ${res.logit} vs ${expected.logit}`);
    assert.ok(Math.abs(res.probabilityFake - expected.probabilityFake) <= 1e-5);
  } finally {
    client.close();
    await handle.drain();
  }
});

test.run();
