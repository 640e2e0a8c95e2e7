// `npm run evaluate -- --media audio --dataset DIR|manifest.csv [--gateway URL] [--models a,b,c]
//                      [--ensemble a,b,c] [--out DIR] [--concurrency N] [--threshold 0.5]`
//
// Sends every labelled file through a running gateway (or a mesh it starts itself), records each
// detector's P(fake), fuses them as the gateway does, and writes report.json and report.html with AUC,
// AP, accuracy and F1 at the threshold, EER, ECE with reliability diagrams, and ROC curves, per
// detector and for the average and voting ensembles, plus whether fusion beats the best single one.
import { resolve } from "node:path";
import { SingleBar } from "cli-progress";
import { repoRoot } from "../../deploy/local/mesh.js";
import { CommandLine, CommandMesh, callerPath, fixed3, logDataset, nameList } from "./cli.js";
import { loadDataset } from "./dataset.js";
import {
  MEDIA_TYPE,
  type ItemResult,
  columns,
  compareFusion,
  evaluateAll,
  gatewayClient,
  groupRows,
  methodMetrics,
  selectModels,
} from "./evaluate.js";
import { type Report, pct, writeReport } from "./report.js";

const USAGE = `usage: npm run evaluate -- --media audio|image|video --dataset DIR|manifest.csv [options]

  --dataset DIR         <DIR>/real/** and <DIR>/fake/** (folder names in any case); or a CSV manifest
                        path,label[,group] (label real/fake or 0/1, paths relative to the CSV)
  --gateway URL         a running gateway (default: start a mesh of the media type's detectors whose
                        weights are ready, and stop it afterwards)
  --models a,b,c        evaluate only these detectors (default: every serving one of the media type)
  --ensemble a,b,c      the detectors the average/voting ensembles fuse (default: the media type's
                        default set, as a request naming no models gets)
  --out DIR             where report.json and report.html go (default .deepsafe/eval/<media>-<time>)
  --concurrency N       files in flight at once (default 2)
  --threshold T         decision threshold (default 0.5)
`;

const cli: CommandLine = new CommandLine("evaluate", USAGE);
const values = cli.parse({
  media: { type: "string" },
  dataset: { type: "string" },
  gateway: { type: "string" },
  models: { type: "string" },
  ensemble: { type: "string" },
  out: { type: "string" },
  concurrency: { type: "string", default: "2" },
  threshold: { type: "string", default: "0.5" },
});
const media = cli.media(values.media);
if (!values.dataset) cli.fail(`--dataset is required\n${USAGE}`);
const concurrency = cli.integer("concurrency", values.concurrency, 1, 64);
const threshold = cli.threshold(Number(values.threshold));
const requested = nameList(values.models);

const datasetPath = callerPath(values.dataset);
const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
const outDir = values.out ? callerPath(values.out) : resolve(repoRoot, ".deepsafe", "eval", `${media}-${stamp}`);

const dataset = (() => {
  try {
    return loadDataset(datasetPath, media);
  } catch (err) {
    cli.fail((err as Error).message);
  }
})();
const nReal = logDataset(dataset, datasetPath, media, (line) => process.stdout.write(`${line}\n`));
const nFake = dataset.items.length - nReal;
if (dataset.items.length === 0) cli.fail("no labelled file to evaluate");
if (nReal === 0 || nFake === 0) process.stdout.write("warning: only one class present: AUC, AP and EER are undefined\n");

const mesh = new CommandMesh();

try {
  const { url: gatewayUrl, notStarted } = await mesh.gateway(values.gateway, media, requested);
  const client = gatewayClient(gatewayUrl);
  const listed = await client.listModels({ mediaType: MEDIA_TYPE[media] });
  const selection = selectModels(listed, media, requested);
  const models = selection.models.map((m) => m.name);
  const members = nameList(values.ensemble) ?? selection.models.filter((m) => m.default).map((m) => m.name);
  const ensembleMembers = members.length ? members : models;
  for (const m of ensembleMembers) if (!models.includes(m)) throw new Error(`--ensemble: "${m}" is not among the evaluated detectors (${models.join(", ")})`);
  const excluded = [...notStarted, ...selection.excluded];
  process.stdout.write(`evaluating ${models.join(", ")}; ensembles of ${ensembleMembers.join(", ")}\n`);
  for (const e of excluded) process.stdout.write(`  excluded ${e.name}: ${e.reason}\n`);

  const bar = new SingleBar(
    {
      format: "evaluate [{bar}] {value}/{total} files | {eta_formatted} left | abstentions {abstained} | errors {errors}",
      stream: process.stderr,
      hideCursor: true,
      // Not a terminal (CI, a log file): a line every 15 s instead of a redrawn bar.
      noTTYOutput: true,
      notTTYSchedule: 15_000,
    },
  );
  let abstained = 0;
  let errors = 0;
  bar.start(dataset.items.length, 0, { abstained, errors });
  const started = performance.now();
  const items: ItemResult[] = await evaluateAll(dataset, {
    client,
    media,
    models,
    ensembleMembers,
    threshold,
    concurrency,
    onItem: (it) => {
      for (const o of Object.values(it.models)) {
        if (o.status === "abstained") abstained++;
        if (o.status === "error") errors++;
      }
      bar.increment(1, { abstained, errors });
    },
  });
  bar.stop();
  const seconds = (performance.now() - started) / 1000;

  const cols = columns(items, models, ensembleMembers);
  const metrics = cols.map((c) => methodMetrics(c, items));
  const fusion = compareFusion(cols, items, ensembleMembers);
  let compared = 0;
  let maxAbsScoreDiff = 0;
  let verdictMismatches = 0;
  for (const it of items) {
    const g = it.gatewayCheck;
    if (!g) continue;
    compared++;
    if (g.gatewayScore !== undefined || g.recomputedScore !== undefined)
      maxAbsScoreDiff = Math.max(maxAbsScoreDiff, Math.abs((g.gatewayScore ?? Number.NaN) - (g.recomputedScore ?? Number.NaN)) || 0);
    if ((g.gatewayScore === undefined) !== (g.recomputedScore === undefined)) verdictMismatches++;
    else if (g.gatewayVerdict !== g.recomputedVerdict) verdictMismatches++;
  }
  const report: Report = {
    tool: "deepsafe-evaluate",
    createdAt: new Date().toISOString(),
    media,
    threshold,
    dataset: { path: datasetPath, kind: dataset.kind, files: dataset.items.length, real: nReal, fake: nFake, skipped: dataset.skipped },
    gateway: { url: gatewayUrl, startedByEvaluate: mesh.started },
    models: selection.models,
    excluded,
    ensembleMembers,
    metrics,
    fusion,
    groups: groupRows(cols, items),
    gatewayCheck: { compared, maxAbsScoreDiff, verdictMismatches },
    seconds,
    items,
  };
  const written = await writeReport(outDir, report);

  const f = fixed3;
  const p = pct;
  process.stdout.write(`\n${dataset.items.length} files in ${seconds.toFixed(0)} s (${(dataset.items.length / seconds).toFixed(2)} files/s)\n\n`);
  process.stdout.write(`${"method".padEnd(16)} ${"n".padStart(4)} ${"abst".padStart(4)} ${"err".padStart(4)}  AUC   [95% CI]        AP     acc@t   F1@t   EER     ECE\n`);
  for (const m of metrics) {
    process.stdout.write(
      `${(m.kind === "ensemble" ? `${m.name}*` : m.name).padEnd(16)} ${String(m.n).padStart(4)} ${String(m.abstained).padStart(4)} ${String(m.errors).padStart(4)}  ${f(m.auc)} [${f(m.aucCi95.lo)}, ${f(m.aucCi95.hi)}]  ${f(m.ap)}  ${p(m.atThreshold.accuracy).padStart(6)}  ${f(m.atThreshold.f1)}  ${p(m.eer.eer).padStart(6)}  ${f(m.calibration.ece)}\n`,
    );
  }
  process.stdout.write(`* ensemble of ${ensembleMembers.join(", ")} (gateway check: ${compared} compared, max |Δ| ${maxAbsScoreDiff.toExponential(1)}, ${verdictMismatches} verdict mismatches)\n\n`);
  process.stdout.write(`${fusion.note}\n\nwrote ${written.json}\n      ${written.html}\n`);
} catch (err) {
  process.stderr.write(`\nevaluate: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await mesh.stop();
}
