// Hostile and odd audio: unusual sample rates and channel layouts (valid: they get a verdict),
// truncated files, impossible WAV headers, hours-long recordings.
import { truncate } from "./bytes.js";
import { ffmpeg } from "./encode.js";
import { type HostileCase, rejected, verdict } from "./types.js";

const tone = (rate: number, channels: number, seconds: number, out: string, codec: string[] = []) =>
  ffmpeg(["-f", "lavfi", "-i", `sine=frequency=330:sample_rate=${rate}:duration=${seconds}`, "-ac", String(channels), ...codec], out);

/** Where the "fmt " chunk's fields start in a canonical WAV (RIFF header + "fmt " + size). */
function fmtOffset(wav: Buffer): number {
  const at = wav.indexOf("fmt ");
  if (at < 0) throw new Error("no fmt chunk");
  return at + 8;
}

/** A WAV with one fmt field overwritten: 2-byte fields at +0 (codec tag), +2 (channels); 4-byte at +4 (rate). */
function wavWith(wav: Buffer, field: "format" | "channels" | "rate", value: number): Buffer {
  const copy = Buffer.from(wav);
  const fmt = fmtOffset(copy);
  if (field === "rate") copy.writeUInt32LE(value, fmt + 4);
  else copy.writeUInt16LE(value, fmt + (field === "channels" ? 2 : 0));
  return copy;
}

export function audioCases(): HostileCase[] {
  const cases: HostileCase[] = [];
  const REJECTED = /the media was rejected: lfcc-lcnn: INVALID_ARGUMENT .*(cannot decode media|no audio track)/;

  // Valid but odd: every one is resampled to the model's 16 kHz mono and scored.
  for (const rate of [8000, 11025, 22050, 44100, 48000, 96000]) {
    cases.push({ kind: "odd sample rate / channels", name: `${rate} Hz mono WAV`, bytes: tone(rate, 1, 2, `r${rate}.wav`), expect: verdict("audio") });
  }
  for (const [channels, rate] of [[2, 44100], [6, 48000], [8, 48000]] as const) {
    cases.push({ kind: "odd sample rate / channels", name: `${channels} channels ${rate} Hz WAV`, bytes: tone(rate, channels, 2, `c${channels}.wav`), expect: verdict("audio") });
  }
  const formats: [string, string[]][] = [["flac", ["-c:a", "flac"]], ["ogg", ["-c:a", "libvorbis"]], ["mp3", ["-c:a", "libmp3lame"]], ["m4a", ["-c:a", "aac"]]];
  const encoded = Object.fromEntries(formats.map(([ext, codec]) => [ext, tone(22050, 2, 2, `tone.${ext}`, codec)]));
  for (const [ext, bytes] of Object.entries(encoded)) cases.push({ kind: "valid audio (control)", name: `${ext} 22.05 kHz stereo`, bytes, expect: verdict("audio") });
  cases.push({ kind: "odd sample rate / channels", name: "20 ms of audio", bytes: tone(16000, 1, 0.02, "short.wav"), expect: verdict("audio") });

  const wav = tone(16000, 1, 2, "base.wav");
  // Truncation: a streamable format decodes what arrived (a verdict on the part); MP4 audio loses its index.
  cases.push({ kind: "truncated audio", name: "WAV cut at 50% (header says more)", bytes: truncate(wav, 0.5), expect: verdict("audio") });
  cases.push({ kind: "truncated audio", name: "MP3 cut at 50%", bytes: truncate(encoded.mp3!, 0.5), expect: verdict("audio") });
  cases.push({ kind: "truncated audio", name: "FLAC cut at 50%", bytes: truncate(encoded.flac!, 0.5), expect: verdict("audio") });
  cases.push({ kind: "truncated audio", name: "M4A cut at 50% (index lost)", bytes: truncate(encoded.m4a!, 0.5), expect: rejected(REJECTED) });
  cases.push({ kind: "truncated audio", name: "OGG first 100 bytes", bytes: encoded.ogg!.subarray(0, 100), expect: rejected(REJECTED) });

  // Impossible headers.
  cases.push({ kind: "malformed audio header", name: "WAV sample rate 0", bytes: wavWith(wav, "rate", 0), expect: rejected(REJECTED) });
  cases.push({ kind: "malformed audio header", name: "WAV with 0 channels", bytes: wavWith(wav, "channels", 0), expect: rejected(REJECTED) });
  cases.push({ kind: "malformed audio header", name: "WAV with an unknown codec tag (0x7777)", bytes: wavWith(wav, "format", 0x7777), expect: rejected(REJECTED) });

  // Extremely long: refused, not silently cut (the limit is 600 s).
  cases.push({
    kind: "extremely long duration",
    name: "1 h of silence as 8 kbit/s MP3",
    bytes: ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "3600", "-c:a", "libmp3lame", "-b:a", "8k"], "hour.mp3"),
    expect: rejected(/the media was rejected: lfcc-lcnn: INVALID_ARGUMENT audio is longer than the limit of 600 s/),
  });
  // A header that claims 24 hours over 2 s of samples: what is really there is decoded.
  const liar = Buffer.from(wav);
  liar.writeUInt32LE(16000 * 2 * 86400, liar.indexOf("data") + 4);
  cases.push({ kind: "extremely long duration", name: "WAV header declaring 24 h (2 s real)", bytes: liar, expect: verdict("audio") });
  return cases;
}
