// The feature matrix: every feature column's (detector's) P(fake) for every labelled file. Answers come
// from the cache when the same bytes went through the same detector version and weights before;
// the rest go through the gateway's Detect (only the detectors still missing for that file),
// `concurrency` files at a time, with a progress bar and ETA.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { SingleBar } from "cli-progress";
import type { FeatureColumn } from "../../gateway/src/stacking/artifact.js";
import type { DatasetItem, MediaName } from "../evaluate/dataset.js";
import { type GatewayClient, type ModelDescription, evaluateItem } from "../evaluate/evaluate.js";
import type { FeatureCache } from "./cache.js";

export type CellStatus = "scored" | "abstained" | "error";

export interface FeatureRow {
  item: DatasetItem;
  sha256: string;
  /** Per column: P(fake), or null when the detector gave none (abstained or failed: imputed in training). */
  values: Array<number | null>;
  status: CellStatus[];
  /** Per column: why there is no value. */
  reasons: string[];
}

export function columnOf(m: ModelDescription): FeatureColumn {
  return { model: m.name, version: m.version, weightsKind: m.weightsKind, checkpointSha256: m.checkpointSha256, onnxSha256: m.onnxSha256 };
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}

/** A content hash of the labelled set: sha256 over the sorted "file sha256 <tab> label" lines. */
export function datasetSha256(rows: ReadonlyArray<{ sha256: string; item: DatasetItem }>): string {
  const lines = rows.map((r) => `${r.sha256}\t${r.item.label}`).sort();
  return createHash("sha256").update(lines.join("\n")).digest("hex");
}

/** Run `fn` over `items`, at most `concurrency` at once; results in input order. */
export async function mapLimited<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return out;
}

export interface ExtractOptions {
  media: MediaName;
  columns: FeatureColumn[];
  cache: FeatureCache;
  /** The gateway to ask for what the cache lacks; absent: cache only (`npm run eval`), misses are errors. */
  client?: GatewayClient | undefined;
  threshold: number;
  concurrency: number;
  includeRandomWeights: boolean;
  /** Progress bar on stderr (a line every 15 s when not a terminal). */
  progress: boolean;
}

export interface Extraction {
  rows: FeatureRow[];
  /** Answers taken from the cache, and computed now (detector calls). */
  cacheHits: number;
  computed: number;
  /** Files that needed at least one detector call, and the seconds those took. */
  filesComputed: number;
  seconds: number;
}

export async function extractFeatures(items: DatasetItem[], shas: string[], o: ExtractOptions): Promise<Extraction> {
  let cacheHits = 0;
  let computed = 0;
  const rows: FeatureRow[] = items.map((item, i) => ({ item, sha256: shas[i]!, values: [], status: [], reasons: [] }));
  const todo: Array<{ row: FeatureRow; missing: FeatureColumn[] }> = [];
  for (const row of rows) {
    const missing: FeatureColumn[] = [];
    o.columns.forEach((c, k) => {
      const hit = o.cache.get(row.sha256, c);
      if (hit) {
        cacheHits++;
        row.status[k] = hit.status;
        row.values[k] = hit.status === "scored" ? hit.pFake! : null;
        row.reasons[k] = hit.status === "abstained" ? `abstained: ${hit.note ?? "undetermined"}` : "";
      } else {
        missing.push(c);
        row.status[k] = "error";
        row.values[k] = null;
        row.reasons[k] = "not in the feature cache (npm run eval never calls detectors: run npm run retrain)";
      }
    });
    if (missing.length) todo.push({ row, missing });
  }
  const started = performance.now();
  if (!o.client || todo.length === 0) return { rows, cacheHits, computed, filesComputed: 0, seconds: 0 };

  const bar = o.progress
    ? new SingleBar({
        format: "features [{bar}] {value}/{total} files | {eta_formatted} left | {calls} detector calls | errors {errors}",
        stream: process.stderr,
        hideCursor: true,
        noTTYOutput: true,
        notTTYSchedule: 15_000,
      })
    : undefined;
  let errors = 0;
  bar?.start(todo.length, 0, { calls: 0, errors });
  const client = o.client;
  await mapLimited(todo, o.concurrency, async ({ row, missing }) => {
    const names = missing.map((c) => c.model);
    const res = await evaluateItem(row.item, {
      client,
      media: o.media,
      models: names,
      ensembleMembers: names,
      threshold: o.threshold,
      concurrency: 1,
      includeRandomWeights: o.includeRandomWeights,
    });
    for (const c of missing) {
      const k = o.columns.indexOf(c);
      const out = res.models[c.model];
      if (out?.status === "scored" || out?.status === "abstained") {
        o.cache.put(row.sha256, c, { status: out.status, ...(out.pFake !== undefined ? { pFake: out.pFake } : {}), ...(out.note ? { note: out.note } : {}) });
        computed++;
        row.status[k] = out.status;
        row.values[k] = out.status === "scored" ? out.pFake! : null;
        row.reasons[k] = out.status === "abstained" ? `abstained: ${out.note ?? "undetermined"}` : "";
      } else {
        errors++;
        row.reasons[k] = out?.error ?? res.requestError ?? "no answer";
      }
    }
    bar?.increment(1, { calls: computed, errors });
  });
  bar?.stop();
  return { rows, cacheHits, computed, filesComputed: todo.length, seconds: (performance.now() - started) / 1000 };
}
