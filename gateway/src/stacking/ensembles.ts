// The deployed stacking meta-learners, one per media type, kept in step with `<root>/<media>/current`
// without a restart: fs.watch wakes a reload as soon as the pointer is swapped, and a periodic check
// catches what the watcher misses (a directory created later, network file systems).
//
// Serving rules (no guessing):
//   - the request's detectors must be exactly the meta-learner's feature columns, each with the same
//     version and weights; otherwise stacking is unavailable and fusion falls back to average;
//   - a column whose detector failed or abstained in this request is NaN, filled by the imputer inside
//     the exported pipeline (its training median), and the note names it;
//   - with no usable column at all there is no score (UNDETERMINED, as for every method);
//   - columns running random test weights are served only to requests with include_random_weights.
import { type FSWatcher, existsSync, watch } from "node:fs";
import { join } from "node:path";
import { WeightsKind } from "@deepsafe/proto/es/common";
import type { ModelInfo } from "@deepsafe/proto/es/detector";
import type { DetectorState } from "../detectors.js";
import { type FusionInput, type StackingOutcome, usable } from "../fusion.js";
import { MEDIA_NAMES, type MediaName } from "../registry.js";
import { ArtifactError, CURRENT_LINK, type FeatureColumn, currentArtifactDir, mediaDir } from "./artifact.js";
import { MetaLearner } from "./meta-learner.js";

/** What the gateway knows about a detector that would feed a column (from its GetModelInfo). */
export interface LiveDetector {
  name: string;
  info?: ModelInfo | undefined;
}

/** The detectors a request naming no models calls (the pool holds the enabled ones): what health checks the columns against. */
export function defaultDetectors(states: readonly DetectorState[], media: MediaName): LiveDetector[] {
  return states.filter((s) => s.config.media_type === media && s.config.default).map((s) => ({ name: s.config.name, info: s.info }));
}

export type StackingState = "not_deployed" | "ready" | "mismatch" | "error";

export interface StackingStatus {
  state: StackingState;
  /** Where the pointer is read. */
  path: string;
  artifactId: string;
  classifier: string;
  /** "name@version" per column, in input order. */
  columns: string[];
  createdAt: string;
  datasetSha256: string;
  detail: string;
}

interface Slot {
  /** The artifact directory `current` resolved to at the last check. */
  dir?: string | undefined;
  learner?: MetaLearner | undefined;
  error?: string | undefined;
  /** Serialises reloads of one media type. */
  busy: Promise<void>;
  watcher?: FSWatcher | undefined;
}

export interface StackingOptions {
  /** Artifact root: <root>/<media>/current. */
  root: string;
  /** Periodic check of the pointers (the watcher usually reacts first). */
  intervalMs: number;
  log: (msg: string) => void;
}

const weightsName = (k: WeightsKind | undefined) => WeightsKind[k ?? WeightsKind.UNSPECIFIED] ?? String(k);

export function columnName(c: FeatureColumn): string {
  return `${c.model}@${c.version}`;
}

/** Why a column does not describe the live detector (undefined: it does, or nothing is known yet). */
function columnMismatch(c: FeatureColumn, info: ModelInfo | undefined): string | undefined {
  if (!info) return undefined; // never reached yet: its call will fail and be imputed, identity unknown
  if (info.version !== c.version) return `${c.model} runs version ${info.version}, the meta-learner was trained on ${c.version}`;
  const w = info.weights;
  if (weightsName(w?.kind) !== c.weightsKind) return `${c.model} runs ${weightsName(w?.kind)} weights, the meta-learner was trained on ${c.weightsKind}`;
  if (c.checkpointSha256 && w?.checkpointSha256 !== c.checkpointSha256) return `${c.model}'s checkpoint differs from the one the meta-learner was trained on`;
  if (!c.checkpointSha256 && c.onnxSha256 && w?.onnxSha256 !== c.onnxSha256) return `${c.model}'s ONNX graph differs from the one the meta-learner was trained on`;
  return undefined;
}

/** Why the columns do not match these detectors (undefined when they match). */
export function featureMismatch(columns: readonly FeatureColumn[], live: readonly LiveDetector[]): string | undefined {
  const want = columns.map((c) => c.model);
  const have = live.map((d) => d.name);
  const missing = want.filter((n) => !have.includes(n));
  const extra = have.filter((n) => !want.includes(n));
  const problems: string[] = [];
  if (missing.length) problems.push(`trained with ${missing.join(", ")}, which ${missing.length > 1 ? "are" : "is"} not among the detectors called`);
  if (extra.length) problems.push(`${extra.join(", ")} ${extra.length > 1 ? "are" : "is"} called but not a feature`);
  for (const c of columns) {
    const m = columnMismatch(c, live.find((d) => d.name === c.model)?.info);
    if (m) problems.push(m);
  }
  return problems.length ? problems.join("; ") : undefined;
}

export class StackingEnsembles {
  private readonly slots = new Map<MediaName, Slot>(MEDIA_NAMES.map((m) => [m, { busy: Promise.resolve() }]));
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: StackingOptions) {}

  /** Load what is deployed now, then follow the pointers. */
  async start(): Promise<void> {
    await Promise.all(MEDIA_NAMES.map((m) => this.refresh(m)));
    this.timer = setInterval(() => {
      for (const m of MEDIA_NAMES) void this.refresh(m);
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  /** Re-read one media type's pointer and (re)load when it moved. Resolves when done. */
  refresh(media: MediaName): Promise<void> {
    const slot = this.slots.get(media)!;
    slot.busy = slot.busy.then(() => this.reload(media, slot)).catch((err: unknown) => this.opts.log(`stacking: ${media}: ${(err as Error).message}`));
    return slot.busy;
  }

  private watchPointer(media: MediaName, slot: Slot): void {
    if (slot.watcher || this.closed) return;
    const dir = mediaDir(this.opts.root, media);
    if (!existsSync(dir)) return; // the periodic check tries again
    try {
      slot.watcher = watch(dir, () => void this.refresh(media));
      slot.watcher.on("error", () => {
        slot.watcher?.close();
        slot.watcher = undefined;
      });
      slot.watcher.unref();
    } catch {
      slot.watcher = undefined; // no inotify here: the periodic check still reloads
    }
  }

  private async reload(media: MediaName, slot: Slot): Promise<void> {
    if (this.closed) return;
    this.watchPointer(media, slot);
    let dir: string | undefined;
    try {
      dir = currentArtifactDir(this.opts.root, media);
    } catch (err) {
      dir = undefined;
      slot.error = (err as Error).message;
    }
    if (dir === slot.dir) return;
    const previous = slot.learner;
    slot.dir = dir;
    slot.learner = undefined;
    slot.error = undefined;
    if (dir) {
      try {
        slot.learner = await MetaLearner.load(dir);
        const m = slot.learner.manifest;
        if (m.media !== media) {
          await slot.learner.release();
          slot.learner = undefined;
          throw new ArtifactError(`${dir} was trained for ${m.media}, not ${media}`);
        }
        this.opts.log(`stacking: ${media}: loaded ${m.classifier} meta-learner ${m.id} over ${m.features.map(columnName).join(", ")}`);
      } catch (err) {
        // A deployed artifact that cannot be served is not replaced by an older one: stacking falls
        // back to average and health says why.
        slot.error = (err as Error).message;
        this.opts.log(`stacking: ${media}: cannot serve ${dir}: ${slot.error}`);
      }
    } else if (previous) {
      this.opts.log(`stacking: ${media}: no meta-learner deployed any more`);
    }
    await previous?.release();
  }

  /** The deployed meta-learner of a media type, if one is loaded. */
  learner(media: MediaName): MetaLearner | undefined {
    return this.slots.get(media)!.learner;
  }

  /** For health: what is deployed and whether it fits `live` (the detectors a default request calls). */
  status(media: MediaName, live: readonly LiveDetector[]): StackingStatus {
    const slot = this.slots.get(media)!;
    const path = join(mediaDir(this.opts.root, media), CURRENT_LINK);
    const m = slot.learner?.manifest;
    const base = {
      path,
      artifactId: m?.id ?? "",
      classifier: m?.classifier ?? "",
      columns: m?.features.map(columnName) ?? [],
      createdAt: m?.createdAt ?? "",
      datasetSha256: m?.dataset.sha256 ?? "",
    };
    if (slot.error) return { ...base, state: "error", detail: `stacking falls back to average: ${slot.error}` };
    if (!m) return { ...base, state: "not_deployed", detail: `no meta-learner deployed (${path}); stacking falls back to average. Train one: npm run retrain -- --media ${media}` };
    const mismatch = featureMismatch(m.features, live);
    if (mismatch) return { ...base, state: "mismatch", detail: `feature columns do not match the default ${media} detectors: ${mismatch}; stacking falls back to average` };
    return { ...base, state: "ready", detail: `${m.classifier} over ${base.columns.join(", ")}` };
  }

  /**
   * The meta-learner's P(fake) for one request, given each called detector's answer (parallel to
   * `inputs`) and what the gateway knows about it; or why stacking cannot serve this request.
   */
  async score(media: MediaName, inputs: ReadonlyArray<FusionInput & { detector: LiveDetector }>, includeRandomWeights: boolean): Promise<StackingOutcome> {
    const slot = this.slots.get(media)!;
    const learner = slot.learner;
    if (!learner) return { unavailable: slot.error ?? `no meta-learner is deployed for ${media}` };
    const m = learner.manifest;
    const mismatch = featureMismatch(m.features, inputs.map((i) => i.detector));
    if (mismatch) return { unavailable: `the meta-learner ${m.id} does not match this request's detectors (${mismatch})` };
    const random = m.features.filter((c) => c.weightsKind === weightsName(WeightsKind.RANDOM_FIXTURE)).map((c) => c.model);
    if (random.length && !includeRandomWeights) return { unavailable: `the meta-learner ${m.id} uses ${random.join(", ")}, which run random test weights (set include_random_weights)` };

    const used = inputs.map((i) => usable(i, true));
    const missing: string[] = [];
    const row = m.features.map((c) => {
      const k = inputs.findIndex((i) => i.detector.name === c.model);
      if (used[k]) return inputs[k]!.prediction!.probabilityFake;
      missing.push(`${c.model} (${inputs[k]!.errorCode ? `failed: ${inputs[k]!.errorCode}` : "no score"})`);
      return Number.NaN;
    });
    if (!used.some(Boolean)) return { score: Number.NaN, used, note: "" };
    const [score] = await learner.predictRows([row]);
    if (!(score! >= 0 && score! <= 1)) return { unavailable: `the meta-learner ${m.id} returned ${score}, not a probability` };
    const note =
      `stacking: ${m.classifier} meta-learner ${m.id}` +
      (missing.length ? `; no score from ${missing.join(", ")}: imputed with its training median by the meta-learner's pipeline` : "");
    return { score: score!, used, note };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const slot of this.slots.values()) {
      slot.watcher?.close();
      await slot.busy;
      await slot.learner?.release();
      slot.learner = undefined;
    }
  }
}
