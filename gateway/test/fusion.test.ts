import { test } from "uvu";
import * as assert from "uvu/assert";
import { Prediction, WeightsKind } from "@deepsafe/proto/es/common";
import { EnsembleMethod, Verdict } from "@deepsafe/proto/es/gateway";
import { fuse, type FusionInput } from "../src/fusion.js";

const { FAKE, REAL, UNDETERMINED } = Prediction;
const r = (p: number, prediction = p >= 0.5 ? FAKE : REAL, weightsKind = WeightsKind.OFFICIAL): FusionInput => ({
  prediction: { probabilityFake: p, prediction, weightsKind },
});
const failed = (code = "UNAVAILABLE"): FusionInput => ({ errorCode: code });
const voting = { method: EnsembleMethod.VOTING, threshold: 0.5, includeRandomWeights: false };
const average = { ...voting, method: EnsembleMethod.AVERAGE };

test("voting: majority fake", () => {
  const f = fuse([r(0.9), r(0.8), r(0.1)], voting);
  assert.is(f.verdict, Verdict.FAKE);
  assert.is(f.score, 2 / 3);
  assert.is(f.confidence, 2 / 3);
  assert.equal([f.fakeVotes, f.realVotes, f.totalVotes], [2, 1, 3]);
  assert.is(f.methodUsed, EnsembleMethod.VOTING);
});

test("voting: majority real, confidence is 1 - score", () => {
  const f = fuse([r(0.9), r(0.2), r(0.1)], voting);
  assert.is(f.verdict, Verdict.REAL);
  assert.is(f.confidence, 1 - 1 / 3);
});

test("voting: a 1-1 split is undetermined, never silently fake", () => {
  const f = fuse([r(0.9), r(0.1)], voting);
  assert.is(f.verdict, Verdict.UNDETERMINED);
  assert.is(f.score, 0.5);
  assert.is(f.confidence, 0);
  assert.match(f.note, /tie/);
});

test("voting uses each model's own prediction, not the request threshold", () => {
  // A model thresholded at 0.3 by itself says FAKE at p = 0.4.
  const f = fuse([r(0.4, FAKE)], { ...voting, threshold: 0.5 });
  assert.is(f.verdict, Verdict.FAKE);
  assert.is(f.fakeVotes, 1);
});

test("average: mean probability against the threshold", () => {
  const f = fuse([r(0.9), r(0.2)], average);
  assert.is(f.verdict, Verdict.FAKE);
  assert.ok(Math.abs(f.score! - 0.55) < 1e-12);
  const g = fuse([r(0.6), r(0.2)], average);
  assert.is(g.verdict, Verdict.REAL);
  assert.ok(Math.abs(g.confidence - 0.6) < 1e-12);
});

test("average: score exactly at threshold is undetermined", () => {
  const f = fuse([r(0.75), r(0.25)], average);
  assert.is(f.score, 0.5);
  assert.is(f.verdict, Verdict.UNDETERMINED);
  const g = fuse([r(0.7)], { ...average, threshold: 0.7 });
  assert.is(g.verdict, Verdict.UNDETERMINED);
});

test("custom threshold", () => {
  assert.is(fuse([r(0.6)], { ...average, threshold: 0.8 }).verdict, Verdict.REAL);
  assert.is(fuse([r(0.6)], { ...average, threshold: 0.2 }).verdict, Verdict.FAKE);
});

test("stacking falls back to average and says so", () => {
  const f = fuse([r(0.9), r(0.2)], { ...voting, method: EnsembleMethod.STACKING });
  assert.is(f.methodUsed, EnsembleMethod.AVERAGE);
  assert.is(f.verdict, Verdict.FAKE);
  assert.match(f.note, /stacking/);
});

test("failed detectors and abstentions are reported but not used", () => {
  const f = fuse([failed(), r(0.9), r(0.5, UNDETERMINED)], voting);
  assert.equal(f.used, [false, true, false]);
  assert.is(f.totalVotes, 1);
  assert.is(f.verdict, Verdict.FAKE);
  assert.is(f.score, 1);
});

test("random-weight fixtures do not vote unless asked", () => {
  const inputs = [r(0.9, FAKE, WeightsKind.RANDOM_FIXTURE), r(0.2)];
  const f = fuse(inputs, voting);
  assert.equal(f.used, [false, true]);
  assert.is(f.verdict, Verdict.REAL);
  const g = fuse(inputs, { ...voting, includeRandomWeights: true });
  assert.equal(g.used, [true, true]);
  assert.is(g.verdict, Verdict.UNDETERMINED);
});

test("no usable result: undetermined with a reason", () => {
  const none = fuse([], voting);
  assert.is(none.verdict, Verdict.UNDETERMINED);
  assert.is(none.score, undefined);
  assert.match(none.note, /no detector/);
  assert.match(fuse([failed(), failed("DEADLINE_EXCEEDED")], average).note, /every detector failed/);
  assert.match(fuse([r(0.9, FAKE, WeightsKind.RANDOM_FIXTURE)], voting).note, /include_random_weights/);
  const abstained = fuse([r(0.5, UNDETERMINED)], average);
  assert.is(abstained.verdict, Verdict.UNDETERMINED);
  assert.is(abstained.confidence, 0);
  assert.is(abstained.totalVotes, 0);
});

test("probabilities outside [0, 1] or NaN are not used", () => {
  const f = fuse([r(Number.NaN, FAKE), r(1.5, FAKE), r(0.2)], average);
  assert.equal(f.used, [false, false, true]);
  assert.is(f.verdict, Verdict.REAL);
});

test("an error code wins over a prediction", () => {
  const f = fuse([{ ...r(0.9), errorCode: "INTERNAL" }], voting);
  assert.equal(f.used, [false]);
});

test.run();
