// Videos that cost more to decode than their size says: many tiny frames at an absurd frame rate,
// headers that claim hundreds of millions of frames, a huge frame size in a tiny payload, a day-long
// still. The decoder must answer each within its bounds (one ffmpeg pass, N sampled frames, the
// duration and pixel limits read from the probe, the decode timeout) with a typed error or a verdict.
import { ffmpeg, saveTemp } from "./encode.js";
import { type HostileCase, rejected, verdict } from "./types.js";

const REJECTED = (what: string) => new RegExp(`the media was rejected: mesonet-video: INVALID_ARGUMENT .*${what}`);

/** An AVI whose headers declare `frames` frames at `rate` fps (over the few frames it really holds). */
function aviClaiming(frames: number, rate: number): Buffer {
  const b = Buffer.from(ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=16x16:rate=10", "-t", "1", "-c:v", "mjpeg"], "claims-source.avi"));
  const avih = b.indexOf("avih");
  b.writeUInt32LE(Math.max(1, Math.round(1e6 / rate)), avih + 8); // dwMicroSecPerFrame
  b.writeUInt32LE(frames, avih + 8 + 16); // dwTotalFrames
  const strh = b.indexOf("strh") + 8;
  b.writeUInt32LE(1, strh + 20); // dwScale
  b.writeUInt32LE(rate, strh + 24); // dwRate
  b.writeUInt32LE(frames, strh + 32); // dwLength
  return b;
}

export function videoBombCases(): HostileCase[] {
  const tiny = ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "0"];
  // One second of 16x16 at 1000 fps (the most Matroska's millisecond clock can express), repeated by
  // stream copy: 60 000 real frames in ~1 MB, generated in well under a second.
  const second = saveTemp("1000fps-1s.mkv", ffmpeg(["-f", "lavfi", "-i", "color=c=gray:size=16x16:rate=1000", "-t", "1", ...tiny, "-g", "100000"], "1000fps-1s.mkv"));
  const minute = ffmpeg(["-stream_loop", "59", "-i", second, "-c", "copy"], "1000fps-60s.mkv");
  // MP4's track clock can say 100 000 fps: half a second of it is 50 000 real frames.
  const fast = ffmpeg(
    ["-f", "lavfi", "-i", "color=c=gray:size=16x16:rate=1000", "-t", "0.5", "-vf", "setpts=N/(100000*TB)", "-r", "100000", ...tiny, "-video_track_timescale", "100000"],
    "100000fps.mp4",
  );
  return [
    // Every real frame is decoded once (the sampler keeps N): bounded by the frames the bytes hold.
    { kind: "video frame-count bomb", name: "16x16 at 1000 fps for 60 s (60 000 frames)", bytes: minute, expect: verdict("video"), transports: ["rest", "grpc-web"] },
    { kind: "video frame-count bomb", name: "16x16 at 100 000 fps for 0.5 s (50 000 frames)", bytes: fast, expect: verdict("video"), transports: ["connect", "grpc"] },
    // Headers only: what is really there (10 frames) is decoded; the claim costs nothing.
    { kind: "video frame-count bomb", name: "AVI declaring 500 000 000 frames at 1 MHz over 10 frames", bytes: aviClaiming(500_000_000, 1_000_000), expect: verdict("video") },
    { kind: "video frame-count bomb", name: "AVI declaring 4 000 000 000 frames at 1000 fps (46 days)", bytes: aviClaiming(4_000_000_000, 1000), expect: rejected(REJECTED("over the limit of 600 s")) },
    // A frame size over the pixel limit in a 200 KB single-frame stream: refused from the probe.
    {
      kind: "huge declared video resolution",
      name: "8192x8192 single frame (H.264, ~200 KB)",
      bytes: ffmpeg(["-f", "lavfi", "-i", "color=c=gray:size=8192x8192:rate=1", "-frames:v", "1", ...tiny], "8192.mkv"),
      expect: rejected(REJECTED("video frames are 8192x8192, over the limit of 40000000 pixels")),
    },
    // Just under the limit: decoded and shrunk to 1280 on its longer side.
    {
      kind: "huge declared video resolution",
      name: "6000x6000 single frame (H.264, ~100 KB)",
      bytes: ffmpeg(["-f", "lavfi", "-i", "color=c=gray:size=6000x6000:rate=1", "-frames:v", "1", ...tiny], "6000.mkv"),
      expect: verdict("video"),
    },
    // A still frame held for a day: two frames 24 h apart, 1 KB.
    {
      kind: "extremely long duration",
      name: "two still frames 24 h apart (1 KB)",
      bytes: ffmpeg(["-f", "lavfi", "-i", "color=c=gray:size=16x16:rate=1", "-frames:v", "2", "-vf", "setpts=N*86400/TB", "-fps_mode", "passthrough", ...tiny], "day.mkv"),
      expect: rejected(REJECTED("over the limit of 600 s")),
    },
    {
      kind: "extremely long duration",
      name: "two still frames 590 s apart (under the limit)",
      bytes: ffmpeg(["-f", "lavfi", "-i", "color=c=gray:size=16x16:rate=1", "-frames:v", "2", "-vf", "setpts=N*590/TB", "-fps_mode", "passthrough", ...tiny], "gap.mkv"),
      expect: verdict("video"),
    },
  ];
}
