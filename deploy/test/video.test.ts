// Faces end to end over real processes: MesoNet (official weights) and Cross-Efficient-ViT (random
// test weights of the official layout: its checkpoint is not available here, so it is reported but
// never counted unless asked) on a real photo and on videos made from it, behind the gateway; no face
// is an abstention, never a fake score.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { MediaType, Prediction, SegmentKind, WeightsKind } from "@deepsafe/proto/es/common";
import { Verdict } from "@deepsafe/proto/es/gateway";
import { findSamplePhotos } from "@deepsafe/sdk/testing";
import { type Mesh, loadRegistry, startMesh, withFreePorts } from "../local/mesh.js";
import { prepareModels } from "../local/prepare-models.js";
import { connectClient, detectVia } from "./clients.js";
import { speech } from "./media.js";

const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
const haveWeights = mirror !== undefined && existsSync(join(mirror, "mesonet", "MesoInception_DF.h5"));
const photos = haveWeights ? findSamplePhotos() : { why: "no weights mirror" };
const skipWhy = !haveWeights ? "DEEPSAFE_WEIGHTS_MIRROR has no mesonet weights" : photos.why;
const work = mkdtempSync(join(tmpdir(), "deepsafe-video-"));
let mesh: Mesh;

function ffmpeg(args: string[], out: string): Buffer {
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args, join(work, out)]);
  return readFileSync(join(work, out));
}

test.before(async () => {
  if (skipWhy) return;
  const base = loadRegistry();
  const names = ["cross-efficient-vit", "mesonet", "mesonet-video"];
  process.env.DEEPSAFE_ALLOW_RANDOM_WEIGHTS = "1"; // Cross-Efficient-ViT's fixture
  const registry = await withFreePorts({ ...base, detectors: base.detectors.filter((d) => names.includes(d.name)) });
  const { ready, unavailable } = await prepareModels(registry);
  assert.equal(ready.sort(), names, JSON.stringify([...unavailable]));
  mesh = await startMesh({ registry, output: "ignore" });
  await mesh.waitReady(120_000);
});

test.after(async () => {
  await mesh?.stop();
});

async function expectCode(promise: Promise<unknown>, code: Code): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.is(Code[ConnectError.from(err).code], Code[code], ConnectError.from(err).rawMessage);
    return;
  }
  assert.unreachable(`expected ${Code[code]}`);
}

test("a real photo with a face: MesoNet scores the face region", async () => {
  if (skipWhy) return console.log(`skipped: ${skipWhy}`);
  const res = await detectVia(connectClient(mesh.gatewayUrl), readFileSync(join(photos.dir!, "astronaut.png")), { models: ["mesonet"] });
  const r = res.modelResults[0]!;
  assert.is(r.errorCode, "", r.errorMessage);
  assert.is(r.weightsKind, WeightsKind.OFFICIAL);
  assert.is(r.prediction!.segments.filter((s) => s.kind === SegmentKind.REGION).length, 1);
  assert.ok(r.usedInVerdict);
  assert.ok(res.verdict === Verdict.REAL || res.verdict === Verdict.FAKE);
});

test("a video of a face: per-frame scores with timestamps, and a verdict", async () => {
  if (skipWhy) return console.log(`skipped: ${skipWhy}`);
  const video = ffmpeg(
    ["-loop", "1", "-i", join(photos.dir!, "astronaut.png"), "-vf", "zoompan=z='1+0.003*on':d=1:s=512x512:fps=25", "-t", "3", "-pix_fmt", "yuv420p", "-c:v", "libx264"],
    "face.mp4",
  );
  const res = await detectVia(connectClient(mesh.gatewayUrl), video, { fileName: "face.mp4" });
  assert.is(res.mediaType, MediaType.VIDEO);
  assert.equal(res.modelResults.map((m) => m.model).sort(), ["cross-efficient-vit", "mesonet-video"]);
  for (const r of res.modelResults) {
    assert.is(r.errorCode, "", r.errorMessage);
    const frames = r.prediction!.segments.filter((s) => s.kind === SegmentKind.FRAME);
    assert.ok(frames.length >= 20, `${r.model}: ${frames.length} frame scores`);
    for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.startSeconds >= frames[i - 1]!.startSeconds);
    assert.ok(frames.every((f) => f.track >= 1 && f.box !== undefined));
  }
  const cev = res.modelResults.find((m) => m.model === "cross-efficient-vit")!;
  assert.is(cev.weightsKind, WeightsKind.RANDOM_FIXTURE);
  assert.not.ok(cev.usedInVerdict, "random weights never count by default");
  assert.ok(res.modelResults.find((m) => m.model === "mesonet-video")!.usedInVerdict);
  assert.ok(res.verdict === Verdict.REAL || res.verdict === Verdict.FAKE);
});

test("no face is undetermined with a reason; broken and audio-only uploads are INVALID_ARGUMENT", async () => {
  if (skipWhy) return console.log(`skipped: ${skipWhy}`);
  const client = connectClient(mesh.gatewayUrl);
  const noFace = ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "2", "-pix_fmt", "yuv420p"], "noface.mp4");
  const res = await detectVia(client, noFace, { includeRandomWeights: true });
  assert.is(res.verdict, Verdict.UNDETERMINED);
  assert.is(res.ensembleScore, undefined);
  for (const r of res.modelResults) {
    assert.is(r.prediction!.prediction, Prediction.UNDETERMINED, r.model);
    assert.match(r.prediction!.note, /face/i);
  }
  await expectCode(detectVia(client, noFace.subarray(0, Math.floor(noFace.length / 2)), {}), Code.InvalidArgument);
  await expectCode(detectVia(client, speech("m4a"), { mediaType: MediaType.VIDEO }), Code.InvalidArgument);
  for (const p of mesh.processes.values()) assert.is(p.child.exitCode, null, `${p.name} died`);
});

test.run();
