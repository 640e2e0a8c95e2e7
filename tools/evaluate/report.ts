// The evaluation report: report.json (everything, per file too) and a self-contained report.html
// (tables and hand-written inline SVG plots: ROC curves, reliability diagrams, score distributions;
// no scripts, no external resources).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SkippedFile } from "./dataset.js";
import type { FusionComparison, GroupRow, ItemResult, MethodMetrics, ModelDescription } from "./evaluate.js";

export interface Report {
  tool: "deepsafe-evaluate";
  createdAt: string;
  media: string;
  threshold: number;
  dataset: { path: string; kind: "folder" | "manifest"; files: number; real: number; fake: number; skipped: SkippedFile[] };
  gateway: { url: string; startedByEvaluate: boolean };
  models: ModelDescription[];
  excluded: Array<{ name: string; reason: string }>;
  /** The detectors the average and voting ensembles fuse. */
  ensembleMembers: string[];
  metrics: MethodMetrics[];
  fusion: FusionComparison;
  groups: GroupRow[];
  /** Our fusion over every evaluated model against the gateway's own answer for the same request. */
  gatewayCheck: { compared: number; maxAbsScoreDiff: number; verdictMismatches: number };
  seconds: number;
  items: ItemResult[];
}

export function writeReport(outDir: string, report: Report): Promise<{ json: string; html: string }> {
  return writeReportFiles(outDir, report, renderHtml(report));
}

/** report.json and report.html into dir (the retrain report too). */
export async function writeReportFiles(dir: string, report: object, page: string): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, "report.json");
  const html = join(dir, "report.html");
  // NaN and ±Infinity are not JSON: they are written as null (for example the ROC's first threshold).
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(html, page);
  return { json, html };
}

/** The page's head and stylesheet, up to the opening body tag (the retrain report too). */
export function pageHead(title: string, maxWidthPx: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:${maxWidthPx}px;padding:0 16px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}tr.ens{background:#f7f9ff}
.note{background:#fffbe6;border:1px solid #e6d98a;padding:10px 14px}.grid{display:flex;flex-wrap:wrap;gap:12px}
td.abstained{color:#886}td.error{color:#b00}small{color:#666}code{background:#f3f3f3;padding:0 3px}
</style></head><body>`;
}

/** A titled list of names with why (detectors left out), or nothing when the list is empty. */
export function reasonsHtml(title: string, entries: Array<{ name: string; reason: string }>): string {
  return entries.length ? `<p>${esc(title)}</p><ul>${entries.map((e) => `<li>${esc(e.name)}: ${esc(e.reason)}</li>`).join("")}</ul>` : "";
}

/** The dataset's skipped files (no label, or not of the media type), folded. */
export function skippedHtml(skipped: SkippedFile[], media: string): string {
  return skipped.length
    ? `<details><summary>${skipped.length} file(s) skipped (no label or not ${esc(media)})</summary><ul>${skipped.map((s) => `<li>${esc(s.path)}: ${esc(s.reason)}</li>`).join("")}</ul></details>`
    : "<p>No file was skipped.</p>";
}

export const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function f3(x: number | undefined): string {
  return x !== undefined && Number.isFinite(x) ? x.toFixed(3) : "n/a";
}

export function pct(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : "n/a";
}

function label(m: MethodMetrics): string {
  return m.kind === "ensemble" ? `${m.name} ensemble` : m.name;
}

/** One SVG with every method's ROC curve. */
export function rocSvg(metrics: MethodMetrics[]): string {
  const size = 360;
  const pad = 56;
  const x = (v: number) => pad + v * size;
  const y = (v: number) => pad - 16 + (1 - v) * size;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size + pad * 2 + 230} ${size + pad * 2}" width="${size + pad * 2 + 230}" height="${size + pad * 2}" role="img" aria-label="ROC curves">`,
    `<rect x="${x(0)}" y="${y(1)}" width="${size}" height="${size}" fill="#fff" stroke="#444"/>`,
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#bbb" stroke-dasharray="4 4"/>`,
  ];
  for (const t of ticks) {
    parts.push(`<line x1="${x(t)}" y1="${y(0)}" x2="${x(t)}" y2="${y(0) + 4}" stroke="#444"/><text x="${x(t)}" y="${y(0) + 16}" font-size="11" text-anchor="middle">${t}</text>`);
    parts.push(`<line x1="${x(0) - 4}" y1="${y(t)}" x2="${x(0)}" y2="${y(t)}" stroke="#444"/><text x="${x(0) - 7}" y="${y(t) + 4}" font-size="11" text-anchor="end">${t}</text>`);
  }
  parts.push(`<text x="${x(0.5)}" y="${y(0) + 32}" font-size="12" text-anchor="middle">false-positive rate (real called fake)</text>`);
  parts.push(`<text x="16" y="${y(0.5)}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${y(0.5)})">true-positive rate (fake caught)</text>`);
  metrics.forEach((m, i) => {
    if (m.roc.length === 0) return;
    const color = COLORS[i % COLORS.length]!;
    const dash = m.kind === "ensemble" ? ` stroke-dasharray="7 3"` : "";
    const pts = m.roc.map((p) => `${x(p.fpr).toFixed(1)},${y(p.tpr).toFixed(1)}`).join(" ");
    parts.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    const ly = y(1) + 14 + i * 18;
    parts.push(`<line x1="${size + pad + 16}" y1="${ly - 4}" x2="${size + pad + 40}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${size + pad + 46}" y="${ly}" font-size="12">${esc(label(m))} (AUC ${f3(m.auc)})</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** Reliability diagram of one method: share of fakes per P(fake) bin against the diagonal. */
export function reliabilitySvg(m: MethodMetrics, color: string): string {
  const size = 200;
  const pad = 34;
  const x = (v: number) => pad + v * size;
  const y = (v: number) => pad + (1 - v) * size;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size + pad * 2} ${size + pad * 2 + 8}" width="${size + pad * 2}" height="${size + pad * 2 + 8}" role="img" aria-label="reliability diagram ${esc(m.name)}">`,
    `<text x="${pad}" y="16" font-size="12" font-weight="bold">${esc(label(m))} — ECE ${f3(m.calibration.ece)}</text>`,
    `<rect x="${pad}" y="${pad}" width="${size}" height="${size}" fill="#fff" stroke="#444"/>`,
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#bbb" stroke-dasharray="4 4"/>`,
  ];
  for (const b of m.calibration.bins) {
    if (b.count === 0) continue;
    const w = (b.hi - b.lo) * size;
    parts.push(`<rect x="${x(b.lo) + 1}" y="${y(b.fractionFake)}" width="${w - 2}" height="${(b.fractionFake * size).toFixed(1)}" fill="${color}" fill-opacity="0.35" stroke="${color}"/>`);
    parts.push(`<circle cx="${x(b.meanScore).toFixed(1)}" cy="${y(b.fractionFake).toFixed(1)}" r="2.5" fill="#000"/>`);
    parts.push(`<text x="${x((b.lo + b.hi) / 2)}" y="${y(0) - 3}" font-size="9" text-anchor="middle">${b.count}</text>`);
  }
  for (const t of [0, 0.5, 1]) {
    parts.push(`<text x="${x(t)}" y="${y(0) + 13}" font-size="10" text-anchor="middle">${t}</text>`);
    parts.push(`<text x="${x(0) - 5}" y="${y(t) + 3}" font-size="10" text-anchor="end">${t}</text>`);
  }
  parts.push(`<text x="${x(0.5)}" y="${y(0) + 27}" font-size="10" text-anchor="middle">mean P(fake) in bin</text>`);
  parts.push(`<text x="9" y="${y(0.5)}" font-size="10" text-anchor="middle" transform="rotate(-90 9 ${y(0.5)})">share fake</text>`);
  parts.push("</svg>");
  return parts.join("\n");
}

/** Each scored file as a dot at its P(fake), real and fake on separate rows, the threshold marked. */
export function distributionSvg(m: MethodMetrics, items: ItemResult[], threshold: number, color: string): string {
  const width = 440;
  const pad = 60;
  const rowH = 34;
  const x = (v: number) => pad + v * (width - pad - 10);
  const scoreOf = (it: ItemResult): number | undefined =>
    m.kind === "ensemble" ? it.ensembles[m.name]?.score : it.models[m.name]?.status === "scored" ? it.models[m.name]!.pFake : undefined;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${rowH * 2 + 40}" width="${width}" height="${rowH * 2 + 40}" role="img" aria-label="score distribution ${esc(m.name)}">`,
    `<text x="4" y="14" font-size="12" font-weight="bold">${esc(label(m))}</text>`,
  ];
  ["real", "fake"].forEach((name, row) => {
    const cy = 22 + rowH * row + rowH / 2;
    parts.push(`<text x="4" y="${cy + 4}" font-size="11">${name}</text>`);
    parts.push(`<line x1="${x(0)}" y1="${cy}" x2="${x(1)}" y2="${cy}" stroke="#ddd"/>`);
    let k = 0;
    for (const it of items) {
      const s = scoreOf(it);
      if (it.label !== row || s === undefined) continue;
      const jitter = ((k++ * 7919) % 21) - 10; // deterministic vertical spread
      parts.push(`<circle cx="${x(s).toFixed(1)}" cy="${(cy + jitter * 1.2).toFixed(1)}" r="2.6" fill="${color}" fill-opacity="0.55"><title>${esc(it.path)}: ${s.toFixed(4)}</title></circle>`);
    }
  });
  const bottom = 22 + rowH * 2;
  parts.push(`<line x1="${x(threshold)}" y1="20" x2="${x(threshold)}" y2="${bottom}" stroke="#000" stroke-dasharray="3 3"/>`);
  for (const t of [0, 0.25, 0.5, 0.75, 1]) parts.push(`<text x="${x(t)}" y="${bottom + 14}" font-size="10" text-anchor="middle">${t}</text>`);
  parts.push("</svg>");
  return parts.join("\n");
}

/** The metric columns' headings (after the method's name and any extra columns). */
export function metricsHeader(threshold: number): string {
  return `<th>scored (real / fake)</th><th>abstained</th><th>errors</th><th>ROC AUC<br><small>95% bootstrap</small></th><th>AP</th><th>accuracy @${threshold}</th><th>F1 @${threshold}</th><th>TP / FP / TN / FN</th><th>EER</th><th>ECE (10 bins)</th><th>mean P(fake) real / fake</th>`;
}

/** One method's row of the metrics table (columns: metricsHeader); `extra` cells go after the name. */
export function metricsRow(m: MethodMetrics, extra: string[] = []): string {
  return `<tr${m.kind === "ensemble" ? ` class="ens"` : ""}><td>${esc(label(m))}${m.members ? `<br><small>${esc(m.members.join(" + "))}</small>` : ""}</td>${extra.map((c) => `<td>${c}</td>`).join("")}
<td>${m.n} (${m.nReal} / ${m.nFake})</td><td>${m.abstained}</td><td>${m.errors}</td>
<td><b>${f3(m.auc)}</b><br><small>[${f3(m.aucCi95.lo)}, ${f3(m.aucCi95.hi)}]</small></td><td>${f3(m.ap)}</td>
<td>${pct(m.atThreshold.accuracy)}</td><td>${f3(m.atThreshold.f1)}</td>
<td>${m.atThreshold.tp} / ${m.atThreshold.fp} / ${m.atThreshold.tn} / ${m.atThreshold.fn}${m.atThreshold.undetermined ? ` (+${m.atThreshold.undetermined} tie)` : ""}</td>
<td>${pct(m.eer.eer)}<br><small>at ${f3(m.eer.threshold)}</small></td><td>${f3(m.calibration.ece)}</td>
<td>${f3(m.meanScoreReal)} / ${f3(m.meanScoreFake)}</td></tr>`;
}

export function renderHtml(r: Report): string {
  const color = (i: number) => COLORS[i % COLORS.length]!;
  const rows = r.metrics.map((m) => metricsRow(m)).join("\n");
  const fusionRows = r.fusion.ensembles
    .map(
      (e) =>
        `<tr><td>${esc(e.name)}</td><td>${f3(e.auc)}</td><td>${esc(r.fusion.bestSingle)} ${f3(r.fusion.bestSingleAuc)}</td><td>${e.deltaAuc >= 0 ? "+" : ""}${f3(e.deltaAuc)}</td><td>[${f3(e.deltaCi95.lo)}, ${f3(e.deltaCi95.hi)}]</td><td><b>${esc(e.verdict)}</b></td></tr>`,
    )
    .join("\n");
  const methodNames = r.metrics.map((m) => m.name);
  const groupRows = r.groups
    .map(
      (g) =>
        `<tr><td>${esc(g.group)}</td><td>${g.label === 1 ? "fake" : "real"}</td><td>${g.n}</td>${methodNames
          .map((n) => {
            const s = g.methods[n];
            return `<td>${s && s.scored ? `${f3(s.meanScore)}<br><small>${pct(s.fakeRate)} fake · AUC ${f3(s.aucVsOtherClass)}</small>` : "–"}</td>`;
          })
          .join("")}</tr>`,
    )
    .join("\n");
  const fileRows = r.items
    .map((it) => {
      const cells = r.models.map((m) => {
        const o = it.models[m.name];
        if (!o) return "<td>–</td>";
        if (o.status === "scored") return `<td>${o.pFake!.toFixed(4)}</td>`;
        return `<td class="${o.status}" title="${esc(o.error ?? o.note ?? "")}">${o.status}</td>`;
      });
      const ens = ["average", "voting"].map((n) => `<td>${f3(it.ensembles[n]?.score)}</td>`);
      return `<tr><td>${esc(it.path)}</td><td>${it.label === 1 ? "fake" : "real"}</td>${cells.join("")}${ens.join("")}</tr>`;
    })
    .join("\n");
  const models = r.models
    .map(
      (m) =>
        `<li><b>${esc(m.name)}</b>${m.default ? " (default)" : ""}: ${esc(m.weightsKind)} weights, ${esc(m.weightsSource)}${m.checkpointSha256 ? ` <small>sha256 ${esc(m.checkpointSha256)}</small>` : ""}</li>`,
    )
    .join("\n");
  const excluded = reasonsHtml("Not evaluated:", r.excluded);
  const skipped = skippedHtml(r.dataset.skipped, r.media);
  return `${pageHead(`DeepSafe evaluation — ${r.media} — ${r.dataset.path}`, 1200)}
<h1>DeepSafe evaluation: ${esc(r.media)}</h1>
<p>Dataset <code>${esc(r.dataset.path)}</code> (${r.dataset.kind}): <b>${r.dataset.files}</b> files, ${r.dataset.real} real, ${r.dataset.fake} fake.
Gateway ${esc(r.gateway.url)}${r.gateway.startedByEvaluate ? " (a mesh started for this run)" : ""}. Threshold ${r.threshold}. ${esc(r.createdAt)}, ${r.seconds.toFixed(0)} s.</p>
<p class="note"><b>Does fusion help?</b> ${esc(r.fusion.note)}</p>
<h2>Detectors</h2><ul>${models}</ul>${excluded}
<p>Ensembles (average = mean P(fake); voting = share of members whose own decision is fake) fuse <b>${esc(r.ensembleMembers.join(", "))}</b>,
recomputed from the per-model answers with the gateway's own <code>fuse()</code>. Check against the gateway's answer for the same requests:
${r.gatewayCheck.compared} compared, max |Δscore| ${r.gatewayCheck.maxAbsScoreDiff.toExponential(1)}, ${r.gatewayCheck.verdictMismatches} verdict mismatches.</p>
<h2>Metrics</h2>
<table><tr><th>method</th>${metricsHeader(r.threshold)}</tr>
${rows}</table>
<p><small>Fake is the positive class. AUC counts ties as one half. AP is the step-wise area under precision-recall. At the threshold a detector's own decision
(P(fake) ≥ ${r.threshold}) and an ensemble's verdict are used; an ensemble exactly at the threshold is undetermined and counted as wrong. EER is interpolated
linearly between ROC points. ECE is the calibration of P(fake) in 10 equal bins. Abstentions and errors are left out of that method's metrics and counted.
Intervals: class-stratified percentile bootstrap, 2000 resamples, fixed seed.</small></p>
<h2>Fusion against the best single detector</h2>
<p>On the ${r.fusion.n} files every member and both ensembles scored (${r.fusion.nReal} real, ${r.fusion.nFake} fake). Member AUCs there:
${r.fusion.memberAucs.map((m) => `${esc(m.name)} ${f3(m.auc)}`).join(", ")}.</p>
<table><tr><th>ensemble</th><th>AUC</th><th>best single</th><th>ΔAUC</th><th>95% CI of Δ (paired bootstrap)</th><th>on this set</th></tr>${fusionRows}</table>
<h2>ROC curves</h2>
${rocSvg(r.metrics)}
<h2>Reliability diagrams</h2>
<p><small>Bars: share of fakes among the files whose P(fake) falls in the bin (count above the axis); dots at the bin's mean P(fake). A calibrated method follows the diagonal.</small></p>
<div class="grid">${r.metrics.map((m, i) => reliabilitySvg(m, color(i))).join("\n")}</div>
<h2>Scores</h2>
<div class="grid">${r.metrics.map((m, i) => distributionSvg(m, r.items, r.threshold, color(i))).join("\n")}</div>
<h2>By source</h2>
<p><small>Mean P(fake) per group, the share decided fake at the threshold, and the AUC of that group against every file of the other class
(a real source: all fakes against it; a generator: it against all reals), which shows which source or generator the result rests on.</small></p>
<table><tr><th>group</th><th>label</th><th>files</th>${r.metrics.map((m) => `<th>${esc(label(m))}</th>`).join("")}</tr>${groupRows}</table>
<h2>Files</h2>
${skipped}
<details><summary>Every file's scores (${r.items.length})</summary>
<table><tr><th>file</th><th>label</th>${r.models.map((m) => `<th>${esc(m.name)}</th>`).join("")}<th>average</th><th>voting</th></tr>
${fileRows}</table></details>
<h2>Does fusion help?</h2>
<p class="note">${esc(r.fusion.note)}</p>
</body></html>
`;
}
