// The evaluation itself: pick the detectors a running gateway serves, send every labelled file
// through Detect (Connect, streamed, bounded concurrency), record each detector's answer, fuse the
// per-model answers into the ensembles exactly as the gateway does (its own fuse()), and compute the
// metrics per detector and per ensemble.
import { readFile } from "node:fs/promises";
import { createClient, type Client, Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { MediaType, Prediction, WeightsKind } from "@deepsafe/proto/es/common";
import { DeepSafeService, EnsembleMethod, ModelHealth, type DetectResponse, type ListModelsResponse, Verdict } from "@deepsafe/proto/es/gateway";
import { type FusionInput, fuse } from "../../gateway/src/fusion.js";
import type { Dataset, DatasetItem, MediaName } from "./dataset.js";
import {
  type Calibration,
  type Decision,
  type EqualErrorRate,
  type Interval,
  type Label,
  type RocPoint,
  type ThresholdMetrics,
  averagePrecision,
  bootstrapAuc,
  calibration,
  equalErrorRate,
  rocAuc,
  rocCurve,
  thresholdMetrics,
} from "./metrics.js";

export const MEDIA_TYPE: Record<MediaName, MediaType> = { image: MediaType.IMAGE, video: MediaType.VIDEO, audio: MediaType.AUDIO };

export type GatewayClient = Client<typeof DeepSafeService>;

export function gatewayClient(baseUrl: string): GatewayClient {
  return createClient(DeepSafeService, createConnectTransport({ baseUrl, httpVersion: "2" }));
}

export interface ModelDescription {
  name: string;
  /** Part of the media type's default set (what a request naming no models gets). */
  default: boolean;
  weightsKind: string;
  weightsSource: string;
  checkpointSha256: string;
  onnxSha256: string;
  version: string;
  paper: string;
}

export interface Selection {
  models: ModelDescription[];
  /** Detectors of the media type that are not evaluated, with why (random weights, not serving, not asked for). */
  excluded: Array<{ name: string; reason: string }>;
}

/**
 * The detectors to evaluate: every detector of the media type that is SERVING and runs real weights
 * (random test fixtures never count: they are listed as excluded), restricted to `requested` when given.
 * A requested name that cannot be evaluated is an error.
 */
export function selectModels(list: ListModelsResponse, media: MediaName, requested?: string[], options: { includeRandomWeights?: boolean } = {}): Selection {
  const models: ModelDescription[] = [];
  const excluded: Array<{ name: string; reason: string }> = [];
  const ofMedia = list.models.filter((m) => m.mediaType === MEDIA_TYPE[media]);
  for (const m of ofMedia) {
    const kind = m.info?.weights?.kind ?? WeightsKind.UNSPECIFIED;
    let reason: string | undefined;
    if (requested && !requested.includes(m.name)) reason = "not in --models";
    else if (m.health !== ModelHealth.SERVING) reason = `not serving (${ModelHealth[m.health] ?? m.health}${m.healthDetail ? `: ${m.healthDetail}` : ""})`;
    else if (kind === WeightsKind.RANDOM_FIXTURE && !options.includeRandomWeights) reason = "runs random test weights (a fixture, not a detector): never evaluated";
    if (reason) {
      excluded.push({ name: m.name, reason });
      continue;
    }
    const w = m.info?.weights;
    models.push({
      name: m.name,
      default: m.default,
      weightsKind: WeightsKind[kind] ?? String(kind),
      weightsSource: w?.source ?? "",
      checkpointSha256: w?.checkpointSha256 ?? "",
      onnxSha256: w?.onnxSha256 ?? "",
      version: m.info?.version ?? "",
      paper: m.info?.paper ?? "",
    });
  }
  for (const name of requested ?? []) {
    if (!ofMedia.some((m) => m.name === name)) throw new Error(`--models: the gateway has no ${media} detector "${name}" (it has: ${ofMedia.map((m) => m.name).join(", ") || "none"})`);
    if (!models.some((m) => m.name === name)) throw new Error(`--models: "${name}" cannot be evaluated: ${excluded.find((e) => e.name === name)?.reason}`);
  }
  if (models.length === 0) throw new Error(`no ${media} detector can be evaluated: ${excluded.map((e) => `${e.name}: ${e.reason}`).join("; ") || "the gateway lists none"}`);
  return { models, excluded };
}

export interface ModelOutcome {
  status: "scored" | "abstained" | "error";
  /** P(fake), when scored. */
  pFake?: number;
  /** The detector's own decision at the request threshold (FAKE when P(fake) >= threshold). */
  decision?: Decision;
  note?: string;
  /** "CODE: message" when the detector (or the whole request) failed. */
  error?: string;
}

export interface EnsembleOutcome {
  /** Absent when no member gave a usable score. */
  score?: number;
  verdict: Decision;
  /** Members that took part. */
  used: number;
  note?: string;
}

export interface ItemResult {
  path: string;
  label: Label;
  group: string;
  bytes: number;
  seconds: number;
  models: Record<string, ModelOutcome>;
  ensembles: Record<string, EnsembleOutcome>;
  /** The gateway's own fused score over every evaluated model, and ours recomputed from the same answers. */
  gatewayCheck?: { gatewayScore?: number; recomputedScore?: number; gatewayVerdict: string; recomputedVerdict: string };
  requestError?: string;
}

const VERDICT_DECISION: Record<number, Decision> = { [Verdict.FAKE]: "fake", [Verdict.REAL]: "real" };

function verdictDecision(v: Verdict): Decision {
  return VERDICT_DECISION[v] ?? "undetermined";
}

export const ENSEMBLE_METHODS = { average: EnsembleMethod.AVERAGE, voting: EnsembleMethod.VOTING } as const;
export type EnsembleName = keyof typeof ENSEMBLE_METHODS;

function fusionInputs(res: DetectResponse, members: string[]): FusionInput[] {
  return members.map((name) => {
    const r = res.modelResults.find((m) => m.model === name);
    if (!r) return { errorCode: "NOT_IN_RESPONSE" };
    return { prediction: r.prediction, errorCode: r.errorCode || undefined };
  });
}

/** Per-model outcomes and fused ensembles for one answered request. */
export function recordResponse(
  res: DetectResponse,
  models: string[],
  ensembleMembers: string[],
  threshold: number,
  /** Record answers from random test weights too (retrain with an explicit flag); never for evaluation. */
  includeRandomWeights = false,
): Pick<ItemResult, "models" | "ensembles" | "gatewayCheck"> {
  const outcomes: Record<string, ModelOutcome> = {};
  for (const name of models) {
    const r = res.modelResults.find((m) => m.model === name);
    if (!r) outcomes[name] = { status: "error", error: "NOT_IN_RESPONSE: the gateway did not call this detector" };
    else if (r.errorCode || !r.prediction) outcomes[name] = { status: "error", error: `${r.errorCode || "NO_PREDICTION"}: ${r.errorMessage}` };
    else if (r.prediction.weightsKind === WeightsKind.RANDOM_FIXTURE && !includeRandomWeights) outcomes[name] = { status: "error", error: "RANDOM_WEIGHTS: answered with random test weights" };
    else if (r.prediction.prediction !== Prediction.FAKE && r.prediction.prediction !== Prediction.REAL)
      outcomes[name] = { status: "abstained", note: r.prediction.note || "undetermined" };
    else
      outcomes[name] = {
        status: "scored",
        pFake: r.prediction.probabilityFake,
        decision: r.prediction.prediction === Prediction.FAKE ? "fake" : "real",
        ...(r.prediction.note ? { note: r.prediction.note } : {}),
      };
  }
  const ensembles: Record<string, EnsembleOutcome> = {};
  for (const [name, method] of Object.entries(ENSEMBLE_METHODS)) {
    const fused = fuse(fusionInputs(res, ensembleMembers), { method, threshold, includeRandomWeights: false });
    ensembles[name] = {
      ...(fused.score !== undefined ? { score: fused.score } : {}),
      verdict: verdictDecision(fused.verdict),
      used: fused.used.filter(Boolean).length,
      ...(fused.note ? { note: fused.note } : {}),
    };
  }
  // The same fusion over every model of the request, with the method and threshold the gateway used:
  // it must reproduce the gateway's own answer (a check that we fuse exactly as it does).
  const all = fuse(fusionInputs(res, res.modelResults.map((m) => m.model)), {
    method: res.ensembleMethodUsed,
    threshold: res.threshold,
    includeRandomWeights: false,
  });
  return {
    models: outcomes,
    ensembles,
    gatewayCheck: {
      ...(res.ensembleScore !== undefined ? { gatewayScore: res.ensembleScore } : {}),
      ...(all.score !== undefined ? { recomputedScore: all.score } : {}),
      gatewayVerdict: Verdict[res.verdict] ?? String(res.verdict),
      recomputedVerdict: Verdict[all.verdict] ?? String(all.verdict),
    },
  };
}

async function* messages(bytes: Uint8Array, header: Record<string, unknown>, chunkBytes = 64 * 1024) {
  yield { payload: { case: "header" as const, value: { declaredSize: BigInt(bytes.length), ...header } } };
  for (let offset = 0; offset < bytes.length; offset += chunkBytes) yield { payload: { case: "chunk" as const, value: bytes.subarray(offset, offset + chunkBytes) } };
}

const RETRYABLE = new Set([Code.Unavailable, Code.ResourceExhausted, Code.DeadlineExceeded]);
const RETRYABLE_NAMES = new Set(["UNAVAILABLE", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED"]);

export interface RunOptions {
  client: GatewayClient;
  media: MediaName;
  models: string[];
  ensembleMembers: string[];
  threshold: number;
  concurrency: number;
  /** Tries per file when the mesh is busy or a detector was unreachable (default 3). */
  attempts?: number;
  /** Record answers from random test weights (see recordResponse). */
  includeRandomWeights?: boolean;
  onItem?: (item: ItemResult) => void;
}

/** Send one file; retries a busy or unreachable mesh with a short back-off. */
export async function evaluateItem(item: DatasetItem, options: RunOptions): Promise<ItemResult> {
  const bytes = await readFile(item.path);
  const header = {
    mediaType: MEDIA_TYPE[options.media],
    fileName: item.relPath.slice(item.relPath.lastIndexOf("/") + 1),
    models: options.models,
    ensembleMethod: EnsembleMethod.AVERAGE,
    threshold: options.threshold,
    includeRandomWeights: false,
  };
  const base = { path: item.relPath, label: item.label, group: item.group, bytes: bytes.length };
  const attempts = options.attempts ?? 3;
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await options.client.detect(messages(bytes, header));
      const recorded = recordResponse(res, options.models, options.ensembleMembers, options.threshold, options.includeRandomWeights);
      const transient = res.modelResults.some((r) => RETRYABLE_NAMES.has(r.errorCode));
      if (transient && attempt < attempts) {
        await new Promise((r) => setTimeout(r, 500 * attempt));
        continue;
      }
      return { ...base, seconds: (performance.now() - started) / 1000, ...recorded };
    } catch (err) {
      const e = ConnectError.from(err);
      if (RETRYABLE.has(e.code) && attempt < attempts) {
        await new Promise((r) => setTimeout(r, 500 * attempt));
        continue;
      }
      const error = `${Code[e.code]}: ${e.rawMessage}`;
      const models = Object.fromEntries(options.models.map((m) => [m, { status: "error", error } satisfies ModelOutcome]));
      const ensembles = Object.fromEntries(Object.keys(ENSEMBLE_METHODS).map((n) => [n, { verdict: "undetermined", used: 0, note: "request failed" } satisfies EnsembleOutcome]));
      return { ...base, seconds: (performance.now() - started) / 1000, models, ensembles, requestError: error };
    }
  }
}

/** Every item, at most `concurrency` in flight; results in dataset order. */
export async function evaluateAll(dataset: Dataset, options: RunOptions): Promise<ItemResult[]> {
  const results: ItemResult[] = new Array(dataset.items.length);
  let next = 0;
  const worker = async () => {
    while (next < dataset.items.length) {
      const i = next++;
      results[i] = await evaluateItem(dataset.items[i]!, options);
      options.onItem?.(results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, dataset.items.length)) }, worker));
  return results;
}

export interface MethodMetrics {
  name: string;
  kind: "detector" | "ensemble";
  /** Ensembles: the method and its members. */
  members?: string[];
  /** Items with a score (used in every metric below). */
  n: number;
  nReal: number;
  nFake: number;
  abstained: number;
  errors: number;
  auc: number;
  aucCi95: Interval;
  ap: number;
  /** At the threshold, from the detector's own decision (P(fake) >= threshold) or the ensemble's verdict. */
  atThreshold: ThresholdMetrics;
  eer: EqualErrorRate;
  calibration: Calibration;
  roc: RocPoint[];
  meanScoreReal: number;
  meanScoreFake: number;
}

export interface Column {
  name: string;
  kind: "detector" | "ensemble";
  members?: string[];
  /** Per item: the score and decision, or why there is none. */
  cells: Array<{ score: number; decision: Decision } | "abstained" | "error">;
}

export function columns(items: ItemResult[], models: string[], ensembleMembers: string[]): Column[] {
  const cols: Column[] = models.map((name) => ({
    name,
    kind: "detector",
    cells: items.map((it) => {
      const o = it.models[name];
      if (!o || o.status === "error") return "error";
      if (o.status === "abstained") return "abstained";
      return { score: o.pFake!, decision: o.decision! };
    }),
  }));
  for (const ens of Object.keys(ENSEMBLE_METHODS)) {
    cols.push({
      name: ens,
      kind: "ensemble",
      members: ensembleMembers,
      cells: items.map((it) => {
        const e = it.ensembles[ens];
        if (!e || e.score === undefined) {
          // No usable member: an error when every member failed, else an abstention.
          const failed = it.requestError || ensembleMembers.every((m) => it.models[m]?.status === "error");
          return failed ? "error" : "abstained";
        }
        return { score: e.score, decision: e.verdict };
      }),
    });
  }
  return cols;
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
}

export function methodMetrics(col: Column, items: ReadonlyArray<Pick<ItemResult, "label">>, bootstrapResamples = 2000): MethodMetrics {
  const scores: number[] = [];
  const labels: Label[] = [];
  const decisions: Decision[] = [];
  let abstained = 0;
  let errors = 0;
  col.cells.forEach((c, i) => {
    if (c === "abstained") abstained++;
    else if (c === "error") errors++;
    else {
      scores.push(c.score);
      labels.push(items[i]!.label);
      decisions.push(c.decision);
    }
  });
  const ci = bootstrapAuc([scores], labels, { resamples: bootstrapResamples });
  return {
    name: col.name,
    kind: col.kind,
    ...(col.members ? { members: col.members } : {}),
    n: scores.length,
    nReal: labels.filter((l) => l === 0).length,
    nFake: labels.filter((l) => l === 1).length,
    abstained,
    errors,
    auc: rocAuc(scores, labels),
    aucCi95: ci.auc[0]!,
    ap: averagePrecision(scores, labels),
    atThreshold: thresholdMetrics(decisions, labels),
    eer: equalErrorRate(scores, labels),
    calibration: calibration(scores, labels, 10),
    roc: rocCurve(scores, labels),
    meanScoreReal: mean(scores.filter((_, i) => labels[i] === 0)),
    meanScoreFake: mean(scores.filter((_, i) => labels[i] === 1)),
  };
}

export interface FusionComparison {
  members: string[];
  /** Items every member and both ensembles scored (the paired comparison runs on these). */
  n: number;
  nReal: number;
  nFake: number;
  bestSingle: string;
  bestSingleAuc: number;
  ensembles: Array<{ name: string; auc: number; deltaAuc: number; deltaCi95: Interval; verdict: "helps" | "hurts" | "no clear difference" }>;
  memberAucs: Array<{ name: string; auc: number }>;
  /** Plain-language closing note. */
  note: string;
}

/**
 * Does fusion help? On the items every member and both ensembles scored: each ensemble's AUC against
 * the best single member's (chosen on these same items, which favours the single model), with a paired
 * class-stratified bootstrap interval of the difference.
 */
export function compareFusion(cols: Column[], items: ItemResult[], members: string[], bootstrapResamples = 2000): FusionComparison {
  const wanted = [...members, ...Object.keys(ENSEMBLE_METHODS)];
  const byName = new Map(cols.map((c) => [c.name, c]));
  const keep = items.map((_, i) => wanted.every((n) => typeof byName.get(n)?.cells[i] === "object"));
  const labels = items.filter((_, i) => keep[i]).map((it) => it.label);
  const score = (name: string) => byName.get(name)!.cells.filter((_, i) => keep[i]).map((c) => (c as { score: number }).score);
  const memberAucs = members.map((name) => ({ name, auc: rocAuc(score(name), labels) }));
  const best = memberAucs.reduce((a, b) => (b.auc > a.auc ? b : a), memberAucs[0]!);
  const ensNames = Object.keys(ENSEMBLE_METHODS);
  const boot = bootstrapAuc([score(best.name), ...ensNames.map(score)], labels, { resamples: bootstrapResamples, reference: 0 });
  const ensembles = ensNames.map((name, k) => {
    const auc = rocAuc(score(name), labels);
    const ci = boot.deltaVsReference[k + 1]!;
    const verdict: "helps" | "hurts" | "no clear difference" = ci.lo > 0 ? "helps" : ci.hi < 0 ? "hurts" : "no clear difference";
    return { name, auc, deltaAuc: auc - best.auc, deltaCi95: ci, verdict };
  });
  const nReal = labels.filter((l) => l === 0).length;
  const nFake = labels.length - nReal;
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "n/a");
  const parts = ensembles.map(
    (e) => `${e.name} AUC ${f(e.auc)} vs best single (${best.name}) ${f(best.auc)}: Δ ${e.deltaAuc >= 0 ? "+" : ""}${f(e.deltaAuc)}, 95% CI [${f(e.deltaCi95.lo)}, ${f(e.deltaCi95.hi)}] — ${e.verdict}`,
  );
  const helps = ensembles.filter((e) => e.verdict === "helps").map((e) => e.name);
  const hurts = ensembles.filter((e) => e.verdict === "hurts").map((e) => e.name);
  const headline =
    helps.length === ensembles.length
      ? "Fusion helps on this set"
      : helps.length && hurts.length
        ? `Mixed: the ${helps.join(", ")} ensemble helps, the ${hurts.join(", ")} ensemble hurts`
        : helps.length
          ? `Fusion helps on this set only as ${helps.join(", ")}; the other ensemble shows no clear difference`
          : hurts.length
            ? `Fusion does not help on this set: the ${hurts.join(" and ")} ensemble${hurts.length > 1 ? "s are" : " is"} worse than the best single detector`
            : "Fusion shows no clear gain on this set: the difference from the best single detector is within the bootstrap interval";
  if (members.length < 2) {
    const note = `Only one ensemble member (${members.join(", ")}): there is no fusion to compare. ${parts.join("; ")}.`;
    return { members, n: labels.length, nReal, nFake, bestSingle: best.name, bestSingleAuc: best.auc, ensembles, memberAucs, note };
  }
  const note =
    `${headline} (${labels.length} files: ${nReal} real, ${nFake} fake; ensembles of ${members.join(", ")}). ${parts.join("; ")}. ` +
    `Caveats: the best single detector is picked on these same files, which favours it; the intervals reflect resampling ` +
    `these files only, not other speakers, recording chains or generators; a set this small and narrow says how fusion ` +
    `behaves on its own sources, not in general.`;
  return { members, n: labels.length, nReal, nFake, bestSingle: best.name, bestSingleAuc: best.auc, ensembles, memberAucs, note };
}

export interface GroupRow {
  group: string;
  label: Label;
  n: number;
  /** Per method: mean score and share decided fake at the threshold, over the items it scored. */
  methods: Record<string, { scored: number; meanScore: number; fakeRate: number; aucVsOtherClass: number }>;
}

/** Sub-populations (real sources, fake generators): how each method scores each of them. */
export function groupRows(cols: Column[], items: ItemResult[]): GroupRow[] {
  const groups = [...new Set(items.map((it) => it.group))].sort((a, b) => a.localeCompare(b));
  return groups.map((group) => {
    const idx = items.map((it, i) => (it.group === group ? i : -1)).filter((i) => i >= 0);
    const methods: GroupRow["methods"] = {};
    const label = items[idx[0]!]!.label;
    for (const c of cols) {
      const scored = (i: number) => typeof c.cells[i] === "object";
      const cells = idx.filter(scored).map((i) => c.cells[i] as { score: number; decision: Decision });
      // This group against every scored file of the other class.
      const other = items.map((it, i) => i).filter((i) => items[i]!.label !== label && scored(i));
      const both = [...idx.filter(scored), ...other];
      const aucVsOtherClass = rocAuc(both.map((i) => (c.cells[i] as { score: number }).score), both.map((i) => items[i]!.label));
      methods[c.name] = {
        scored: cells.length,
        meanScore: mean(cells.map((x) => x.score)),
        fakeRate: cells.length ? cells.filter((x) => x.decision === "fake").length / cells.length : Number.NaN,
        aucVsOtherClass,
      };
    }
    return { group, label, n: idx.length, methods };
  });
}
