// Binary detection metrics for the evaluation command. Convention: label 1 = fake (the positive
// class), 0 = real; a score is P(fake), higher = more likely fake.
//
// Every function takes plain arrays and is deterministic (the bootstrap uses a seeded generator), so
// the same inputs always give the same report.

export type Label = 0 | 1;

export interface RocPoint {
  /** Scores >= threshold are called fake at this point (+Infinity for the (0, 0) corner). */
  threshold: number;
  fpr: number;
  tpr: number;
}

function check(scores: readonly number[], labels: readonly Label[]): void {
  if (scores.length !== labels.length) throw new Error(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  for (const s of scores) if (!Number.isFinite(s)) throw new Error(`score is not a finite number: ${s}`);
}

function counts(labels: readonly Label[]): { pos: number; neg: number } {
  let pos = 0;
  for (const l of labels) pos += l;
  return { pos, neg: labels.length - pos };
}

/**
 * Area under the ROC curve: the probability that a random fake scores above a random real, ties
 * counting one half (Mann-Whitney U from mid-ranks). NaN when either class is empty.
 */
export function rocAuc(scores: readonly number[], labels: readonly Label[]): number {
  check(scores, labels);
  const { pos, neg } = counts(labels);
  if (pos === 0 || neg === 0) return Number.NaN;
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSumPos = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const midRank = (i + j) / 2 + 1; // ranks are 1-based; a tie group shares the mean rank
    for (let k = i; k <= j; k++) if (labels[order[k]!] === 1) rankSumPos += midRank;
    i = j + 1;
  }
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Tie groups in decreasing score order, with the cumulative true/false positives after each. */
function descendingGroups(scores: readonly number[], labels: readonly Label[]): Array<{ score: number; tp: number; fp: number }> {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const out: Array<{ score: number; tp: number; fp: number }> = [];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length; ) {
    const s = scores[order[i]!]!;
    while (i < order.length && scores[order[i]!] === s) {
      if (labels[order[i]!] === 1) tp++;
      else fp++;
      i++;
    }
    out.push({ score: s, tp, fp });
  }
  return out;
}

/** The ROC curve: one point per distinct score (ties move diagonally), from (0, 0) to (1, 1). */
export function rocCurve(scores: readonly number[], labels: readonly Label[]): RocPoint[] {
  check(scores, labels);
  const { pos, neg } = counts(labels);
  if (pos === 0 || neg === 0) return [];
  const points: RocPoint[] = [{ threshold: Number.POSITIVE_INFINITY, fpr: 0, tpr: 0 }];
  for (const g of descendingGroups(scores, labels)) points.push({ threshold: g.score, fpr: g.fp / neg, tpr: g.tp / pos });
  return points;
}

/**
 * Average precision (area under the precision-recall curve as a step function, no interpolation):
 * sum over distinct thresholds of (recall gained) x (precision there). NaN without fakes.
 */
export function averagePrecision(scores: readonly number[], labels: readonly Label[]): number {
  check(scores, labels);
  const { pos } = counts(labels);
  if (pos === 0) return Number.NaN;
  let ap = 0;
  let lastRecall = 0;
  for (const g of descendingGroups(scores, labels)) {
    const recall = g.tp / pos;
    ap += (recall - lastRecall) * (g.tp / (g.tp + g.fp));
    lastRecall = recall;
  }
  return ap;
}

export interface EqualErrorRate {
  /** Where the false-positive rate equals the false-negative rate, interpolated linearly on the ROC. */
  eer: number;
  /** The score at the ROC point where the rates cross (the first point with FNR <= FPR). */
  threshold: number;
}

/** Equal error rate. NaN when either class is empty. */
export function equalErrorRate(scores: readonly number[], labels: readonly Label[]): EqualErrorRate {
  const roc = rocCurve(scores, labels);
  if (roc.length === 0) return { eer: Number.NaN, threshold: Number.NaN };
  let prev = roc[0]!;
  for (const p of roc) {
    const d = 1 - p.tpr - p.fpr; // FNR - FPR: starts at 1, ends at -1, never increases
    if (d <= 0) {
      const dPrev = 1 - prev.tpr - prev.fpr;
      const t = dPrev - d === 0 ? 0 : dPrev / (dPrev - d);
      return { eer: prev.fpr + t * (p.fpr - prev.fpr), threshold: p.threshold };
    }
    prev = p;
  }
  return { eer: Number.NaN, threshold: Number.NaN }; // unreachable: the last point is (1, 1)
}

export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  /** Mean P(fake) of the scores in the bin (NaN when empty). */
  meanScore: number;
  /** Share of fakes among them (NaN when empty). */
  fractionFake: number;
}

export interface Calibration {
  /** Expected calibration error: sum over bins of (n_bin / n) x |fraction fake - mean P(fake)|. */
  ece: number;
  /** Largest gap in a non-empty bin. */
  mce: number;
  bins: ReliabilityBin[];
}

/**
 * Calibration of P(fake) in equal-width bins over [0, 1] (bin i holds [i/b, (i+1)/b), the last one
 * also holds 1). This is the reliability of the fake-class probability, not of max(p, 1 - p).
 */
export function calibration(scores: readonly number[], labels: readonly Label[], nBins = 10): Calibration {
  check(scores, labels);
  const sums = Array.from({ length: nBins }, () => ({ count: 0, score: 0, fake: 0 }));
  scores.forEach((s, i) => {
    const b = Math.min(nBins - 1, Math.max(0, Math.floor(s * nBins)));
    const bin = sums[b]!;
    bin.count++;
    bin.score += s;
    bin.fake += labels[i]!;
  });
  let ece = 0;
  let mce = 0;
  const bins = sums.map((b, i) => {
    const meanScore = b.count ? b.score / b.count : Number.NaN;
    const fractionFake = b.count ? b.fake / b.count : Number.NaN;
    if (b.count) {
      const gap = Math.abs(fractionFake - meanScore);
      ece += (b.count / scores.length) * gap;
      mce = Math.max(mce, gap);
    }
    return { lo: i / nBins, hi: (i + 1) / nBins, count: b.count, meanScore, fractionFake };
  });
  return { ece: scores.length ? ece : Number.NaN, mce: scores.length ? mce : Number.NaN, bins };
}

export type Decision = "fake" | "real" | "undetermined";

export interface ThresholdMetrics {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /**
   * Decisions that were neither fake nor real (an ensemble exactly at the threshold). Not in tp/fp/tn/fn,
   * but counted as wrong in accuracy, precision, recall and F1 (a fake as missed, a real as a false alarm).
   */
  undetermined: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Accuracy, precision, recall and F1 of fake-vs-real decisions (fake = positive). */
export function thresholdMetrics(decisions: readonly Decision[], labels: readonly Label[]): ThresholdMetrics {
  if (decisions.length !== labels.length) throw new Error("decisions and labels differ in length");
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  let undetermined = 0;
  decisions.forEach((d, i) => {
    const fake = labels[i] === 1;
    if (d === "undetermined") undetermined++;
    else if (d === "fake") fake ? tp++ : fp++;
    else fake ? fn++ : tn++;
  });
  // An undetermined decision is counted as wrong: a missed fake (FN) or a false alarm on a real (FP).
  const undFake = decisions.filter((d, i) => d === "undetermined" && labels[i] === 1).length;
  const undReal = undetermined - undFake;
  const FN = fn + undFake;
  const FP = fp + undReal;
  const n = decisions.length;
  const precision = tp + FP ? tp / (tp + FP) : Number.NaN;
  const recall = tp + FN ? tp / (tp + FN) : Number.NaN;
  const f1 = 2 * tp + FP + FN ? (2 * tp) / (2 * tp + FP + FN) : Number.NaN;
  return { tp, fp, tn, fn, undetermined, accuracy: n ? (tp + tn) / n : Number.NaN, precision, recall, f1 };
}

/** Deterministic 32-bit generator (mulberry32) for the bootstrap. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Indices of a class-stratified resample with replacement (each class keeps its size). */
function stratifiedResample(labels: readonly Label[], random: () => number): number[] {
  const byClass: number[][] = [[], []];
  labels.forEach((l, i) => byClass[l]!.push(i));
  const out: number[] = [];
  for (const members of byClass) for (let k = 0; k < members.length; k++) out.push(members[Math.floor(random() * members.length)]!);
  return out;
}

export interface Interval {
  lo: number;
  hi: number;
}

/**
 * Percentile bootstrap (class-stratified, seeded) of the AUC of one or more score columns over the
 * same items, and of each column's AUC minus the reference column's (paired: the same resample for
 * every column). Returns a 95% interval per column and per difference.
 */
export function bootstrapAuc(
  columns: readonly (readonly number[])[],
  labels: readonly Label[],
  options: { resamples?: number; seed?: number; reference?: number; level?: number } = {},
): { auc: Interval[]; deltaVsReference: Interval[] } {
  const { resamples = 2000, seed = 20240901, reference = 0, level = 0.95 } = options;
  const { pos, neg } = counts(labels);
  const empty = { lo: Number.NaN, hi: Number.NaN };
  if (pos === 0 || neg === 0 || columns.length === 0) return { auc: columns.map(() => empty), deltaVsReference: columns.map(() => empty) };
  const random = seededRandom(seed);
  const aucs = columns.map(() => [] as number[]);
  const deltas = columns.map(() => [] as number[]);
  for (let r = 0; r < resamples; r++) {
    const idx = stratifiedResample(labels, random);
    const l = idx.map((i) => labels[i]!);
    const a = columns.map((col) => rocAuc(idx.map((i) => col[i]!), l));
    a.forEach((v, c) => {
      aucs[c]!.push(v);
      deltas[c]!.push(v - a[reference]!);
    });
  }
  const tail = (1 - level) / 2;
  const interval = (xs: number[]): Interval => {
    const sorted = [...xs].sort((x, y) => x - y);
    return { lo: quantile(sorted, tail), hi: quantile(sorted, 1 - tail) };
  };
  return { auc: aucs.map(interval), deltaVsReference: deltas.map(interval) };
}
