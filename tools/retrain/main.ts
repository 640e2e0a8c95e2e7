// `npm run retrain -- --media audio|image|video [--dataset DIR|manifest.csv] [--optimizer grid|optuna] [--trials N] …`
// `npm run eval    -- --media …`  (the same training from cached features only: no detector call, not deployed)
//
// 1. checks which detectors of the media type serve (through the gateway's registry and ListModels);
// 2. builds the feature matrix (each detector's P(fake) per file; cached by media sha256, model, version, weights);
// 3. trains 8 classifiers in the project's Python venv, picks one by cross-validated AUC, calibrates it;
// 4. writes an artifact (ONNX graph, feature columns, metrics, dataset hash, report) and deploys it by
//    swapping <root>/<media>/current: running gateways reload it without a restart.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadRegistry, repoRoot } from "../../deploy/local/mesh.js";
import { type FeatureColumn, ensemblesRoot, mediaDir } from "../../gateway/src/stacking/artifact.js";
import { CommandLine, CommandMesh, callerPath, fixed3, logDataset, nameList } from "../evaluate/cli.js";
import { loadDataset } from "../evaluate/dataset.js";
import { type GatewayClient, MEDIA_TYPE, gatewayClient, selectModels } from "../evaluate/evaluate.js";
import { FeatureCache } from "./cache.js";
import { type FeatureRow, columnOf, datasetSha256, extractFeatures, mapLimited, sha256File } from "./features.js";
import { newArtifactId, publish, stagingDir, writeManifest } from "./publish.js";
import { type RetrainReport, writeRetrainReport } from "./report.js";
import { baselineColumns, detectorColumns, metricsOf, probabilityColumn, weightedAverageWeights } from "./scoring.js";
import { type Optimizer, train } from "./train.js";
import { ensureVenv } from "./venv.js";

const USAGE = `usage: npm run retrain -- --media audio|image|video [--dataset DIR|manifest.csv] [options]
       npm run eval    -- --media audio|image|video [--dataset DIR|manifest.csv] [options]   (cached features only)

  --dataset DIR            <DIR>/real/** and <DIR>/fake/** (any case) or a CSV manifest path,label[,group];
                           default: the dataset of this media type's last retrain
  --optimizer grid|optuna  hyper-parameter search per classifier (default grid)
  --trials N               Optuna trials per classifier (default 30)
  --folds K                stratified CV folds (default 5; fewer when a class is smaller)
  --test-fraction F        held-out test split, stratified (default 0.25)
  --seed S                 split, CV and model seed (default 0)
  --models a,b,c           feature columns (default: the media type's default detectors that serve)
  --include-random-weights also accept detectors running random test weights as columns (never by default)
  --gateway URL            a running gateway (default: start a mesh of the media type's detectors)
  --concurrency N          files in flight at once (default 2)
  --threshold T            decision threshold for accuracy/F1 (default: the registry's, per media type)
  --no-deploy              write the artifact but leave <root>/<media>/current as it is
  --deploy                 (eval) deploy the artifact too
`;

const cli: CommandLine = new CommandLine("retrain", USAGE);
const values = cli.parse({
  media: { type: "string" },
  dataset: { type: "string" },
  optimizer: { type: "string", default: "grid" },
  trials: { type: "string", default: "30" },
  folds: { type: "string", default: "5" },
  "test-fraction": { type: "string", default: "0.25" },
  seed: { type: "string", default: "0" },
  models: { type: "string" },
  "include-random-weights": { type: "boolean", default: false },
  gateway: { type: "string" },
  concurrency: { type: "string", default: "2" },
  threshold: { type: "string" },
  "no-deploy": { type: "boolean", default: false },
  deploy: { type: "boolean", default: false },
  "from-cache": { type: "boolean", default: false },
});

const media = cli.media(values.media);
const fromCache = values["from-cache"];
const optimizer = values.optimizer as Optimizer;
if (optimizer !== "grid" && optimizer !== "optuna") cli.fail("--optimizer must be grid or optuna");
const trials = cli.integer("trials", values.trials, 1, 10_000);
const folds = cli.integer("folds", values.folds, 2, 20);
const seed = cli.integer("seed", values.seed, 0, 2 ** 31 - 1);
const concurrency = cli.integer("concurrency", values.concurrency, 1, 64);
const testFraction = Number(values["test-fraction"]);
if (!(testFraction > 0 && testFraction < 0.9)) cli.fail("--test-fraction must be in (0, 0.9)");
const requested = nameList(values.models);
const deploy = fromCache ? values.deploy : !values["no-deploy"];

const registry = loadRegistry();
const threshold = cli.threshold(values.threshold !== undefined ? Number(values.threshold) : registry.media[media].threshold);
const root = ensemblesRoot(registry.stacking.dir);
const stateDir = process.env.DEEPSAFE_RETRAIN_DIR ? resolve(process.env.DEEPSAFE_RETRAIN_DIR) : join(repoRoot, ".deepsafe", "retrain");
const lastPath = join(stateDir, media, "last.json");
const cache = new FeatureCache(join(stateDir, "cache", "features.jsonl"));
const log = (line: string) => process.stdout.write(`${line}\n`);

interface LastRun {
  dataset: string;
  columns: FeatureColumn[];
  createdAt: string;
}
const last: LastRun | undefined = (() => {
  try {
    return JSON.parse(readFileSync(lastPath, "utf8")) as LastRun;
  } catch {
    return undefined;
  }
})();
const datasetPath = values.dataset ? callerPath(values.dataset) : last?.dataset;
if (!datasetPath) cli.fail(`--dataset is required (no earlier ${media} retrain to take it from)\n${USAGE}`);
if (fromCache && !last) cli.fail(`no cached ${media} features: run npm run retrain -- --media ${media} --dataset DIR first`);

const mesh = new CommandMesh();

try {
  const dataset = loadDataset(datasetPath, media);
  logDataset(dataset, datasetPath, media, log);
  if (dataset.items.length === 0) throw new Error("no labelled file");

  // The Python environment installs while the detectors run (about a minute the first time).
  const venv = ensureVenv(log);
  venv.catch(() => {});
  const shas = await mapLimited(dataset.items, 4, (it) => sha256File(it.path));

  let columns: FeatureColumn[];
  const excluded: Array<{ name: string; reason: string }> = [];
  let client: GatewayClient | undefined;
  if (fromCache) {
    columns = last!.columns;
    log(`features from the cache only (${cache.size} answers cached): ${columns.map((c) => `${c.model}@${c.version}`).join(", ")}`);
  } else {
    const { url, notStarted } = await mesh.gateway(values.gateway, media, requested);
    excluded.push(...notStarted);
    client = gatewayClient(url);
    const listed = await client.listModels({ mediaType: MEDIA_TYPE[media] });
    const selection = selectModels(listed, media, requested, { includeRandomWeights: values["include-random-weights"] });
    // Default columns: what a request naming no models calls, so stacking serves default requests.
    const chosen = requested ? selection.models : selection.models.filter((m) => m.default);
    for (const m of selection.models) if (!chosen.includes(m)) excluded.push({ name: m.name, reason: "not in the media type's default set (name it in --models to use it)" });
    excluded.push(...selection.excluded);
    if (chosen.length === 0) throw new Error(`no ${requested ? "requested" : "default"} ${media} detector can be a feature column: ${excluded.map((e) => `${e.name}: ${e.reason}`).join("; ")}`);
    columns = chosen.map(columnOf);
    const random = columns.filter((c) => c.weightsKind === "RANDOM_FIXTURE").map((c) => c.model);
    log(`feature columns: ${columns.map((c) => `${c.model}@${c.version} (${c.weightsKind})`).join(", ")}`);
    if (random.length) log(`warning: ${random.join(", ")} run random test weights (--include-random-weights): the meta-learner is no verdict`);
    for (const e of excluded) log(`  not a column: ${e.name}: ${e.reason}`);
  }

  const extraction = await extractFeatures(dataset.items, shas, {
    media,
    columns,
    cache,
    client,
    threshold,
    concurrency,
    includeRandomWeights: values["include-random-weights"],
    progress: !fromCache,
  });
  await mesh.stop();
  log(`features: ${extraction.cacheHits} cached, ${extraction.computed} computed over ${extraction.filesComputed} files in ${extraction.seconds.toFixed(1)} s`);
  mkdirSync(join(stateDir, media), { recursive: true });
  if (!fromCache) writeFileSync(lastPath, `${JSON.stringify({ dataset: datasetPath, columns, createdAt: new Date().toISOString() } satisfies LastRun, null, 2)}\n`);

  // Files no column scored carry no evidence: reported, not trained on (at serving they are UNDETERMINED).
  // `npm run eval` trains only on files whose every column is cached: a miss is reported, never imputed.
  const notCached = new Set(fromCache ? extraction.rows.filter((r) => r.status.includes("error")) : []);
  const rows = extraction.rows.filter((r) => !notCached.has(r) && r.values.some((v) => v !== null));
  const unscored = extraction.rows.filter((r) => !rows.includes(r)).map((r) => ({ path: r.item.relPath, reasons: r.reasons.filter(Boolean) }));
  if (unscored.length) {
    log(`${unscored.length} file(s) not trained on (no score from any column${fromCache ? ", or not in the feature cache" : ""}):`);
    for (const u of unscored.slice(0, 10)) log(`  ${u.path}: ${u.reasons.join("; ")}`);
  }
  const errors = rows.flatMap((r) => r.status.map((s, k) => (s === "error" ? `${r.item.relPath}: ${columns[k]!.model}: ${r.reasons[k]}` : ""))).filter(Boolean);
  if (errors.length) log(`${errors.length} missing answer(s) (imputed in training): ${errors.slice(0, 5).join("; ")}${errors.length > 5 ? " …" : ""}`);

  const python = await venv;
  const id = newArtifactId();
  const staging = stagingDir(root, media, id);
  log(`training 8 classifiers (${optimizer}${optimizer === "optuna" ? `, ${trials} trials each` : ""}) on ${rows.length} files …`);
  const trainStarted = performance.now();
  const result = await train(
    python,
    { X: rows.map((r) => r.values), y: rows.map((r) => r.item.label), seed, test_fraction: testFraction, folds, optimizer, trials, onnxPath: join(staging, "model.onnx") },
    staging,
    true,
  );
  const trainSeconds = (performance.now() - trainStarted) / 1000;

  const pick = (idx: number[]): FeatureRow[] => idx.map((i) => rows[i]!);
  const testRows = pick(result.split.test);
  const members = columns.map((c) => c.model);
  const weights = weightedAverageWeights(pick(result.split.train), columns);
  const [stacking, ...candidateMetrics] = metricsOf(
    [
      probabilityColumn(`stacking (${result.winner}, calibrated)`, members, result.winnerCalibratedTestProba, threshold),
      ...result.candidates.map((c) => probabilityColumn(c.name, members, c.testProba, threshold)),
    ],
    testRows,
  );
  const baselines = metricsOf(baselineColumns(testRows, columns, threshold, weights), testRows);
  const detectors = metricsOf(detectorColumns(testRows, columns, threshold), testRows);
  const winnerCv = result.candidates.find((c) => c.name === result.winner)!;
  const dsSha = datasetSha256(rows);
  const manifest = writeManifest({
    id,
    media,
    staging,
    result,
    columns,
    rows: rows.map((r) => ({ values: r.values, label: r.item.label })),
    dataset: { sha256: dsSha, path: datasetPath },
    metrics: {
      cvAucMean: winnerCv.cvAucMean,
      cvAucStd: winnerCv.cvAucStd,
      testAuc: stacking!.auc,
      testAp: stacking!.ap,
      testEce: stacking!.calibration.ece,
      testFiles: testRows.length,
      trainFiles: result.split.train.length,
    },
  });
  const finalDir = join(mediaDir(root, media), id);

  const report: RetrainReport = {
    tool: "deepsafe-retrain",
    createdAt: manifest.createdAt,
    media,
    mode: fromCache ? "eval" : "retrain",
    threshold,
    dataset: { path: datasetPath, kind: dataset.kind, sha256: dsSha, files: rows.length, real: manifest.dataset.real, fake: manifest.dataset.fake, skipped: dataset.skipped, unscored },
    columns,
    excluded,
    features: { cacheHits: extraction.cacheHits, computed: extraction.computed, filesComputed: extraction.filesComputed, seconds: extraction.seconds, cache: cache.path },
    training: {
      optimizer,
      trials,
      folds: result.folds,
      seed,
      testFraction,
      trainFiles: result.split.train.length,
      testFiles: testRows.length,
      selection: `highest mean ${result.folds}-fold cross-validated ROC AUC on the training split (ties: lower spread, then the simpler model); the test split is never used to choose.`,
      winner: result.winner,
      calibration: result.calibration,
      onnxParityMaxAbsDiff: result.onnx.parityMaxAbsDiff,
      versions: result.versions,
      seconds: trainSeconds,
    },
    candidates: result.candidates.map((c, i) => ({
      name: c.name,
      params: c.params,
      cv: { aucMean: c.cvAucMean, aucStd: c.cvAucStd, aucFolds: c.cvAucFolds },
      test: candidateMetrics[i]!,
      seconds: c.seconds,
      winner: c.name === result.winner,
    })),
    stacking: stacking!,
    baselines,
    weightedAverageWeights: Object.fromEntries(members.map((m, k) => [m, weights[k]!])),
    detectors,
    artifact: {
      dir: finalDir,
      deployed: deploy,
      note: deploy ? `deployed: ${join(mediaDir(root, media), "current")} -> ${id}` : `not deployed (${fromCache ? "npm run eval: add --deploy" : "--no-deploy"})`,
    },
    rows: rows.map((r, i) => ({
      path: r.item.relPath,
      sha256: r.sha256,
      label: r.item.label,
      split: result.split.test.includes(i) ? "test" : "train",
      values: r.values,
      stackingPFake: result.onnx.proba[i]!,
    })),
  };
  await writeRetrainReport(staging, report);
  rmSync(join(staging, "train-request.json"), { force: true });
  publish(staging, root, media, id, deploy);

  const f = fixed3;
  log(`\n${"classifier".padEnd(22)} CV AUC (± sd)    test AUC  test AP  test ECE`);
  for (const c of report.candidates) log(`${(c.winner ? `${c.name} *` : c.name).padEnd(22)} ${f(c.cv.aucMean)} (± ${f(c.cv.aucStd)})  ${f(c.test.auc)}     ${f(c.test.ap)}    ${f(c.test.calibration.ece)}`);
  log(`${"".padEnd(22)} test AUC  test AP  test ECE`);
  for (const m of [stacking!, ...baselines, ...detectors]) log(`${m.name.slice(0, 40).padEnd(40)} ${f(m.auc)}  ${f(m.ap)}  ${f(m.calibration.ece)}`);
  log(`\n* selected by cross-validated AUC; the test split (${testRows.length} files) only reports.`);
  log(`artifact ${finalDir}${deploy ? " (deployed: running gateways reload it)" : " (not deployed)"}`);
  log(`report   ${join(finalDir, "report.html")}`);
} catch (err) {
  process.stderr.write(`\nretrain: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await mesh.stop();
}
