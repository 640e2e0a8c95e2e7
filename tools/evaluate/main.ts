// `npm run evaluate -- --media audio --dataset DIR|manifest.csv [--gateway URL] [--models a,b,c]
//                      [--ensemble a,b,c] [--out DIR] [--concurrency N] [--threshold 0.5]`
//
// Sends every labelled file through a running gateway (or a mesh it starts itself), records each
// detector's P(fake), fuses them as the gateway does, and writes report.json and report.html with AUC,
// AP, accuracy and F1 at the threshold, EER, ECE with reliability diagrams, and ROC curves, per
// detector and for the average and voting ensembles, plus whether fusion beats the best single one.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { SingleBar } from "cli-progress";
import { type Mesh, repoRoot } from "../../deploy/local/mesh.js";
import { type MediaName, loadDataset } from "./dataset.js";
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
import { startMediaMesh } from "./local-mesh.js";
import { type Report, writeReport } from "./report.js";

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

function fail(message: string): never {
  process.stderr.write(`evaluate: ${message}\n`);
  process.exit(2);
}

function list(value: string | undefined): string[] | undefined {
  const names = value?.split(",").map((s) => s.trim()).filter(Boolean);
  return names && names.length ? names : undefined;
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        media: { type: "string" },
        dataset: { type: "string" },
        gateway: { type: "string" },
        models: { type: "string" },
        ensemble: { type: "string" },
        out: { type: "string" },
        concurrency: { type: "string", default: "2" },
        threshold: { type: "string", default: "0.5" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
})();

if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const media = values.media as MediaName | undefined;
if (!media || !(media in MEDIA_TYPE)) fail(`--media must be audio, image or video\n${USAGE}`);
if (!values.dataset) fail(`--dataset is required\n${USAGE}`);
const concurrency = Number(values.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) fail("--concurrency must be an integer from 1 to 64");
const threshold = Number(values.threshold);
if (!(threshold >= 0 && threshold <= 1)) fail("--threshold must be in [0, 1]");
const requested = list(values.models);

// `npm run` changes into the repository root; paths on the command line are the caller's.
const callerDir = process.env.INIT_CWD ?? process.cwd();
const datasetPath = resolve(callerDir, values.dataset);
const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
const outDir = values.out ? resolve(callerDir, values.out) : resolve(repoRoot, ".deepsafe", "eval", `${media}-${stamp}`);

const dataset = (() => {
  try {
    return loadDataset(datasetPath, media);
  } catch (err) {
    fail((err as Error).message);
  }
})();
const nReal = dataset.items.filter((i) => i.label === 0).length;
const nFake = dataset.items.length - nReal;
process.stdout.write(`dataset ${datasetPath}: ${dataset.items.length} ${media} files (${nReal} real, ${nFake} fake)\n`);
if (dataset.skipped.length) {
  process.stdout.write(`skipped ${dataset.skipped.length} file(s), never labelled:\n`);
  for (const s of dataset.skipped.slice(0, 20)) process.stdout.write(`  ${s.path}: ${s.reason}\n`);
  if (dataset.skipped.length > 20) process.stdout.write(`  … and ${dataset.skipped.length - 20} more (all listed in report.json)\n`);
}
if (dataset.items.length === 0) fail("no labelled file to evaluate");
if (nReal === 0 || nFake === 0) process.stdout.write("warning: only one class present: AUC, AP and EER are undefined\n");

let mesh: Mesh | undefined;
const prepExcluded: Array<{ name: string; reason: string }> = [];
const stopMesh = async () => {
  const m = mesh;
  mesh = undefined;
  await m?.stop();
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping\n`);
    void stopMesh().finally(() => process.exit(130));
  });
}

try {
  let gatewayUrl = values.gateway;
  if (!gatewayUrl) {
    const started = await startMediaMesh(media, { requested, log: (line) => process.stdout.write(line), onStarted: (m) => (mesh = m) });
    mesh = started.mesh;
    prepExcluded.push(...started.notStarted);
    gatewayUrl = mesh.gatewayUrl;
  }

  const client = gatewayClient(gatewayUrl);
  const listed = await client.listModels({ mediaType: MEDIA_TYPE[media] });
  const selection = selectModels(listed, media, requested);
  const models = selection.models.map((m) => m.name);
  const members = list(values.ensemble) ?? selection.models.filter((m) => m.default).map((m) => m.name);
  const ensembleMembers = members.length ? members : models;
  for (const m of ensembleMembers) if (!models.includes(m)) throw new Error(`--ensemble: "${m}" is not among the evaluated detectors (${models.join(", ")})`);
  const excluded = [...prepExcluded, ...selection.excluded];
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
    gateway: { url: gatewayUrl, startedByEvaluate: mesh !== undefined },
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

  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "  n/a");
  const p = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : "n/a");
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
  await stopMesh();
}
