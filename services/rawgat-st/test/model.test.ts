// RawGatStModel behaviour (abstaining, windows, segments, notes) and one end-to-end gRPC call, on a
// random-weight fixture of the identical RawGAT-ST-mul layout (python/export.py --random-seed).
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Prediction, SegmentKind, WeightsKind } from "@deepsafe/proto/grpc/common";
import { audioTesting } from "@deepsafe/sdk/testing";
import { RawGatStModel } from "../src/model.js";
import { exportModel, ffmpegUnavailable, synthesize, tempDir, torchUnavailable } from "./helpers.js";

const skipReason = torchUnavailable() ?? ffmpegUnavailable();

const { predictContext: ctx, decodedAudio: audio, predictOverGrpc, rejectionMessage, tone, unscorableClips } = audioTesting;

if (skipReason) {
  console.log(`\n  SKIPPED rawgat-st model tests: ${skipReason}\n`);
  test.skip("RawGatStModel on a random fixture", () => {});
} else {
  const fixture = exportModel("mul", { randomSeed: 11 });

  test("cards, model names and provenance", async () => {
    assert.is(new RawGatStModel().card.name, "rawgat-st");
    assert.is(new RawGatStModel("add").card.name, "rawgat-st-add");
    assert.is(new RawGatStModel("cat").card.name, "rawgat-st-cat");
    const model = new RawGatStModel();
    assert.is(model.media, "audio");
    assert.equal(model.card.tensors.map((t) => t.shape), [[1, 64600], [1, 2]]);
    const provenance = await model.load({ modelDir: fixture, intraOpThreads: 1 });
    assert.is(provenance.kind, "random-fixture");
    assert.match(provenance.onnxSha256 ?? "", /^[0-9a-f]{64}$/);
    await model.warmup();
    await model.dispose();
  });

  test("a mul conversion is refused by the cat service", async () => {
    assert.match(await rejectionMessage(() => new RawGatStModel("cat").load({ modelDir: fixture, intraOpThreads: 1 })), /holds RawGAT-ST-mul, not RawGAT-ST-cat/);
  });

  test("empty, too short and silent audio abstain with a reason", async () => {
    const model = new RawGatStModel();
    await model.load({ modelDir: fixture, intraOpThreads: 1 });
    for (const [samples, reason] of unscorableClips()) {
      const r = await model.predict(audio(samples), ctx());
      assert.is(r.prediction, Prediction.PREDICTION_UNDETERMINED);
      assert.match(r.note, reason);
      assert.equal(r.segments, []);
    }
    await model.dispose();
  });

  test("windows become segments; the clip score is their mean", async () => {
    const model = new RawGatStModel();
    await model.load({ modelDir: fixture, intraOpThreads: 1 });
    const short = await model.predict(audio(tone(3)), ctx());
    assert.is(short.segments.length, 1);
    assert.is(short.segments[0]!.endSeconds, 3);
    assert.match(short.note, /repeat-padded/);

    const long = await model.predict(audio(tone(10)), ctx(0.5));
    assert.equal(long.segments.map((s) => s.startSeconds), [0, 32300 / 16000, 64600 / 16000, 95400 / 16000]);
    assert.ok(long.segments.every((s) => s.kind === "window" && Math.abs(s.endSeconds! - s.startSeconds! - 64600 / 16000) < 1e-9));
    const mean = long.segments.reduce((a, s) => a + s.probabilityFake, 0) / long.segments.length;
    assert.ok(Math.abs(long.probabilityFake - mean) < 1e-12);
    if (long.logit !== undefined) assert.ok(Math.abs(1 / (1 + Math.exp(-long.logit)) - long.probabilityFake) < 1e-9);
    assert.is(long.prediction, long.probabilityFake >= 0.5 ? Prediction.PREDICTION_FAKE : Prediction.PREDICTION_REAL);
    assert.match(long.note, /mean P\(fake\) of 4 windows; highest/);
    await model.dispose();

    const capped = new RawGatStModel("mul", { maxWindows: 2 });
    await capped.load({ modelDir: fixture, intraOpThreads: 1 });
    const sub = await capped.predict(audio(tone(10)), ctx());
    assert.is(sub.segments.length, 2);
    assert.match(sub.note, /4 windows needed .* 2 spread evenly/);
    await capped.dispose();

    const strict = new RawGatStModel("mul", { maxWindows: 2, onTooMany: "error" });
    await strict.load({ modelDir: fixture, intraOpThreads: 1 });
    assert.match(await rejectionMessage(() => strict.predict(audio(tone(10)), ctx())), /needs 4 windows .* limit of 2/);
    await strict.dispose();
  });

  test("served over gRPC: an mp3 upload is decoded by the SDK and scored per window", async () => {
    const dir = tempDir("grpc");
    const mp3 = join(dir, "tone.mp3");
    synthesize(mp3, "sine=frequency=330:sample_rate=44100:duration=6", ["-c:a", "libmp3lame", "-b:a", "64k"]);
    const res = await predictOverGrpc(new RawGatStModel(), fixture, mp3);
    assert.is(res.modelName, "rawgat-st");
    assert.is(res.weightsKind, WeightsKind.WEIGHTS_KIND_RANDOM_FIXTURE);
    assert.is(res.segments.length, 2);
    assert.ok(res.segments.every((s) => s.kind === SegmentKind.SEGMENT_KIND_WINDOW));
    assert.ok(res.prediction === Prediction.PREDICTION_FAKE || res.prediction === Prediction.PREDICTION_REAL);
  });
}

test.run();
