// The retrain report: report.json (every number, every file's features and split) and a
// self-contained report.html, built from the evaluation report's pieces (metric rows, ROC curves,
// reliability diagrams as inline SVG; no scripts, no external resources).
import type { FeatureColumn } from "../../gateway/src/stacking/artifact.js";
import type { SkippedFile } from "../evaluate/dataset.js";
import type { MethodMetrics } from "../evaluate/evaluate.js";
import { COLORS, esc, f3, metricsHeader, metricsRow, pageHead, reasonsHtml, reliabilitySvg, rocSvg, skippedHtml, writeReportFiles } from "../evaluate/report.js";

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

export function writeRetrainReport(dir: string, r: RetrainReport): Promise<{ json: string; html: string }> {
  return writeReportFiles(dir, r, renderRetrainHtml(r));
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
  const excluded = reasonsHtml("Not feature columns:", r.excluded);
  const skipped = skippedHtml(r.dataset.skipped, r.media);
  const unscored = r.dataset.unscored.length
    ? `<details><summary>${r.dataset.unscored.length} file(s) with no score from any column (not trained on)</summary><ul>${r.dataset.unscored.map((u) => `<li>${esc(u.path)}: ${esc(u.reasons.join("; "))}</li>`).join("")}</ul></details>`
    : "";
  const weights = Object.entries(r.weightedAverageWeights).map(([k, w]) => `${esc(k)} ${f3(w)}`).join(", ");
  return `${pageHead(`DeepSafe stacking retrain — ${r.media} — ${r.dataset.path}`, 1280)}
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
