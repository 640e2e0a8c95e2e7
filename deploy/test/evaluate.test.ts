// The evaluation command (tools/evaluate): its metrics against brute-force definitions and known
// inputs, dataset labelling, model selection and fusion bookkeeping; then the real command end to end
// over a tiny labelled audio set, with the mesh of audio detectors it starts itself.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { MediaType, Prediction, WeightsKind } from "@deepsafe/proto/es/common";
import { DetectResponseSchema, EnsembleMethod, ListModelsResponseSchema, ModelHealth, Verdict } from "@deepsafe/proto/es/gateway";
import { fuse } from "../../gateway/src/fusion.js";
import { loadFolder, loadManifest, splitCsvLine } from "../../tools/evaluate/dataset.js";
import { type ItemResult, columns, compareFusion, groupRows, recordResponse, selectModels } from "../../tools/evaluate/evaluate.js";
import {
  type Label,
  averagePrecision,
  bootstrapAuc,
  calibration,
  equalErrorRate,
  rocAuc,
  rocCurve,
  seededRandom,
  thresholdMetrics,
} from "../../tools/evaluate/metrics.js";
import type { Report } from "../../tools/evaluate/report.js";
import { addEdgeCases, haveAudioWeights, makeAudio, runCommand } from "./labelled-audio.js";

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

function randomSet(seed: number, n: number, decimals: number): { scores: number[]; labels: Label[] } {
  const r = seededRandom(seed);
  const labels: Label[] = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  // Fakes a little higher on average; rounding makes many ties, across and within classes.
  const scores = labels.map((l) => Number(Math.min(1, r() * 0.8 + l * 0.2).toFixed(decimals)));
  return { scores, labels };
}

function bruteAuc(scores: number[], labels: Label[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((sp, i) => {
    if (labels[i] !== 1) return;
    scores.forEach((sn, j) => {
      if (labels[j] !== 0) return;
      pairs++;
      wins += sp > sn ? 1 : sp === sn ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

test("AUC equals the brute-force pairwise count, ties counting one half", () => {
  for (const [seed, decimals] of [[1, 1], [2, 2], [3, 1], [4, 6]] as const) {
    const { scores, labels } = randomSet(seed, 61, decimals);
    close(rocAuc(scores, labels), bruteAuc(scores, labels));
  }
  close(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  close(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5);
  close(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  assert.ok(Number.isNaN(rocAuc([0.1, 0.2], [1, 1])));
  // The ROC's trapezoids give the same area.
  const { scores, labels } = randomSet(9, 50, 1);
  const roc = rocCurve(scores, labels);
  let area = 0;
  for (let i = 1; i < roc.length; i++) area += ((roc[i]!.fpr - roc[i - 1]!.fpr) * (roc[i]!.tpr + roc[i - 1]!.tpr)) / 2;
  close(area, rocAuc(scores, labels));
  assert.equal(roc[0], { threshold: Number.POSITIVE_INFINITY, fpr: 0, tpr: 0 });
  assert.equal([roc.at(-1)!.fpr, roc.at(-1)!.tpr], [1, 1]);
});

test("AP: known values, and the mean precision at each fake's rank without ties", () => {
  close(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), (1 / 2) * 1 + (1 / 2) * (2 / 3));
  close(averagePrecision([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]), 1);
  const { scores, labels } = randomSet(5, 40, 9); // 9 decimals: no ties
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let tp = 0;
  let sum = 0;
  order.forEach((idx, rank) => {
    if (labels[idx] === 1) sum += ++tp / (rank + 1);
  });
  close(averagePrecision(scores, labels), sum / tp);
  // All tied: precision is the share of fakes.
  close(averagePrecision([0.3, 0.3, 0.3, 0.3], [1, 0, 0, 0]), 0.25);
});

test("EER on known inputs", () => {
  assert.equal(equalErrorRate([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]).eer, 0);
  assert.equal(equalErrorRate([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]).eer, 1);
  close(equalErrorRate([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]).eer, 0.5);
  // reals 0.1 0.2 0.3 0.6, fakes 0.4 0.7 0.8 0.9: at >= 0.6, one real of four flagged and one fake of four missed.
  const e = equalErrorRate([0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9], [0, 0, 0, 0, 1, 1, 1, 1]);
  close(e.eer, 0.25);
  assert.is(e.threshold, 0.6);
  // The rates cross between two ROC points: interpolated. reals 0.2 0.5, fakes 0.3 0.6 0.7:
  // (fpr, fnr) goes (0, 1/3) at 0.6 -> (1/2, 1/3) at 0.5, crossing where fpr = 1/3.
  close(equalErrorRate([0.2, 0.5, 0.3, 0.6, 0.7], [0, 0, 1, 1, 1]).eer, 1 / 3);
});

test("ECE and reliability bins on known inputs", () => {
  const c = calibration([0.05, 0.15, 0.85, 0.95], [0, 0, 1, 1], 10);
  close(c.ece, (0.05 + 0.15 + 0.15 + 0.05) / 4);
  close(c.mce, 0.15);
  assert.is(c.bins.length, 10);
  assert.equal(c.bins.map((b) => b.count), [1, 1, 0, 0, 0, 0, 0, 0, 1, 1]);
  close(calibration([0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0]).ece, 0);
  close(calibration([1, 1, 0, 0], [1, 1, 0, 0]).ece, 0); // 1.0 falls in the last bin
  close(calibration([0.9, 0.9, 0.1, 0.1], [0, 0, 1, 1]).ece, 0.9);
});

test("accuracy and F1 at the threshold; an undetermined decision counts as wrong", () => {
  const m = thresholdMetrics(["fake", "fake", "real", "real", "undetermined"], [1, 0, 0, 1, 1]);
  assert.equal([m.tp, m.fp, m.tn, m.fn, m.undetermined], [1, 1, 1, 1, 1]);
  close(m.accuracy, 2 / 5);
  close(m.precision, 1 / 2);
  close(m.recall, 1 / 3);
  close(m.f1, (2 * 1) / (2 * 1 + 1 + 2));
});

test("bootstrap intervals are deterministic and bracket the estimate", () => {
  const { scores, labels } = randomSet(11, 60, 3);
  const a = bootstrapAuc([scores], labels, { resamples: 300 });
  const b = bootstrapAuc([scores], labels, { resamples: 300 });
  assert.equal(a, b);
  const auc = rocAuc(scores, labels);
  assert.ok(a.auc[0]!.lo <= auc && auc <= a.auc[0]!.hi, JSON.stringify(a));
  // A column against itself: the paired difference is exactly zero.
  const d = bootstrapAuc([scores, scores], labels, { resamples: 100 });
  assert.equal(d.deltaVsReference[1], { lo: 0, hi: 0 });
});

test("folders: real/ and fake/ in any case; everything else is reported, never labelled", () => {
  const dir = mkdtempSync(join(tmpdir(), "deepsafe-eval-ds-"));
  for (const p of ["REAL/a.wav", "Real/sub/b.WAV", "fake/tts/c.mp3", "fake/d.flac", "fake/notes.txt", "other/e.wav", "f.wav", "real/.hidden.wav"]) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), "x");
  }
  const ds = loadFolder(dir, "audio");
  assert.equal(
    ds.items.map((i) => [i.relPath, i.label, i.group]).sort(),
    [
      ["REAL/a.wav", 0, "real"],
      ["Real/sub/b.WAV", 0, "real/sub"],
      ["fake/d.flac", 1, "fake"],
      ["fake/tts/c.mp3", 1, "fake/tts"],
    ].sort(),
  );
  assert.equal(ds.skipped.map((s) => s.path).sort(), ["f.wav", "fake/notes.txt", "other/e.wav", "real/.hidden.wav"]);
  assert.match(ds.skipped.find((s) => s.path === "other/e.wav")!.reason, /no label/);
});

test("CSV manifests: header, quotes, 0/1 labels; bad rows reported", () => {
  assert.equal(splitCsvLine(`"a, b.wav",fake,"g ""x"""`), ["a, b.wav", "fake", 'g "x"']);
  const dir = mkdtempSync(join(tmpdir(), "deepsafe-eval-csv-"));
  for (const f of ["one.wav", "a, b.wav", "three.mp3", "doc.pdf"]) writeFileSync(join(dir, f), "x");
  writeFileSync(join(dir, "m.csv"), `path,label,group\none.wav,REAL\n"a, b.wav",1,tts\nthree.mp3,maybe\nmissing.wav,fake\ndoc.pdf,real\n\n`);
  const ds = loadManifest(join(dir, "m.csv"), "audio");
  assert.equal(ds.items.map((i) => [i.relPath, i.label, i.group]), [["one.wav", 0, "real"], ["a, b.wav", 1, "tts"]]);
  assert.equal(ds.skipped.map((s) => s.reason.split(" ")[0]), ["unknown", "file", "not"]);
});

test("model selection: serving detectors of the media type; random weights and others excluded", () => {
  const list = create(ListModelsResponseSchema, {
    models: [
      { name: "a", mediaType: MediaType.AUDIO, health: ModelHealth.SERVING, default: true, info: { weights: { kind: WeightsKind.OFFICIAL, source: "https://x" } } },
      { name: "b", mediaType: MediaType.AUDIO, health: ModelHealth.SERVING, default: false, info: { weights: { kind: WeightsKind.OFFICIAL } } },
      { name: "r", mediaType: MediaType.AUDIO, health: ModelHealth.SERVING, info: { weights: { kind: WeightsKind.RANDOM_FIXTURE } } },
      { name: "down", mediaType: MediaType.AUDIO, health: ModelHealth.UNREACHABLE, healthDetail: "refused" },
      { name: "img", mediaType: MediaType.IMAGE, health: ModelHealth.SERVING, info: { weights: { kind: WeightsKind.OFFICIAL } } },
    ],
  });
  const s = selectModels(list, "audio");
  assert.equal(s.models.map((m) => [m.name, m.default, m.weightsKind]), [["a", true, "OFFICIAL"], ["b", false, "OFFICIAL"]]);
  assert.equal(s.excluded.map((e) => e.name), ["r", "down"]);
  assert.match(s.excluded[0]!.reason, /random/);
  assert.equal(selectModels(list, "audio", ["b"]).models.map((m) => m.name), ["b"]);
  assert.throws(() => selectModels(list, "audio", ["r"]), /random/);
  assert.throws(() => selectModels(list, "audio", ["nope"]), /no audio detector "nope"/);
});

test("per-model outcomes and the ensembles are the gateway's fuse() over the members' answers", () => {
  const pred = (p: number, kind = WeightsKind.OFFICIAL) => ({
    probabilityFake: p,
    prediction: p >= 0.5 ? Prediction.FAKE : Prediction.REAL,
    weightsKind: kind,
  });
  const res = create(DetectResponseSchema, {
    verdict: Verdict.FAKE,
    ensembleScore: (0.9 + 0.2 + 0.7) / 3,
    ensembleMethodUsed: EnsembleMethod.AVERAGE,
    threshold: 0.5,
    modelResults: [
      { model: "a", prediction: pred(0.9) },
      { model: "b", prediction: pred(0.2) },
      { model: "c", prediction: { probabilityFake: 0, prediction: Prediction.UNDETERMINED, note: "no speech", weightsKind: WeightsKind.OFFICIAL } },
      { model: "d", errorCode: "UNAVAILABLE", errorMessage: "down" },
      { model: "e", prediction: pred(0.7) },
    ],
  });
  const r = recordResponse(res, ["a", "b", "c", "d", "e"], ["a", "b", "c", "e"], 0.5);
  assert.equal(r.models.a, { status: "scored", pFake: 0.9, decision: "fake" });
  assert.equal(r.models.c, { status: "abstained", note: "no speech" });
  assert.equal(r.models.d!.status, "error");
  close(r.ensembles.average!.score!, (0.9 + 0.2 + 0.7) / 3);
  assert.is(r.ensembles.average!.used, 3);
  close(r.ensembles.voting!.score!, 2 / 3);
  assert.is(r.ensembles.voting!.verdict, "fake");
  const expected = fuse(
    ["a", "b", "c", "e"].map((n) => {
      const m = res.modelResults.find((x) => x.model === n)!;
      return { prediction: m.prediction, errorCode: m.errorCode || undefined };
    }),
    { method: EnsembleMethod.VOTING, threshold: 0.5, includeRandomWeights: false },
  );
  assert.is(r.ensembles.voting!.score, expected.score);
  close(r.gatewayCheck!.recomputedScore!, r.gatewayCheck!.gatewayScore!);
  assert.is(r.gatewayCheck!.recomputedVerdict, "FAKE");
  // No usable member: the ensembles count an abstention when some answered, an error when all failed.
  const item = (rr: ReturnType<typeof recordResponse>): ItemResult => ({ path: "x.wav", label: 1, group: "fake", bytes: 1, seconds: 0, ...rr });
  const abstainedOnly = item(recordResponse(res, ["c", "d"], ["c", "d"], 0.5));
  const failedOnly = item(recordResponse(res, ["d"], ["d"], 0.5));
  assert.is(columns([abstainedOnly], ["c", "d"], ["c", "d"]).find((c) => c.name === "average")!.cells[0], "abstained");
  assert.is(columns([failedOnly], ["d"], ["d"]).find((c) => c.name === "voting")!.cells[0], "error");
});

test("does fusion help: members that err on different files fuse into a better ensemble", () => {
  // 60 files; each of three members calls a different third of them the wrong way round. Averaged
  // (or voted), two right answers outvote one wrong one on every file: the ensembles separate perfectly.
  const members = ["a", "b", "c"];
  const items: ItemResult[] = Array.from({ length: 60 }, (_, i) => {
    const label: Label = i % 2 === 0 ? 1 : 0;
    const res = create(DetectResponseSchema, {
      ensembleMethodUsed: EnsembleMethod.AVERAGE,
      threshold: 0.5,
      modelResults: members.map((model, k) => {
        const right = Math.floor(i / 2) % 3 !== k;
        const p = (right ? label : 1 - label) === 1 ? 0.9 - 0.001 * i : 0.1 + 0.001 * i;
        return { model, prediction: { probabilityFake: p, prediction: p >= 0.5 ? Prediction.FAKE : Prediction.REAL, weightsKind: WeightsKind.OFFICIAL } };
      }),
    });
    return { path: `${i}.wav`, label, group: label ? "fake/tts" : "real/mic", bytes: 1, seconds: 0, ...recordResponse(res, members, members, 0.5) };
  });
  const cols = columns(items, members, members);
  const cmp = compareFusion(cols, items, members, 500);
  for (const m of cmp.memberAucs) assert.ok(m.auc < 0.8, `${m.name} ${m.auc}`);
  for (const e of cmp.ensembles) {
    assert.is(e.auc, 1, e.name);
    assert.is(e.verdict, "helps", `${e.name} ${JSON.stringify(e.deltaCi95)}`);
  }
  assert.match(cmp.note, /^Fusion helps on this set \(60 files: 30 real, 30 fake/);
  // A member right everywhere (the ensembles above kept as they were): no ensemble can beat it.
  const perfect = items.map((it) => ({ ...it, models: { ...it.models, a: { status: "scored" as const, pFake: it.label ? 0.99 : 0.01, decision: (it.label ? "fake" : "real") as "fake" | "real" } } }));
  const cmp2 = compareFusion(columns(perfect, members, members), perfect, members, 500);
  assert.is(cmp2.bestSingle, "a");
  for (const e of cmp2.ensembles) assert.ok(e.deltaAuc <= 0 && e.verdict !== "helps", JSON.stringify(e));
  const groups = groupRows(cols, items);
  assert.equal(groups.map((g) => [g.group, g.n]), [["fake/tts", 30], ["real/mic", 30]]);
  assert.is(groups[0]!.methods.average!.aucVsOtherClass, 1);
});

// --- the command end to end over real processes ---

test("npm run evaluate: a tiny labelled audio set through a mesh it starts; report.json and report.html", async () => {
  if (!haveAudioWeights) return console.log("skipped: DEEPSAFE_WEIGHTS_MIRROR has no aasist/AASIST.pth");
  // One empty WAV makes every detector abstain; two files are unlabelled.
  const dir = mkdtempSync(join(tmpdir(), "deepsafe-eval-e2e-"));
  const set = join(dir, "set");
  await makeAudio(join(set, "real", "tone.wav"), ["-f", "lavfi", "-i", "sine=frequency=220:duration=3"]);
  await makeAudio(join(set, "Real", "noise.wav"), ["-f", "lavfi", "-i", "anoisesrc=color=pink:duration=3:amplitude=0.2:seed=3"]);
  await makeAudio(join(set, "FAKE", "kal.wav"), ["-f", "lavfi", "-i", "flite=text='The quick brown fox jumps over the lazy dog.':voice=kal"]);
  await makeAudio(join(set, "fake", "slt", "slt.wav"), ["-f", "lavfi", "-i", "flite=text='Every file is scored by every detector.':voice=slt"]);
  addEdgeCases(set, join("real", "tone.wav"));
  const out = join(dir, "out");

  const started = performance.now();
  const r = await runCommand(
    process.execPath,
    ["--import", "tsx", "tools/evaluate/main.ts", "--media", "audio", "--dataset", set, "--out", out, "--concurrency", "2"],
    { ...process.env, DEEPSAFE_LOG_LEVEL: "warn" },
    540_000,
  );
  console.log(`evaluate over 5 files (mesh start included): ${((performance.now() - started) / 1000).toFixed(1)} s`);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /skipped 2 file\(s\)/);

  const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as Report;
  const detectors = report.models.map((m) => m.name).sort();
  assert.equal(detectors, ["aasist", "aasist-l", "lfcc-lcnn", "rawgat-st"]);
  for (const m of report.models) assert.is(m.weightsKind, "OFFICIAL");
  assert.equal(report.ensembleMembers, ["aasist", "rawgat-st", "lfcc-lcnn"]);
  assert.equal(report.metrics.map((m) => m.name).sort(), [...detectors, "average", "voting"].sort());
  assert.equal([report.dataset.files, report.dataset.real, report.dataset.fake], [5, 3, 2]);
  assert.equal(report.dataset.skipped.map((s) => s.path).sort(), ["README.txt", "unsorted/x.wav"]);
  for (const m of report.metrics) {
    assert.is(m.abstained, 1, `${m.name}: the empty WAV is an abstention`);
    assert.is(m.errors, 0, m.name);
    assert.is(m.n, 4, m.name);
    assert.ok(m.auc >= 0 && m.auc <= 1, `${m.name} AUC ${m.auc}`);
    assert.ok(m.roc.length >= 2);
    assert.is(m.calibration.bins.length, 10);
  }
  assert.is(report.gatewayCheck.compared, 5);
  assert.ok(report.gatewayCheck.maxAbsScoreDiff < 1e-12);
  assert.is(report.gatewayCheck.verdictMismatches, 0);
  assert.ok(report.fusion.note.length > 0);
  assert.ok(["aasist", "rawgat-st", "lfcc-lcnn"].includes(report.fusion.bestSingle));
  assert.equal(report.groups.map((g) => g.group), ["fake", "fake/slt", "real"]);

  const html = readFileSync(join(out, "report.html"), "utf8");
  for (const name of [...detectors, "average ensemble", "voting ensemble"]) assert.ok(html.includes(name), name);
  assert.ok((html.match(/<svg /g) ?? []).length >= 1 + 2 * report.metrics.length, "ROC, reliability and score plots");
  assert.not.match(html, /<script|<link|src="http/i);
  assert.match(html, /Does fusion help\?/);
});

test.run();
