// Hostile and odd videos: truncated and damaged containers, no frames, no video track, hours long,
// and playlists dressed up as video (which ffmpeg must never follow: local files only, forced demuxer).
import { noise, overwrite, truncate } from "./bytes.js";
import { ffmpeg, saveTemp } from "./encode.js";
import { type HostileCase, rejected, unrecognised, verdict } from "./types.js";

const REJECTED = (what: string) => new RegExp(`the media was rejected: mesonet-video: INVALID_ARGUMENT .*${what}`);
const CORRUPT = REJECTED("(truncated or corrupt video|no frame could be decoded|no video stream)");

const clip = (ext: string, codec: string[], extra: string[] = []) =>
  ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "1", ...extra, ...codec], `clip.${ext}`);

export function videoCases(): HostileCase[] {
  const h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];
  const files = {
    mp4: clip("mp4", h264),
    mov: clip("mov", h264),
    mkv: clip("mkv", h264),
    webm: clip("webm", ["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "200k"]),
    avi: clip("avi", ["-c:v", "mjpeg"]),
  };
  const cases: HostileCase[] = [];
  for (const [ext, bytes] of Object.entries(files)) {
    cases.push({ kind: "valid video (control)", name: `${ext} 1 s 160x120`, bytes, fileName: `ok.${ext}`, expect: verdict("video") });
  }
  // MP4 keeps its index (moov) at the end: any truncation loses it.
  for (const fraction of [0.1, 0.5, 0.95]) {
    cases.push({ kind: "malformed MP4/MKV/WebM", name: `mp4 cut at ${fraction * 100}%`, bytes: truncate(files.mp4, fraction), expect: rejected(CORRUPT) });
  }
  const moov = files.mp4.indexOf("moov");
  cases.push({ kind: "malformed MP4/MKV/WebM", name: "mp4 moov box overwritten with noise", bytes: overwrite(files.mp4, moov - 4, noise(files.mp4.length - moov + 4, 29)), expect: rejected(CORRUPT) });
  cases.push({ kind: "malformed MP4/MKV/WebM", name: "mp4 ftyp box only", bytes: files.mp4.subarray(0, files.mp4.readUInt32BE(0)), expect: rejected(CORRUPT) });
  // Matroska/WebM stream: cut right after the EBML header, or damaged where the tracks are described.
  for (const ext of ["mkv", "webm"] as const) {
    const b = files[ext];
    cases.push({ kind: "malformed MP4/MKV/WebM", name: `${ext} first 64 bytes`, bytes: b.subarray(0, 64), expect: rejected(CORRUPT) });
    cases.push({ kind: "malformed MP4/MKV/WebM", name: `${ext} header scrambled after the signature`, bytes: overwrite(b, 4, noise(200, 31)), expect: rejected(CORRUPT) });
  }
  cases.push({ kind: "malformed MP4/MKV/WebM", name: "avi cut at 5%", bytes: truncate(files.avi, 0.05), expect: rejected(CORRUPT) });

  // Video without frames: a video track of zero frames; a "video" container holding audio only.
  cases.push({
    kind: "video without frames",
    name: "mkv with an empty video track",
    bytes: ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-frames:v", "0", "-c:v", "libx264"], "noframes.mkv"),
    expect: rejected(CORRUPT),
  });
  cases.push({
    kind: "video without frames",
    name: "mp4 with an audio track only",
    bytes: ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac"], "audio-only.mp4"),
    expect: rejected(/no video stream in the file/),
  });

  // Hours long: refused from the probe (duration), never decoded.
  cases.push({
    kind: "extremely long duration",
    name: "2 h video, 16x16 at 1 fps",
    bytes: ffmpeg(["-f", "lavfi", "-i", "color=c=gray:size=16x16:rate=1", "-t", "7200", "-c:v", "libx264", "-preset", "ultrafast", "-g", "600"], "two-hours.mkv"),
    expect: rejected(/over the limit of 600 s/),
  });

  // Odd but valid: one frame, 90° rotation metadata, a 2x2 picture.
  cases.push({ kind: "odd but valid video", name: "a single frame", bytes: ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-frames:v", "1", ...h264], "one-frame.mp4"), expect: verdict("video") });
  cases.push({ kind: "odd but valid video", name: "rotated 90° (rotate tag)", bytes: ffmpeg(["-i", saveTemp("rotate-source.mp4", files.mp4), "-c", "copy", "-metadata:s:v:0", "rotate=90"], "rotated.mp4"), expect: verdict("video") });

  // Playlists and concat scripts that would make a naive ffmpeg read local files.
  const hls = Buffer.from("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n");
  cases.push({ kind: "crafted playlist", name: "HLS playlist pointing at /etc/passwd", bytes: hls, fileName: "clip.mp4", mime: "video/mp4", ...unrecognised });
  cases.push({ kind: "crafted playlist", name: "ffconcat script", bytes: Buffer.from("ffconcat version 1.0\nfile '/etc/passwd'\n"), fileName: "clip.mp4", ...unrecognised });
  // Behind an MP4 signature it passes sniffing; the forced mov demuxer does not follow it.
  const polyglot = Buffer.concat([Buffer.from([0, 0, 0, 16]), Buffer.from("ftypisom\0\0\0\0"), hls]);
  cases.push({ kind: "crafted playlist", name: "HLS playlist behind an MP4 ftyp box", bytes: polyglot, fileName: "clip.mp4", expect: rejected(CORRUPT) });
  return cases;
}

