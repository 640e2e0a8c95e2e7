// ONNX (onnxruntime-node, our TS windowing) vs our PyTorch reference, with the OFFICIAL AASIST and
// AASIST-L weights, on real encoded audio (wav/mp3/flac/ogg/m4a) decoded the way the service decodes it.
// Skips (saying why) when the weights mirror, Python+torch or ffmpeg is missing.
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { planWindows } from "@deepsafe/sdk";
import { audioTesting } from "@deepsafe/sdk/testing";
import { createAasistSession, readModelDir, VARIANTS, type AasistVariant } from "../src/onnx.js";
import {
  aasistWeightsDir,
  exportModel,
  ffmpegDecode,
  referenceScript,
  runPython,
  synthesize,
  tempDir,
} from "./helpers.js";

const { compareWithWaveformReference, parityUnavailable, sdkDecode } = audioTesting;
type WaveformReference = audioTesting.WaveformReference;

const TOLERANCE = 1e-4;
const THREADS = Number(process.env.AASIST_TEST_THREADS ?? 1);

interface Clip {
  name: string;
  format: string; // demuxer the SDK would force after sniffing
  lavfi: string;
  output: string[];
}

// Speech-like: a harmonic stack with pitch vibrato and ~4 Hz syllabic amplitude modulation.
const voiced = (f0: number) =>
  `(sin(2*PI*${f0}*t+3*sin(2*PI*0.3*t))+0.5*sin(2*PI*${2 * f0}*t+6*sin(2*PI*0.3*t))+0.25*sin(2*PI*${3 * f0}*t+9*sin(2*PI*0.3*t)))`;

const CLIPS: Clip[] = [
  {
    name: "short-am.wav", // 2.5 s: shorter than one window -> repeat-padded
    format: "wav",
    lavfi: `aevalsrc=exprs='0.25*${voiced(140)}*(0.55+0.45*sin(2*PI*4*t))':s=22050:d=2.5`,
    output: ["-c:a", "pcm_s16le"],
  },
  {
    name: "chirp.mp3", // 6 s linear chirp 100 Hz -> 4 kHz
    format: "mp3",
    lavfi: "aevalsrc=exprs='0.4*sin(2*PI*(100*t+325*t*t))':s=44100:d=6",
    output: ["-c:a", "libmp3lame", "-b:a", "128k"],
  },
  {
    name: "pink-noise.flac", // 5 s stereo pink noise at 48 kHz (downmix + resample)
    format: "flac",
    lavfi: "anoisesrc=color=pink:amplitude=0.3:seed=42:duration=5:sample_rate=48000",
    output: ["-ac", "2", "-c:a", "flac"],
  },
  {
    name: "tones.ogg", // 4.5 s two tones with tremolo
    format: "ogg",
    lavfi: "aevalsrc=exprs='0.3*(sin(2*PI*440*t)+0.6*sin(2*PI*660*t))*(0.7+0.3*sin(2*PI*6*t))':s=44100:d=4.5",
    output: ["-c:a", "libvorbis", "-q:a", "4"],
  },
  {
    name: "speech-like-20s.m4a", // ~20 s: 9 windows
    format: "mov",
    lavfi: `aevalsrc=exprs='0.2*${voiced(120)}*(0.5+0.5*sin(2*PI*3.7*t))*(0.8+0.2*sin(2*PI*0.25*t))+0.01*(2*random(0)-1)':s=44100:d=20`,
    output: ["-c:a", "aac", "-b:a", "96k"],
  },
];

const skipReason = parityUnavailable(aasistWeightsDir);

if (skipReason) {
  console.log(`\n  SKIPPED aasist parity tests: ${skipReason}\n`);
  test.skip("AASIST ONNX vs PyTorch parity (official weights)", () => {});
} else {
  const dir = tempDir("audio");
  const files = CLIPS.map((clip) => {
    const path = join(dir, clip.name);
    synthesize(path, clip.lavfi, clip.output);
    return { ...clip, path };
  });
  const decoded = files.map((f) => ({ name: f.name, ...ffmpegDecode(f.path, f.format) }));

  test("test audio decodes to the intended shapes", () => {
    assert.ok(decoded[0]!.samples.length < 64600, "one clip shorter than a window");
    assert.ok(decoded[4]!.samples.length >= 19.9 * 16000, "one clip of ~20 s");
    assert.is(planWindows(decoded[4]!.samples.length).starts.length, 9);
  });

  test("the SDK's decodeAudio yields exactly the samples the reference is given", async () => {
    for (const [i, file] of files.entries()) {
      const sdk = await sdkDecode(file.path);
      assert.is(sdk.sha256, decoded[i]!.sha256, file.name);
      assert.is(sdk.sampleRate, 16000);
    }
  });

  for (const variant of ["AASIST", "AASIST-L"] as AasistVariant[]) {
    test(`${variant}: ONNX + TS windows match the PyTorch reference within ${TOLERANCE}`, async () => {
      const checkpoint = join(aasistWeightsDir, VARIANTS[variant].checkpointFile);
      const onnxDir = exportModel(variant, { checkpoint });
      const { onnxPath, provenance } = await readModelDir(onnxDir, variant);
      assert.is(provenance.kind, "official");
      assert.is(provenance.checkpointSha256, VARIANTS[variant].checkpointSha256);

      const ref = runPython([
        referenceScript, "--variant", variant, "--checkpoint", checkpoint, "--threads", String(THREADS),
        ...files.flatMap((f) => ["--format", f.format]),
        ...files.map((f) => f.path),
      ]);
      assert.is(ref.status, 0, ref.stderr);
      const reference = JSON.parse(ref.stdout) as WaveformReference;
      assert.is(reference.checkpointSha256, VARIANTS[variant].checkpointSha256);

      const session = await createAasistSession(onnxPath, THREADS);
      try {
        await session.infer(new Float32Array(64600)); // warm-up, not timed
        const { scores, maxDelta, windows, inferSeconds } = await compareWithWaveformReference(decoded, reference, session.infer, TOLERANCE);
        for (const [i, clip] of scores.entries()) {
          console.log(
            `    ${variant} ${files[i]!.name}: ${clip.windows.length} window(s), P(fake) ${clip.probabilityFake.toFixed(4)} ` +
              `(windows ${clip.windows.map((w) => w.probabilityFake.toFixed(3)).join(" ")})`,
          );
        }
        console.log(
          `  ${variant}: max |Δlogit| = ${maxDelta.toExponential(2)} over ${windows} windows of ${files.length} files; ` +
            `per window (${THREADS} thread${THREADS === 1 ? "" : "s"}): ORT ${((inferSeconds / windows) * 1000).toFixed(0)} ms, ` +
            `PyTorch ${(reference.secondsPerWindow * 1000).toFixed(0)} ms`,
        );
        assert.ok(maxDelta <= TOLERANCE, `max |Δlogit| ${maxDelta} > ${TOLERANCE}`);
      } finally {
        await session.release();
      }
    });
  }
}

test.run();
