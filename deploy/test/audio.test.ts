// Audio end to end over real processes: every audio detector of the registry (AASIST, AASIST-L,
// RawGAT-ST, LFCC-LCNN) on its official weights, each its own process, real ffmpeg-encoded speech
// through the gateway.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { MediaType, Prediction, SegmentKind, WeightsKind } from "@deepsafe/proto/es/common";
import { EnsembleMethod, Verdict } from "@deepsafe/proto/es/gateway";
import { type Mesh, loadRegistry, startMesh, withFreePorts } from "../local/mesh.js";
import { prepareModels } from "../local/prepare-models.js";
import { connectClient, detectVia } from "./clients.js";
import { emptyWav, hourOfSilence, silentVideo, speech } from "./media.js";

const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
const haveWeights = mirror !== undefined && existsSync(join(mirror, "aasist", "AASIST.pth"));
let mesh: Mesh;
let audioModels: string[] = [];

test.before(async () => {
  if (!haveWeights) return;
  const base = loadRegistry();
  const registry = await withFreePorts({ ...base, detectors: base.detectors.filter((d) => d.media_type === "audio" && d.enabled) });
  audioModels = registry.detectors.map((d) => d.name).sort();
  assert.ok(audioModels.length >= 3, "three independent audio detectors are configured");
  const { ready, unavailable } = await prepareModels(registry);
  assert.equal(ready.sort(), audioModels, JSON.stringify([...unavailable]));
  mesh = await startMesh({ registry, output: "ignore" });
  await mesh.waitReady(120_000);
});

test.after(async () => {
  await mesh?.stop();
});

async function expectCode(promise: Promise<unknown>, code: Code, pattern?: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    const e = ConnectError.from(err);
    assert.is(Code[e.code], Code[code], e.rawMessage);
    if (pattern) assert.match(e.rawMessage, pattern);
    return;
  }
  assert.unreachable(`expected ${Code[code]}`);
}

test("speech in WAV and MP3: every official audio detector scores its windows and votes", async () => {
  if (!haveWeights) return console.log("skipped: DEEPSAFE_WEIGHTS_MIRROR has no aasist/AASIST.pth");
  const client = connectClient(mesh.gatewayUrl);
  for (const ext of ["wav", "mp3"] as const) {
    const res = await detectVia(client, speech(ext), { fileName: `speech.${ext}`, ensembleMethod: EnsembleMethod.AVERAGE, models: audioModels });
    assert.is(res.mediaType, MediaType.AUDIO);
    assert.equal(res.modelResults.map((r) => r.model).sort(), audioModels);
    for (const r of res.modelResults) {
      assert.is(r.errorCode, "", r.errorMessage);
      assert.is(r.weightsKind, WeightsKind.OFFICIAL);
      assert.ok(r.usedInVerdict);
      const p = r.prediction!;
      assert.ok(p.probabilityFake >= 0 && p.probabilityFake <= 1);
      assert.ok(p.segments.length >= 1);
      for (const s of p.segments) {
        assert.is(s.kind, SegmentKind.WINDOW);
        assert.ok(s.endSeconds > s.startSeconds);
      }
    }
    const mean = res.modelResults.reduce((sum, r) => sum + r.prediction!.probabilityFake, 0) / res.modelResults.length;
    assert.ok(Math.abs(res.ensembleScore! - mean) < 1e-12);
    assert.ok(res.verdict === Verdict.FAKE || res.verdict === Verdict.REAL || res.ensembleScore === 0.5);
  }
});

test("empty audio abstains (undetermined), a video without audio is INVALID_ARGUMENT", async () => {
  if (!haveWeights) return console.log("skipped: DEEPSAFE_WEIGHTS_MIRROR has no aasist/AASIST.pth");
  const client = connectClient(mesh.gatewayUrl);
  const empty = await detectVia(client, emptyWav(), { mediaType: MediaType.AUDIO, models: audioModels });
  assert.is(empty.verdict, Verdict.UNDETERMINED);
  for (const r of empty.modelResults) assert.is(r.prediction?.prediction, Prediction.UNDETERMINED);
  await expectCode(detectVia(client, silentVideo(), { mediaType: MediaType.AUDIO }), Code.InvalidArgument, /audio/i);
  for (const p of mesh.processes.values()) assert.is(p.child.exitCode, null, `${p.name} died`);
});

test("an hour of audio is rejected clearly (over the 600 s limit), quickly, and nothing dies", async () => {
  if (!haveWeights) return console.log("skipped: DEEPSAFE_WEIGHTS_MIRROR has no aasist/AASIST.pth");
  const started = performance.now();
  await expectCode(detectVia(connectClient(mesh.gatewayUrl), hourOfSilence(), { models: audioModels }), Code.InvalidArgument, /longer than the limit/);
  assert.ok(performance.now() - started < 60_000);
  for (const p of mesh.processes.values()) assert.is(p.child.exitCode, null, `${p.name} died`);
});

test.run();
