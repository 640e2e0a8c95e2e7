// decodeVideo and VideoModel on real files made here with ffmpeg: containers and codecs, rotation,
// variable frame rate, short clips, limits, and hostile inputs (playlists and concat scripts that would
// make an unhardened ffmpeg read other local files).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  decodeVideo,
  InvalidMediaError,
  makeResult,
  ResourceExhaustedError,
  VideoModel,
  type DecodedVideo,
  type LoadContext,
  type ModelResult,
  type PredictContext,
  type Provenance,
} from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "deepsafe-video-test-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function ffmpeg(...args: string[]): void {
  execFileSync("ffmpeg", ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", ...args], { stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * A clip whose frame n is a flat colour encoding n: R = 4·(n mod 64), G = 4·floor(n / 64), B = 128, so
 * the test can tell which source frame it got back (lossy codecs move flat colours by a level or two).
 */
const INDEXED = "geq=r='4*mod(N\\,64)':g='4*floor(N/64)':b='128'";
function indexed(name: string, opts: { seconds: number; fps: number; size?: string; codec: string[]; extraFilter?: string }): Buffer {
  const file = join(dir, name);
  const filters = [INDEXED, ...(opts.extraFilter ? [opts.extraFilter] : [])].join(",");
  ffmpeg(
    "-f", "lavfi", "-i", `color=c=black:s=${opts.size ?? "64x48"}:r=${opts.fps}:d=${opts.seconds}`,
    "-vf", filters, ...opts.codec, file,
  );
  return readFileSync(file);
}

/** Source frame index shown by a decoded frame (centre pixel). */
function frameIndexOf(frame: { data: Buffer; width: number; height: number }): number {
  const p = (Math.floor(frame.height / 2) * frame.width + Math.floor(frame.width / 2)) * 3;
  return Math.round(frame.data[p]! / 4) + 64 * Math.round(frame.data[p + 1]! / 4);
}

const H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv444p"];

async function expectInvalid(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.instance(err, InvalidMediaError, String(err));
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected InvalidMediaError ${pattern}`);
}

function checkEvenlySpaced(video: DecodedVideo, wanted: number, fps: number): void {
  const step = video.durationSeconds / wanted;
  video.frames.forEach((f, k) => {
    assert.is(f.index, k);
    assert.is(f.width, video.width);
    assert.is(f.height, video.height);
    assert.is(f.data.length, f.width * f.height * 3);
    // the first frame at or after k·step: at most one source frame later
    assert.ok(f.timeSeconds >= k * step - 1e-6 && f.timeSeconds < k * step + 1 / fps + 1e-6, `frame ${k} at ${f.timeSeconds}, grid ${k * step}`);
  });
  for (let k = 1; k < video.frames.length; k++) {
    const dt = video.frames[k]!.timeSeconds - video.frames[k - 1]!.timeSeconds;
    assert.ok(Math.abs(dt - step) <= 1 / fps + 1e-6, `spacing ${dt} vs ${step}`);
  }
}

test("mp4 (h264): 30 evenly spaced frames in time order, content matches the timestamps", async () => {
  const bytes = indexed("clip.mp4", { seconds: 4, fps: 25, codec: H264 });
  const video = await decodeVideo(bytes);
  assert.is(video.frames.length, 30);
  assert.is(video.width, 64);
  assert.is(video.height, 48);
  assert.is(video.fps, 25);
  assert.is(video.frameCount, 100);
  assert.ok(Math.abs(video.durationSeconds - 4) < 0.05, `duration ${video.durationSeconds}`);
  checkEvenlySpaced(video, 30, 25);
  for (const f of video.frames) assert.is(frameIndexOf(f), Math.round(f.timeSeconds * 25), `frame at ${f.timeSeconds}`);
  // first frame of each bucket of 4/30 s: source frames ceil(k·100/30)
  assert.equal(video.frames.map(frameIndexOf), Array.from({ length: 30 }, (_, k) => Math.ceil((k * 100) / 30 - 1e-9)));
});

for (const [name, codec] of [
  ["clip.webm", ["-c:v", "libvpx-vp9", "-lossless", "1", "-deadline", "realtime", "-cpu-used", "8"]],
  ["clip.mkv", H264],
  ["clip.avi", ["-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj444p"]],
] as const) {
  test(`${name.split(".")[1]}: decodes evenly spaced frames`, async () => {
    const bytes = indexed(name, { seconds: 2, fps: 20, codec: [...codec] });
    const video = await decodeVideo(bytes, { frames: 10 });
    assert.is(video.frames.length, 10);
    assert.is(video.width, 64);
    assert.is(video.height, 48);
    checkEvenlySpaced(video, 10, 20);
    for (const f of video.frames) assert.is(frameIndexOf(f), Math.round(f.timeSeconds * 20), `${name} frame at ${f.timeSeconds}`);
  });
}

test("WebM without a duration in its header (as live recorders write it): duration from the packets", async () => {
  const file = join(dir, "live.webm");
  const webm = execFileSync("ffmpeg", [
    "-nostdin", "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=64x48:r=20:d=2", "-vf", INDEXED,
    "-c:v", "libvpx-vp9", "-lossless", "1", "-deadline", "realtime", "-cpu-used", "8", "-f", "webm", "pipe:1",
  ], { maxBuffer: 64 << 20 });
  writeFileSync(file, webm);
  const header = execFileSync("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file], { encoding: "utf8" });
  assert.ok(["", "N/A"].includes(header.trim()), `the header has no duration (${header.trim()})`);
  const video = await decodeVideo(webm, { frames: 10 });
  assert.ok(Math.abs(video.durationSeconds - 2) < 0.06, `duration ${video.durationSeconds}`);
  assert.is(video.frames.length, 10);
  checkEvenlySpaced(video, 10, 20);
});

test("rotation metadata is applied as ffmpeg does by default", async () => {
  // 64x48, blue band across the top; the display matrix turns it 90° counter-clockwise.
  const plain = join(dir, "unrotated.mp4");
  ffmpeg("-f", "lavfi", "-i", "color=red:s=64x48:r=10:d=1,drawbox=x=0:y=0:w=64:h=12:color=blue:t=fill", ...H264, plain);
  const rotated = join(dir, "rotated.mp4");
  ffmpeg("-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", rotated);
  const video = await decodeVideo(readFileSync(rotated), { frames: 3 });
  assert.is(video.rotation, 270); // clockwise, i.e. 90° counter-clockwise
  assert.is(video.width, 48);
  assert.is(video.height, 64);
  const f = video.frames[0]!;
  const px = (x: number, y: number) => [...f.data.subarray((y * f.width + x) * 3, (y * f.width + x) * 3 + 3)];
  const isBlue = ([r, , b]: number[]) => b! > 200 && r! < 60;
  const isRed = ([r, , b]: number[]) => r! > 200 && b! < 60;
  assert.ok(isBlue(px(3, 5)) && isBlue(px(3, 58)), `left column blue: ${px(3, 5)} ${px(3, 58)}`);
  assert.ok(isRed(px(40, 5)) && isRed(px(40, 58)), `right part red: ${px(40, 5)}`);
});

test("variable frame rate: the first frame at or after each instant k·D/N", async () => {
  // 50 frames 20 ms apart, then 50 frames 100 ms apart (0..5.9 s), millisecond time base.
  const file = join(dir, "vfr.mkv");
  ffmpeg(
    "-f", "lavfi", "-i", "color=c=black:s=64x48:r=25:d=4",
    "-vf", `${INDEXED},settb=1/1000,setpts='if(lt(N,50),N*0.02,1+(N-50)*0.1)/TB'`,
    "-fps_mode", "vfr", "-enc_time_base", "1/1000", ...H264, file,
  );
  // The source timestamps as ffprobe reads them (the oracle), frame n showing index n.
  const source = execFileSync("ffprobe", ["-v", "error", "-show_entries", "frame=pts_time", "-of", "csv=p=0", file], { encoding: "utf8" })
    .split("\n").map((l) => l.replace(/,$/, "").trim()).filter(Boolean).map(Number);
  assert.is(source.length, 100);
  assert.ok(source[10]! < 0.25 && source[60]! > 1.9, "the clip really is VFR");
  const video = await decodeVideo(readFileSync(file), { frames: 20 });
  const step = video.durationSeconds / 20;
  assert.ok(video.durationSeconds > 5.8 && video.durationSeconds < 6.1, `duration ${video.durationSeconds}`);
  const expected: number[] = [];
  let last = -1;
  source.forEach((t, n) => {
    const bucket = Math.floor(t / step);
    if (bucket < 20 && bucket > last) {
      expected.push(n);
      last = bucket;
    }
  });
  assert.equal(video.frames.map(frameIndexOf), expected);
  video.frames.forEach((f, k) => assert.ok(Math.abs(f.timeSeconds - source[expected[k]!]!) < 1e-3, `t ${f.timeSeconds}`));
  assert.is(video.frames.length, 20);
});

test("a clip with fewer frames than asked gives each frame once", async () => {
  const bytes = indexed("short.mp4", { seconds: 0.5, fps: 10, codec: H264 });
  const video = await decodeVideo(bytes, { frames: 30 });
  assert.is(video.frames.length, 5);
  assert.equal(video.frames.map(frameIndexOf), [0, 1, 2, 3, 4]);
  assert.equal(video.frames.map((f) => Math.round(f.timeSeconds * 10)), [0, 1, 2, 3, 4]);
});

test("large frames are shrunk so the longer side is at most maxSide", async () => {
  const bytes = indexed("hd.mp4", { seconds: 1, fps: 10, size: "1280x720", codec: H264 });
  const video = await decodeVideo(bytes, { frames: 4, maxSide: 640 });
  assert.is(video.width, 640);
  assert.is(video.height, 360);
  assert.is(video.sourceWidth, 1280);
  assert.is(video.frames[0]!.data.length, 640 * 360 * 3);
  const full = await decodeVideo(bytes, { frames: 2, maxSide: 0 });
  assert.is(full.width, 1280);
});

test("limits: duration, pixels, output bytes, timeout", async () => {
  const bytes = indexed("two-seconds.mp4", { seconds: 2, fps: 10, codec: H264 });
  await expectInvalid(decodeVideo(bytes, { maxSeconds: 1 }), /2\.0 s long, over the limit of 1 s/);
  await expectInvalid(decodeVideo(bytes, { maxPixels: 1000 }), /64x48, over the limit of 1000 pixels/);
  try {
    await decodeVideo(bytes, { frames: 10, maxOutputBytes: 64 * 48 * 3 * 2 });
    assert.unreachable("expected a size error");
  } catch (err) {
    assert.instance(err, ResourceExhaustedError);
  }
  await expectInvalid(decodeVideo(bytes, { timeoutMs: 1 }), /longer than 1 ms/);
  const aborted = new AbortController();
  aborted.abort();
  await expectInvalid(decodeVideo(bytes, { signal: aborted.signal }), /cancelled/);
});

test("truncated and corrupt files are rejected clearly", async () => {
  const bytes = indexed("whole.mp4", { seconds: 2, fps: 10, codec: H264 });
  await expectInvalid(decodeVideo(bytes.subarray(0, Math.floor(bytes.length / 2))), /truncated or corrupt/);
  await expectInvalid(decodeVideo(bytes.subarray(0, 40)), /truncated or corrupt/);
  await expectInvalid(decodeVideo(Buffer.alloc(0)), /empty/);
  const random = Buffer.alloc(4096);
  for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
  await expectInvalid(decodeVideo(random), /not a supported video container/);
});

test("audio-only files: refused by type, or 'no video stream' for an audio-only MP4", async () => {
  const wav = join(dir, "tone.wav");
  ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=1", wav);
  await expectInvalid(decodeVideo(readFileSync(wav)), /not a video: the file is audio\/wav/);
  const m4 = join(dir, "tone.mp4");
  ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=1", "-c:a", "aac", m4);
  await expectInvalid(decodeVideo(readFileSync(m4)), /no video stream/);
});

test("playlists and concat scripts named .mp4 are refused and read nothing", async () => {
  // A real clip the attacks point at: if anything read it, frames would come back.
  const canary = join(dir, "canary.mp4");
  ffmpeg("-f", "lavfi", "-i", "color=green:s=32x32:r=10:d=1", ...H264, canary);
  const hls = (target: string) => Buffer.from(`#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1.0,\n${target}\n#EXT-X-ENDLIST\n`);
  const concat = (target: string) => Buffer.from(`ffconcat version 1.0\nfile '${target}'\n`);
  const attacks = [
    ["hls-canary.mp4", hls(canary), true],
    ["concat-canary.mp4", concat(canary), true],
    ["hls-passwd.mp4", hls("/etc/passwd"), false],
    ["concat-passwd.mp4", concat("/etc/passwd"), false],
  ] as const;
  for (const [name, bytes, control] of attacks) {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    if (control) {
      // Control: an unhardened ffmpeg follows the file to the canary, so the input is a real attack.
      const naive = spawnSync("ffmpeg", ["-nostdin", "-v", "error", ...(name.startsWith("concat") ? ["-safe", "0"] : []), "-i", file, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
      assert.is(naive.stdout.length, 32 * 32 * 3, `${name}: an unhardened ffmpeg reads the referenced file`);
    }
    await expectInvalid(decodeVideo(bytes), /not a supported video container/);
  }
  // The same playlist behind an MP4 signature passes sniffing, but the forced mov demuxer does not follow it.
  const polyglot = Buffer.concat([Buffer.from([0, 0, 0, 16]), Buffer.from("ftypisom\0\0\0\0"), hls(canary)]);
  await expectInvalid(decodeVideo(polyglot), /truncated or corrupt|no video stream/);
});

class FrameCounter extends VideoModel {
  readonly card = {
    name: "frame_counter",
    version: "0.0.0",
    description: "test model",
    paper: "none",
    license: "none",
    defaultThreshold: 0.5,
    preprocessing: "none",
    tensors: [],
  };
  override framesPerVideo = 8;
  async load(_ctx: LoadContext): Promise<Provenance> {
    return { kind: "random-fixture", source: "test" };
  }
  async predict(video: DecodedVideo, ctx: PredictContext): Promise<ModelResult> {
    return makeResult(video.frames.length / 100, ctx.threshold);
  }
}

test("VideoModel.decode uses the model's frame count and limits", async () => {
  const model = new FrameCounter();
  assert.is(model.media, "video");
  const ctx: PredictContext = {
    requestId: "t", threshold: 0.5, options: {}, mimeType: "video/mp4", fileName: "x.mp4", signal: new AbortController().signal,
  };
  const bytes = indexed("model.mp4", { seconds: 2, fps: 10, codec: H264 });
  const video = await model.decode(bytes, ctx);
  assert.is(video.frames.length, 8);
  model.maxSeconds = 1;
  await expectInvalid(model.decode(bytes, ctx), /over the limit of 1 s/);
});

test("timing: 30 frames from a 10 s 720p H.264 clip (one probe + one decoding pass)", async () => {
  const file = join(dir, "bench.mp4");
  ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=10", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", file);
  const bytes = readFileSync(file);
  const times: number[] = [];
  let video: DecodedVideo | undefined;
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    video = await decodeVideo(bytes);
    times.push(performance.now() - t0);
  }
  assert.is(video!.frames.length, 30);
  assert.is(video!.width, 1280);
  console.log(`  decodeVideo 10 s 1280x720 h264 -> 30 frames: ${times.map((t) => t.toFixed(0)).join(" / ")} ms`);
});

test.run();
