// LfccLcnnModel behaviour (abstaining, windows, segments) and one end-to-end gRPC call, on random-weight
// fixtures of the identical layout with the real LFCC front end (python/export.py --random-seed).
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Prediction, SegmentKind, WeightsKind } from "@deepsafe/proto/grpc/common";
import { audioTesting } from "@deepsafe/sdk/testing";
import { LfccLcnnModel } from "../src/model.js";
import { exportModel, ffmpegUnavailable, synthesize, tempDir, torchUnavailable } from "./helpers.js";

const skipReason = torchUnavailable() ?? ffmpegUnavailable();

const { predictContext: ctx, decodedAudio: audio, predictOverGrpc, rejectionMessage, tone, unscorableClips } = audioTesting;

if (skipReason) {
  console.log(`\n  SKIPPED lfcc-lcnn model tests: ${skipReason}\n`);
  test.skip("LfccLcnnModel on a random fixture", () => {});
} else {
  const fixture = exportModel("sigmoid", { randomSeed: 11 });

  test("card and provenance", async () => {
    const model = new LfccLcnnModel();
    assert.is(model.card.name, "lfcc-lcnn");
    assert.is(new LfccLcnnModel("a-softmax").card.name, "lfcc-lcnn-a-softmax");
    assert.is(model.media, "audio");
    const provenance = await model.load({ modelDir: fixture, intraOpThreads: 1 });
    assert.is(provenance.kind, "random-fixture");
    assert.match(provenance.onnxSha256 ?? "", /^[0-9a-f]{64}$/);
    await model.warmup();
    await model.dispose();
  });

  test("the other variant's conversion is refused", async () => {
    const model = new LfccLcnnModel("a-softmax");
    assert.match(await rejectionMessage(() => model.load({ modelDir: fixture, intraOpThreads: 1 })), /holds the sigmoid variant, not a-softmax/);
  });

  test("empty, too short and silent audio abstain with a reason", async () => {
    const model = new LfccLcnnModel();
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
    const model = new LfccLcnnModel();
    await model.load({ modelDir: fixture, intraOpThreads: 1 });
    const short = await model.predict(audio(tone(3)), ctx());
    assert.is(short.segments.length, 1);
    assert.is(short.segments[0]!.endSeconds, 3);
    assert.match(short.note, /its 300 frames tiled/);

    const long = await model.predict(audio(tone(15)), ctx(0.5));
    assert.equal(long.segments.map((s) => s.startSeconds), [0, 3.75, 7.5]);
    assert.ok(long.segments.every((s) => s.kind === "window" && Math.abs(s.endSeconds! - s.startSeconds! - 7.5) < 1e-9));
    const mean = long.segments.reduce((a, s) => a + s.probabilityFake, 0) / long.segments.length;
    assert.ok(Math.abs(long.probabilityFake - mean) < 1e-12);
    assert.ok(Math.abs(1 / (1 + Math.exp(-long.logit!)) - long.probabilityFake) < 1e-9);
    assert.is(long.prediction, long.probabilityFake >= 0.5 ? Prediction.PREDICTION_FAKE : Prediction.PREDICTION_REAL);
    await model.dispose();

    const capped = new LfccLcnnModel("sigmoid", { maxWindows: 2 });
    await capped.load({ modelDir: fixture, intraOpThreads: 1 });
    const sub = await capped.predict(audio(tone(20)), ctx());
    assert.equal(sub.segments.map((s) => s.startSeconds), [0, 12.5]);
    assert.match(sub.note, /5 windows needed at hop 375 frames; 2 spread evenly/);
    await capped.dispose();

    const strict = new LfccLcnnModel("sigmoid", { maxWindows: 2, onTooMany: "error" });
    await strict.load({ modelDir: fixture, intraOpThreads: 1 });
    assert.match(await rejectionMessage(() => strict.predict(audio(tone(20)), ctx())), /needs 5 windows .* limit of 2/);
    await strict.dispose();
  });

  test("an aborted request stops between windows", async () => {
    const model = new LfccLcnnModel();
    await model.load({ modelDir: fixture, intraOpThreads: 1 });
    const ac = new AbortController();
    ac.abort(new Error("client went away"));
    try {
      await model.predict(audio(tone(20)), { ...ctx(), signal: ac.signal });
      assert.unreachable("expected the abort reason");
    } catch (err) {
      assert.match(String(err), /client went away/);
    }
    await model.dispose();
  });

  test("a-softmax fixture: two cosines per window, P(fake) = softmax(cos)[spoof] ≤ 0.881", async () => {
    const dir = exportModel("a-softmax", { randomSeed: 3 });
    const model = new LfccLcnnModel("a-softmax");
    assert.is((await model.load({ modelDir: dir, intraOpThreads: 1 })).kind, "random-fixture");
    const r = await model.predict(audio(tone(9)), ctx());
    assert.is(r.segments.length, 2);
    assert.ok(r.segments.every((s) => s.probabilityFake > 0.119 && s.probabilityFake < 0.881));
    await model.dispose();
  });

  test("served over gRPC: an mp3 upload is decoded by the SDK and scored per window", async () => {
    const dir = tempDir("grpc");
    const mp3 = join(dir, "tone.mp3");
    synthesize(mp3, "sine=frequency=330:sample_rate=44100:duration=9", ["-c:a", "libmp3lame", "-b:a", "64k"]);
    const res = await predictOverGrpc(new LfccLcnnModel(), fixture, mp3);
    assert.is(res.modelName, "lfcc-lcnn");
    assert.is(res.weightsKind, WeightsKind.WEIGHTS_KIND_RANDOM_FIXTURE);
    assert.is(res.segments.length, 2);
    assert.ok(res.segments.every((s) => s.kind === SegmentKind.SEGMENT_KIND_WINDOW));
    assert.ok(res.prediction === Prediction.PREDICTION_FAKE || res.prediction === Prediction.PREDICTION_REAL);
  });
}

test.run();
