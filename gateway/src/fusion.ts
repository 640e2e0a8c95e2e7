// Fusion of per-detector answers into one verdict.
//
// Compatible with the original DeepSafe (voting = fake votes / valid results, average = mean
// P(fake), confidence = score for fake and 1 - score for real) with its tie bug fixed:
//   score > threshold  -> FAKE
//   score < threshold  -> REAL
//   score == threshold -> UNDETERMINED (a 1-1 split is no evidence either way; the original
//                         called it fake)
//   no usable result   -> UNDETERMINED, with a note saying why
// A result is usable when the detector answered without error, predicted REAL or FAKE (an
// UNDETERMINED abstention is reported but not counted) with a probability in [0, 1], and does
// not run random test weights (unless the request opts in with include_random_weights).
import { Prediction, WeightsKind } from "@deepsafe/proto/es/common";
import { EnsembleMethod, Verdict } from "@deepsafe/proto/es/gateway";

export interface FusionInput {
  /** Absent when the detector failed. */
  prediction?: { probabilityFake: number; prediction: Prediction; weightsKind: WeightsKind } | undefined;
  errorCode?: string | undefined;
}

export interface FusionOptions {
  /** Already resolved: UNSPECIFIED is replaced by the media type's default before fusion. */
  method: EnsembleMethod;
  threshold: number;
  includeRandomWeights: boolean;
  /** Stacking only: the deployed meta-learner's answer for these inputs, or why it cannot be used. */
  stacking?: StackingOutcome | undefined;
}

/**
 * What the stacking meta-learner (gateway/src/stacking) made of one request: its P(fake) and which
 * inputs it used, or why it cannot serve this request (then fusion falls back to average and says so).
 */
export type StackingOutcome = { score: number; used: boolean[]; note: string } | { unavailable: string };

export interface FusionResult {
  verdict: Verdict;
  /** Absent when no result was usable. */
  score?: number | undefined;
  confidence: number;
  methodUsed: EnsembleMethod;
  note: string;
  fakeVotes: number;
  realVotes: number;
  totalVotes: number;
  /** Parallel to the inputs: whether each took part in the score. */
  used: boolean[];
}

export function usable(r: FusionInput, includeRandom: boolean): boolean {
  const p = r.prediction;
  if (!p || r.errorCode) return false;
  if (p.prediction !== Prediction.REAL && p.prediction !== Prediction.FAKE) return false;
  if (!Number.isFinite(p.probabilityFake) || p.probabilityFake < 0 || p.probabilityFake > 1) return false;
  return includeRandom || p.weightsKind !== WeightsKind.RANDOM_FIXTURE;
}

/** Why nothing was usable, for the response note. */
function whyNothingUsable(results: FusionInput[]): string {
  if (results.length === 0) return "no detector was called";
  if (results.every((r) => r.errorCode || !r.prediction)) return "every detector failed";
  const answered = results.filter((r) => !r.errorCode && r.prediction);
  if (answered.every((r) => r.prediction!.weightsKind === WeightsKind.RANDOM_FIXTURE))
    return "only detectors with random test weights answered (set include_random_weights to count them)";
  return "no detector gave a usable score (abstained, failed or random test weights)";
}

export function fuse(results: FusionInput[], opts: FusionOptions): FusionResult {
  const notes: string[] = [];
  let method = opts.method;
  const stacked = method === EnsembleMethod.STACKING && opts.stacking && "score" in opts.stacking ? opts.stacking : undefined;
  if (method === EnsembleMethod.STACKING && !stacked) {
    method = EnsembleMethod.AVERAGE;
    const why = opts.stacking && "unavailable" in opts.stacking ? `: ${opts.stacking.unavailable}` : "";
    notes.push(`stacking is not available${why}; fell back to average`);
  } else if (stacked) {
    if (stacked.note) notes.push(stacked.note);
  } else if (method !== EnsembleMethod.VOTING && method !== EnsembleMethod.AVERAGE) {
    method = EnsembleMethod.AVERAGE;
    notes.push("unknown ensemble method: used average");
  }

  const used = stacked ? stacked.used : results.map((r) => usable(r, opts.includeRandomWeights));
  const counted = results.filter((_, i) => used[i]).map((r) => r.prediction!);
  // Votes use each model's own prediction (each thresholded by itself).
  const fakeVotes = counted.filter((p) => p.prediction === Prediction.FAKE).length;
  const realVotes = counted.length - fakeVotes;
  const base = { methodUsed: method, fakeVotes, realVotes, totalVotes: counted.length, used };

  if (counted.length === 0) {
    notes.push(whyNothingUsable(results));
    return { ...base, verdict: Verdict.UNDETERMINED, confidence: 0, note: notes.join("; ") };
  }

  const score = stacked
    ? stacked.score
    : method === EnsembleMethod.VOTING
      ? fakeVotes / counted.length
      : counted.reduce((s, p) => s + p.probabilityFake, 0) / counted.length;

  let verdict: Verdict;
  let confidence: number;
  if (score > opts.threshold) {
    verdict = Verdict.FAKE;
    confidence = score;
  } else if (score < opts.threshold) {
    verdict = Verdict.REAL;
    confidence = 1 - score;
  } else {
    verdict = Verdict.UNDETERMINED;
    confidence = 0;
    notes.push(`ensemble score equals the threshold (${opts.threshold}): a tie is not a verdict`);
  }
  return { ...base, verdict, score, confidence, note: notes.join("; ") };
}
