// `npm run retrain` end to end: a labelled audio set built here with ffmpeg, a real mesh of the audio
// detectors (official weights, one process each, gateway in front), the real command (features through
// Detect, 8 classifiers in the project's Python venv, ONNX export, atomic deploy), then the running
// gateway: hot reload without a restart, ensemble_method STACKING answered by the deployed graph, the
// documented fallback on a column mismatch, and `npm run eval` retraining from the cache with the
// mesh stopped (so no detector can be called).
//
// The labels exercise the mechanics only: "real" are non-speech signals, "fake" is flite speech. The
// scores mean nothing about the detectors' quality and nothing here asserts that they do.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cpSync, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MediaType } from "@deepsafe/proto/es/common";
import { EnsembleMethod, StackingState } from "@deepsafe/proto/es/gateway";
import { MANIFEST_FILE, type Manifest, deployArtifact, mediaDir } from "../../gateway/src/stacking/artifact.js";
import { until } from "../../gateway/test/until.js";
import { startMediaMesh } from "../../tools/evaluate/local-mesh.js";
import type { RetrainReport } from "../../tools/retrain/report.js";
import type { Mesh } from "../local/mesh.js";
import { connectClient, detectVia } from "./clients.js";
import { addEdgeCases, haveAudioWeights, makeAudio, runCommand } from "./labelled-audio.js";

const DETECTORS = ["aasist", "rawgat-st", "lfcc-lcnn"];

/** 12 "real" non-speech clips, 12 "fake" flite clips (2 s each), one empty WAV, two unlabelled files. */
async function buildSet(set: string): Promise<void> {
  const jobs: Array<Promise<void>> = [];
  for (let i = 0; i < 4; i++) jobs.push(makeAudio(join(set, "real", "tones", `sine-${i}.wav`), ["-f", "lavfi", "-i", `sine=frequency=${180 + 130 * i}:duration=2`], 2));
  for (const [i, color] of ["pink", "white", "brown", "blue"].entries()) {
    jobs.push(makeAudio(join(set, "Real", "noise", `${color}.wav`), ["-f", "lavfi", "-i", `anoisesrc=color=${color}:duration=2:amplitude=0.${2 + i}:seed=${i + 1}`], 2));
  }
  for (let i = 0; i < 4; i++) {
    jobs.push(makeAudio(join(set, "real", "chirps", `chirp-${i}.wav`), ["-f", "lavfi", "-i", `aevalsrc=0.3*sin(2*PI*(${100 + 80 * i}+${150 * (i + 1)}*t)*t):s=16000:d=2`], 2));
  }
  const texts = ["The quick brown fox jumps over the lazy dog.", "Every file is scored by every detector.", "Please hold while we connect your call."];
  const voices = ["kal", "slt", "awb", "rms"];
  voices.forEach((voice) =>
    texts.forEach((text, j) => jobs.push(makeAudio(join(set, "FAKE", voice, `${voice}-${j}.wav`), ["-f", "lavfi", "-i", `flite=text='${text}':voice=${voice}`], 2))),
  );
  await Promise.all(jobs);
  addEdgeCases(set, join("real", "tones", "sine-0.wav"));
}

test("npm run retrain: features through a real audio mesh, 8 classifiers, ONNX deployed, hot-reloaded and served; npm run eval from the cache", async () => {
  if (!haveAudioWeights) return console.log("skipped: DEEPSAFE_WEIGHTS_MIRROR has no aasist/AASIST.pth");
  const dir = mkdtempSync(join(tmpdir(), "deepsafe-retrain-e2e-"));
  const set = join(dir, "set");
  const root = join(dir, "ensembles");
  const env = { ...process.env, DEEPSAFE_LOG_LEVEL: "warn", DEEPSAFE_ENSEMBLES_DIR: root, DEEPSAFE_RETRAIN_DIR: join(dir, "state") };
  await buildSet(set);

  let mesh: Mesh | undefined;
  try {
    ({ mesh } = await startMediaMesh("audio", { requested: DETECTORS, log: () => {}, registry: { stacking: { dir: root, reload_interval_ms: 500 } } }));
    const client = connectClient(mesh.gatewayUrl);
    const audioStacking = async () => (await client.getHealth({})).mediaTypes.find((m) => m.mediaType === MediaType.AUDIO)!.stacking!;
    assert.is((await audioStacking()).state, StackingState.NOT_DEPLOYED);
    const gatewayPid = mesh.processes.get("gateway")!.child.pid;

    const started = performance.now();
    const r = await runCommand(process.execPath, ["--import", "tsx", "tools/retrain/main.ts", "--media", "audio", "--dataset", set, "--gateway", mesh.gatewayUrl, "--folds", "3"], env, 540_000);
    console.log(`retrain over 25 labelled files (features, 8 classifiers, export; venv ready): ${((performance.now() - started) / 1000).toFixed(1)} s`);
    assert.is(r.code, 0, r.out);
    assert.match(r.out, /skipped 2 file\(s\)/);
    assert.match(r.out, /features: 0 cached, 75 computed over 25 files/); // 25 labelled files x 3 detectors (cache empty)
    assert.match(r.out, /1 file\(s\) not trained on/); // the empty WAV: every detector abstains

    // The artifact: whole, deployed, described.
    const current = join(mediaDir(root, "audio"), "current");
    assert.ok(lstatSync(current).isSymbolicLink());
    const artifact = join(mediaDir(root, "audio"), readlinkSync(current));
    for (const f of ["model.onnx", MANIFEST_FILE, "report.json", "report.html"]) assert.ok(existsSync(join(artifact, f)), f);
    const manifest = JSON.parse(readFileSync(join(artifact, MANIFEST_FILE), "utf8")) as Manifest;
    assert.equal(manifest.features.map((c) => c.model), DETECTORS);
    for (const c of manifest.features) {
      assert.is(c.weightsKind, "OFFICIAL");
      assert.match(c.checkpointSha256, /^[0-9a-f]{64}$/);
    }
    assert.is(manifest.dataset.files, 24);
    assert.match(manifest.dataset.sha256, /^[0-9a-f]{64}$/);
    const report = JSON.parse(readFileSync(join(artifact, "report.json"), "utf8")) as RetrainReport;
    assert.equal(report.candidates.map((c) => c.name).sort(), ["gradient_boosting", "knn", "lightgbm", "logistic_regression", "naive_bayes", "random_forest", "svm", "xgboost"]);
    const best = Math.max(...report.candidates.map((c) => c.cv.aucMean));
    const winner = report.candidates.filter((c) => c.winner);
    assert.is(winner.length, 1);
    assert.is(winner[0]!.name, manifest.classifier);
    assert.is(winner[0]!.cv.aucMean, best, "selected by CV score");
    for (const c of report.candidates) {
      assert.is(c.cv.aucFolds.length, 3, c.name);
      assert.is(c.test.n, report.training.testFiles, c.name);
    }
    assert.equal(report.baselines.map((b) => b.name), ["average", "voting", "weighted_average"]);
    assert.equal(report.detectors.map((d) => d.name), DETECTORS);
    assert.is(report.stacking.n, report.training.testFiles);
    assert.ok(report.training.onnxParityMaxAbsDiff <= 2e-2);
    assert.is(report.dataset.unscored.length, 1);
    const html = readFileSync(join(artifact, "report.html"), "utf8");
    assert.ok((html.match(/<svg /g) ?? []).length >= 3, "ROC curves and reliability diagrams");
    assert.not.match(html, /<script|<link|src="http/i);

    // The running gateway picks it up without a restart and serves it.
    const h = await until(audioStacking, (s) => s.state === StackingState.READY);
    assert.is(h.artifactId, manifest.id);
    assert.is(mesh.processes.get("gateway")!.child.pid, gatewayPid);
    const row = report.rows.find((x) => x.split === "train" && x.values.every((v) => v !== null))!;
    const bytes = readFileSync(join(set, row.path));
    const res = await detectVia(client, bytes, { mediaType: MediaType.AUDIO, ensembleMethod: EnsembleMethod.STACKING });
    assert.is(res.ensembleMethodUsed, EnsembleMethod.STACKING, res.note);
    assert.ok(Math.abs(res.ensembleScore! - row.stackingPFake) < 1e-5, `gateway ${res.ensembleScore} vs training-time graph ${row.stackingPFake} for ${row.path}`);
    assert.match(res.note, new RegExp(`stacking: ${manifest.classifier} meta-learner ${manifest.id}`));

    // Column mismatch, per request: other detectors than the columns -> average, said so.
    const partial = await detectVia(client, bytes, { mediaType: MediaType.AUDIO, ensembleMethod: EnsembleMethod.STACKING, models: ["aasist", "rawgat-st"] });
    assert.is(partial.ensembleMethodUsed, EnsembleMethod.AVERAGE);
    assert.match(partial.note, /trained with lfcc-lcnn, which is not among the detectors called.*fell back to average/);

    // Column mismatch, deployed: an artifact whose column names other weights -> health MISMATCH, average.
    const otherId = `${manifest.id}-other-weights`;
    const other = join(mediaDir(root, "audio"), otherId);
    cpSync(artifact, other, { recursive: true });
    const altered = { ...manifest, id: otherId, features: manifest.features.map((c, k) => (k === 1 ? { ...c, checkpointSha256: "0".repeat(64) } : c)) };
    writeFileSync(join(other, MANIFEST_FILE), JSON.stringify(altered));
    deployArtifact(root, "audio", other);
    const mismatch = await until(audioStacking, (s) => s.artifactId === otherId);
    assert.is(mismatch.state, StackingState.MISMATCH);
    assert.match(mismatch.detail, /rawgat-st's checkpoint differs/);
    const fallback = await detectVia(client, bytes, { mediaType: MediaType.AUDIO, ensembleMethod: EnsembleMethod.STACKING });
    assert.is(fallback.ensembleMethodUsed, EnsembleMethod.AVERAGE);
    assert.match(fallback.note, /rawgat-st's checkpoint differs.*fell back to average/);
    deployArtifact(root, "audio", artifact);
    await until(audioStacking, (s) => s.state === StackingState.READY && s.artifactId === manifest.id);

    // npm run eval: the mesh is gone, so every feature must come from the cache.
    await mesh.stop();
    mesh = undefined;
    const e = await runCommand(process.execPath, ["--import", "tsx", "tools/retrain/main.ts", "--from-cache", "--media", "audio", "--optimizer", "optuna", "--trials", "3", "--folds", "3"], env, 300_000);
    assert.is(e.code, 0, e.out);
    assert.match(e.out, /features: 75 cached, 0 computed/);
    assert.match(e.out, /\(not deployed\)/);
    assert.is(readlinkSync(current), manifest.id, "eval does not deploy");
    const evalDir = /artifact (\S+) \(not deployed\)/.exec(e.out)![1]!;
    const evalReport = JSON.parse(readFileSync(join(evalDir, "report.json"), "utf8")) as RetrainReport;
    assert.is(evalReport.mode, "eval");
    assert.is(evalReport.training.optimizer, "optuna");
    assert.is(evalReport.candidates.length, 8);
    assert.is(evalReport.dataset.sha256, manifest.dataset.sha256);
    rmSync(dir, { recursive: true, force: true }); // kept when something failed, to look at
  } finally {
    await mesh?.stop();
  }
});

test.run();
