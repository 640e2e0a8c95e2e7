// The retrain report: report.json (every number, every file's features and split) and a
// self-contained report.html, built from the evaluation report's pieces (metric rows, ROC curves,
// reliability diagrams as inline SVG; no scripts, no external resources).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FeatureColumn } from "../../gateway/src/stacking/artifact.js";
import type { SkippedFile } from "../evaluate/dataset.js";
import type { MethodMetrics } from "../evaluate/evaluate.js";
import { COLORS, esc, f3, metricsHeader, metricsRow, reliabilitySvg, rocSvg } from "../evaluate/report.js";

export interface CandidateReport {
  name: string;
  params: Record<string, unknown>;
  cv: { aucMean: number; aucStd: number; aucFolds: Array<number | null> };
  /** On the test split, uncalibrated (scikit-learn). */
  test: MethodMetrics;
  seconds: number;
  winner: boolean;
}

export interface RetrainReport {
  tool: "deepsafe-retrain";
  createdAt: string;
  media: string;
  mode: "retrain" | "eval";
  threshold: number;
  dataset: {
    path: string;
    kind: "folder" | "manifest";
    sha256: string;
    files: number;
    real: number;
    fake: number;
    skipped: SkippedFile[];
    /** Labelled files no feature column scored (every detector abstained or failed): not trained on. */
    unscored: Array<{ path: string; reasons: string[] }>;
  };
  columns: FeatureColumn[];
  /** Detectors of the media type that are not feature columns, with why. */
  excluded: Array<{ name: string; reason: string }>;
  features: { cacheHits: number; computed: number; filesComputed: number; seconds: number; cache: string };
  training: {
    optimizer: string;
    trials: number;
    folds: number;
    seed: number;
    testFraction: number;
    trainFiles: number;
    testFiles: number;
    selection: string;
    winner: string;
    calibration: { method: string; folds: number; fittedOn: string };
    onnxParityMaxAbsDiff: number;
    versions: Record<string, string>;
    seconds: number;
  };
  candidates: CandidateReport[];
  /** The deployed meta-learner (calibrated, as its ONNX graph answers) on the test split. */
  stacking: MethodMetrics;
  baselines: MethodMetrics[];
  weightedAverageWeights: Record<string, number>;
  detectors: MethodMetrics[];
  artifact: { dir: string; deployed: boolean; note: string };
  /** Every trained-on file: its features, split, and the deployed graph's P(fake) for it. */
  rows: Array<{ path: string; sha256: string; label: 0 | 1; split: "train" | "test"; values: Array<number | null>; stackingPFake: number }>;
}

export async function writeRetrainReport(dir: string, r: RetrainReport): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, "report.json");
  const html = join(dir, "report.html");
  await writeFile(json, `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(html, renderRetrainHtml(r));
  return { json, html };
}

function cvCell(c: CandidateReport): string {
  return `<b>${f3(c.cv.aucMean)}</b> ± ${f3(c.cv.aucStd)}`;
}

export function renderRetrainHtml(r: RetrainReport): string {
  const color = (i: number) => COLORS[i % COLORS.length]!;
  const t = r.training;
  const candidateRows = r.candidates
    .map((c) => metricsRow(c.test, [cvCell(c) + (c.winner ? " ◀ selected" : ""), `<small>${esc(JSON.stringify(c.params))}</small>`]))
    .join("\n");
  const compared = [r.stacking, ...r.baselines, ...r.detectors];
  const comparedRows = compared.map((m) => metricsRow(m)).join("\n");
  const winner = r.candidates.find((c) => c.winner);
  const reliability = [r.stacking, ...(winner ? [winner.test] : []), ...r.baselines.slice(0, 1)].map((m, i) => reliabilitySvg(m, color(i))).join("\n");
  const columns = r.columns
    .map((c) => `<li><b>${esc(c.model)}</b> ${esc(c.version)} — ${esc(c.weightsKind)} weights${c.checkpointSha256 ? ` <small>checkpoint sha256 ${esc(c.checkpointSha256)}</small>` : ""}</li>`)
    .join("\n");
  const excluded = r.excluded.length ? `<p>Not feature columns:</p><ul>${r.excluded.map((e) => `<li>${esc(e.name)}: ${esc(e.reason)}</li>`).join("")}</ul>` : "";
  const skipped = r.dataset.skipped.length
    ? `<details><summary>${r.dataset.skipped.length} file(s) skipped (no label or not ${esc(r.media)})</summary><ul>${r.dataset.skipped.map((s) => `<li>${esc(s.path)}: ${esc(s.reason)}</li>`).join("")}</ul></details>`
    : "<p>No file was skipped.</p>";
  const unscored = r.dataset.unscored.length
    ? `<details><summary>${r.dataset.unscored.length} file(s) with no score from any column (not trained on)</summary><ul>${r.dataset.unscored.map((u) => `<li>${esc(u.path)}: ${esc(u.reasons.join("; "))}</li>`).join("")}</ul></details>`
    : "";
  const weights = Object.entries(r.weightedAverageWeights).map(([k, w]) => `${esc(k)} ${f3(w)}`).join(", ");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DeepSafe stacking retrain — ${esc(r.media)} — ${esc(r.dataset.path)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1280px;padding:0 16px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}tr.ens{background:#f7f9ff}
.note{background:#fffbe6;border:1px solid #e6d98a;padding:10px 14px}.grid{display:flex;flex-wrap:wrap;gap:12px}
</style></head><body>
<h1>Stacking meta-learner — ${esc(r.media)}</h1>
<p>${esc(r.createdAt)} · ${r.mode === "eval" ? "retrained from cached features (no detector calls)" : "features computed through the gateway"} · dataset <code>${esc(r.dataset.path)}</code>
(${r.dataset.files} files: ${r.dataset.real} real, ${r.dataset.fake} fake; sha256 <small>${esc(r.dataset.sha256)}</small>) · threshold ${r.threshold}</p>
<p class="note"><b>Selected: ${esc(t.winner)}</b> — ${esc(t.selection)} Calibration: ${esc(t.calibration.method)} (Platt), ${t.calibration.folds} folds, ${esc(t.calibration.fittedOn)}; it is inside the exported ONNX graph
(ONNX vs scikit-learn: max |ΔP| ${t.onnxParityMaxAbsDiff.toExponential(1)}). Artifact: <code>${esc(r.artifact.dir)}</code> — ${esc(r.artifact.note)}.
Test split: ${t.testFiles} files (train ${t.trainFiles}); the test split was used for the numbers below only, never for selection.
With so few test files the intervals are wide: read them before the point estimates.</p>
<h2>Feature columns</h2><ul>${columns}</ul>${excluded}
<p>Features: ${r.features.cacheHits} answers from the cache, ${r.features.computed} computed (${r.features.filesComputed} files, ${r.features.seconds.toFixed(1)} s); cache <code>${esc(r.features.cache)}</code>.</p>
<h2>The 8 classifiers: cross-validation (selection) and test split</h2>
<p>${esc(t.optimizer === "optuna" ? `Optuna (TPE), ${t.trials} trials each` : "grid search")}, stratified ${t.folds}-fold CV on the training split, ROC AUC. Imputation (median) and scaling are inside each pipeline.</p>
<table><tr><th>classifier</th><th>CV AUC mean ± sd</th><th>tuned parameters</th>${metricsHeader(r.threshold)}</tr>
${candidateRows}</table>
<h2>Deployed meta-learner against the baselines and each detector (test split)</h2>
<p>Weighted average: weights from each detector's training-split AUC above chance (${weights}).</p>
<table><tr><th>method</th>${metricsHeader(r.threshold)}</tr>
${comparedRows}</table>
<h2>ROC curves (test split)</h2><div class="grid">${rocSvg(compared)}${rocSvg(r.candidates.map((c) => c.test))}</div>
<h2>Reliability (test split)</h2><div class="grid">${reliability}</div>
<h2>Data</h2>${skipped}${unscored}
<p><small>Versions: ${esc(Object.entries(t.versions).map(([k, v]) => `${k} ${v}`).join(", "))}. Training took ${t.seconds.toFixed(1)} s.</small></p>
</body></html>
`;
}
