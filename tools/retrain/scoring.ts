// Test-split metrics for every method the retrain compares, with the evaluation command's own metric
// code (tools/evaluate: methodMetrics) and the gateway's own fusion (fuse) for the baselines:
//   - each detector alone (its own decision: P(fake) >= threshold);
//   - the baselines: average and voting (exactly as the gateway fuses), and a weighted average whose
//     weights are fitted on the training split (each detector's training AUC above chance);
//   - each of the 8 tuned classifiers (uncalibrated), and the deployed meta-learner (calibrated, as
//     the ONNX graph answers). An ensemble's decision: score > threshold fake, < real, = undetermined.
import { Prediction, WeightsKind } from "@deepsafe/proto/es/common";
import { EnsembleMethod, Verdict } from "@deepsafe/proto/es/gateway";
import { type FusionInput, fuse } from "../../gateway/src/fusion.js";
import type { FeatureColumn } from "../../gateway/src/stacking/artifact.js";
import { type Column, type MethodMetrics, methodMetrics } from "../evaluate/evaluate.js";
import { type Decision, type Label, rocAuc } from "../evaluate/metrics.js";
import type { FeatureRow } from "./features.js";

type Cell = Column["cells"][number];

function ensembleDecision(score: number, threshold: number): Decision {
  return score > threshold ? "fake" : score < threshold ? "real" : "undetermined";
}

const labelOf = (r: FeatureRow): Label => r.item.label;

export function detectorColumns(rows: FeatureRow[], columns: FeatureColumn[], threshold: number): Column[] {
  return columns.map((c, k) => ({
    name: c.model,
    kind: "detector" as const,
    cells: rows.map((r): Cell => {
      const v = r.values[k];
      if (v === null || v === undefined) return r.status[k] === "abstained" ? "abstained" : "error";
      return { score: v, decision: v >= threshold ? "fake" : "real" };
    }),
  }));
}

function fusionInputs(r: FeatureRow, columns: FeatureColumn[], threshold: number): FusionInput[] {
  return columns.map((c, k) => {
    const v = r.values[k];
    const weightsKind = WeightsKind[c.weightsKind as keyof typeof WeightsKind] ?? WeightsKind.UNSPECIFIED;
    if (r.status[k] === "error") return { errorCode: "ERROR" };
    if (v === null || v === undefined) return { prediction: { probabilityFake: 0, prediction: Prediction.UNDETERMINED, weightsKind } };
    return { prediction: { probabilityFake: v, prediction: v >= threshold ? Prediction.FAKE : Prediction.REAL, weightsKind } };
  });
}

const VERDICT: Record<number, Decision> = { [Verdict.FAKE]: "fake", [Verdict.REAL]: "real" };

/**
 * Weighted-average weights from the training rows: max(AUC - 0.5, 0) per detector, normalised; all
 * equal when no detector beats chance there.
 */
export function weightedAverageWeights(trainRows: FeatureRow[], columns: FeatureColumn[]): number[] {
  const raw = columns.map((_, k) => {
    const scored = trainRows.filter((r) => r.values[k] !== null && r.values[k] !== undefined);
    const auc = rocAuc(scored.map((r) => r.values[k]!), scored.map(labelOf));
    return Number.isFinite(auc) ? Math.max(auc - 0.5, 0) : 0;
  });
  const sum = raw.reduce((a, b) => a + b, 0);
  return sum > 0 ? raw.map((w) => w / sum) : columns.map(() => 1 / columns.length);
}

/** average, voting (the gateway's fuse()) and weighted average over the feature columns. */
export function baselineColumns(rows: FeatureRow[], columns: FeatureColumn[], threshold: number, weights: number[]): Column[] {
  const members = columns.map((c) => c.model);
  const viaFuse = (name: string, method: EnsembleMethod): Column => ({
    name,
    kind: "ensemble",
    members,
    cells: rows.map((r): Cell => {
      const inputs = fusionInputs(r, columns, threshold);
      // Random-weight columns are only here when the user asked for them: count them.
      const f = fuse(inputs, { method, threshold, includeRandomWeights: true });
      if (f.score === undefined) return inputs.every((i) => i.errorCode) ? "error" : "abstained";
      return { score: f.score, decision: VERDICT[f.verdict] ?? "undetermined" };
    }),
  });
  const weighted: Column = {
    name: "weighted_average",
    kind: "ensemble",
    members,
    cells: rows.map((r): Cell => {
      let num = 0;
      let den = 0;
      r.values.forEach((v, k) => {
        if (v === null || v === undefined) return;
        num += weights[k]! * v;
        den += weights[k]!;
      });
      if (den === 0) return r.status.every((s) => s === "error") ? "error" : "abstained";
      const score = num / den;
      return { score, decision: ensembleDecision(score, threshold) };
    }),
  };
  return [viaFuse("average", EnsembleMethod.AVERAGE), viaFuse("voting", EnsembleMethod.VOTING), weighted];
}

/** A classifier's P(fake) per row as a column. */
export function probabilityColumn(name: string, members: string[], proba: number[], threshold: number): Column {
  return { name, kind: "ensemble", members, cells: proba.map((p) => ({ score: p, decision: ensembleDecision(p, threshold) })) };
}

export function metricsOf(cols: Column[], rows: FeatureRow[], bootstrapResamples = 2000): MethodMetrics[] {
  const labels = rows.map((r) => ({ label: labelOf(r) }));
  return cols.map((c) => methodMetrics(c, labels, bootstrapResamples));
}
