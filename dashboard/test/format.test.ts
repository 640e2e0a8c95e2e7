// The wording and numbers the dashboard shows, in particular confidence in the verdict itself.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MediaType, Prediction } from "@deepsafe/proto/es/common";
import { EnsembleMethod, Verdict } from "@deepsafe/proto/es/gateway";
import { bytes, guessMediaType, modelCall, percent, verdictHeadline } from "../src/format.js";

test("a model's call carries its own confidence: real at P(fake) 0.1 is 90% real, not 10%", () => {
  assert.equal(modelCall(0.1, Prediction.REAL), { label: "real", confidence: 0.9 });
  assert.equal(modelCall(0.8, Prediction.FAKE), { label: "fake", confidence: 0.8 });
  assert.is(modelCall(0.5, Prediction.UNDETERMINED), undefined);
  assert.is(percent(modelCall(0.1, Prediction.REAL)!.confidence), "90%");
});

test("the verdict headline: decided verdicts with confidence, undetermined without a number", () => {
  assert.is(verdictHeadline(Verdict.REAL, 0.9), "Likely real · 90% confidence");
  assert.is(verdictHeadline(Verdict.FAKE, 0.996), "Likely fake · 99.6% confidence");
  assert.is(verdictHeadline(Verdict.UNDETERMINED, 0), "Undetermined");
  assert.is(verdictHeadline(Verdict.REAL, 1, { method: EnsembleMethod.VOTING, agreeing: 1, total: 1 }), "Likely real · 1 of 1 model agrees");
  assert.is(verdictHeadline(Verdict.FAKE, 2 / 3, { method: EnsembleMethod.VOTING, agreeing: 2, total: 3 }), "Likely fake · 2 of 3 models agree");
  assert.is(verdictHeadline(Verdict.FAKE, 0.8, { method: EnsembleMethod.AVERAGE, agreeing: 1, total: 2 }), "Likely fake · 80% confidence");
  assert.is(verdictHeadline(Verdict.UNSPECIFIED, 0.7), "Undetermined");
});

test("percentages keep a decimal near the ends so 99.6% never reads as 100%", () => {
  assert.is(percent(0), "0%");
  assert.is(percent(0.054), "5.4%");
  assert.is(percent(0.5), "50%");
  assert.is(percent(0.9986), "99.9%");
  assert.is(percent(0.99999), ">99.9%");
  assert.is(percent(0.00001), "<0.1%");
  assert.is(percent(1), "100%");
});

test("media type from the browser's MIME type, else the extension, else left to the server", () => {
  assert.is(guessMediaType({ type: "image/png", name: "x" }), MediaType.IMAGE);
  assert.is(guessMediaType({ type: "", name: "clip.MOV" }), MediaType.VIDEO);
  assert.is(guessMediaType({ type: "audio/x-wav", name: "a.bin" }), MediaType.AUDIO);
  assert.is(guessMediaType({ type: "application/octet-stream", name: "blob" }), MediaType.UNSPECIFIED);
});

test("sizes in binary units", () => {
  assert.is(bytes(512), "512 B");
  assert.is(bytes(1536), "1.5 KiB");
  assert.is(bytes(50 * 1024 * 1024), "50 MiB");
});

test.run();
