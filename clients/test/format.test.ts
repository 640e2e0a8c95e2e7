// The CLI's text form: the verdict line states what the verdict rests on.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { create } from "@bufbuild/protobuf";
import { DetectResponseSchema, EnsembleMethod, Verdict } from "@deepsafe/proto/es/gateway";
import { toText } from "../typescript/src/format.js";

test("voting says how many votes agree, not a '1.000 confidence' from one vote", () => {
  const res = create(DetectResponseSchema, {
    requestId: "r1", verdict: Verdict.REAL, ensembleScore: 0, confidenceInVerdict: 1, threshold: 0.5,
    ensembleMethodUsed: EnsembleMethod.VOTING, fakeVotes: 0, realVotes: 1, totalVotes: 1,
  });
  assert.is(toText(res).split("\n")[0], "REAL  score 0.000 (threshold 0.5), 1 of 1 votes  [r1]");
});

test("average carries the confidence in the verdict: a real at 0.1 is 0.900", () => {
  const res = create(DetectResponseSchema, {
    requestId: "r2", verdict: Verdict.REAL, ensembleScore: 0.1, confidenceInVerdict: 0.9, threshold: 0.5,
    ensembleMethodUsed: EnsembleMethod.AVERAGE, fakeVotes: 0, realVotes: 2, totalVotes: 2,
  });
  assert.is(toText(res).split("\n")[0], "REAL  score 0.100 (threshold 0.5), confidence 0.900  [r2]");
});

test.run();
