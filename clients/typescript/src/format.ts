// What the CLI prints: the verdict on one line, then one line per model; or the response as JSON.
import { toJsonString } from "@bufbuild/protobuf";
import { Prediction, WeightsKind } from "@deepsafe/proto/es/common";
import { DetectResponseSchema, EnsembleMethod, Verdict, type DetectResponse } from "@deepsafe/proto/es/gateway";

export function toJson(res: DetectResponse): string {
  return toJsonString(DetectResponseSchema, res, { prettySpaces: 2 });
}

const VERDICT: Record<Verdict, string> = {
  [Verdict.UNSPECIFIED]: "unspecified",
  [Verdict.FAKE]: "FAKE",
  [Verdict.REAL]: "REAL",
  [Verdict.UNDETERMINED]: "UNDETERMINED",
};

const WEIGHTS: Record<WeightsKind, string> = {
  [WeightsKind.UNSPECIFIED]: "weights unknown",
  [WeightsKind.OFFICIAL]: "official weights",
  [WeightsKind.PROJECT_TRAINED]: "project-trained weights",
  [WeightsKind.RANDOM_FIXTURE]: "RANDOM TEST WEIGHTS",
};

export function toText(res: DetectResponse): string {
  const score = res.ensembleScore === undefined ? "no score" : `score ${res.ensembleScore.toFixed(3)} (threshold ${res.threshold})`;
  const lines = [`${VERDICT[res.verdict]}  ${score}, ${support(res)}  [${res.requestId}]`];
  if (res.note) lines.push(`  note: ${res.note}`);
  for (const m of res.modelResults) {
    if (m.errorCode) {
      lines.push(`  ${m.model.padEnd(20)} error ${m.errorCode}: ${m.errorMessage}`);
      continue;
    }
    const p = m.prediction;
    const said = p?.prediction === Prediction.UNDETERMINED ? `abstained (${p.note})` : `p(fake) ${p?.probabilityFake.toFixed(3)}`;
    lines.push(`  ${m.model.padEnd(20)} ${said}, ${WEIGHTS[m.weightsKind]}${m.usedInVerdict ? "" : ", not counted"}`);
  }
  return lines.join("\n");
}

/** Under voting the "confidence" is only the share of agreeing votes: say how many agree instead. */
function support(res: DetectResponse): string {
  if (res.ensembleMethodUsed !== EnsembleMethod.VOTING || res.totalVotes === 0) return `confidence ${res.confidenceInVerdict.toFixed(3)}`;
  const agreeing = res.verdict === Verdict.FAKE ? res.fakeVotes : res.verdict === Verdict.REAL ? res.realVotes : 0;
  return `${agreeing} of ${res.totalVotes} votes`;
}
