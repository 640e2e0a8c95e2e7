// ONNX (onnxruntime-node, our TS windowing) vs our PyTorch reference, with the OFFICIAL RawGAT-ST
// weights, on real encoded audio made with ffmpeg (flite TTS speech, tones, noise; wav/mp3/flac),
// decoded the way the service decodes it. The served mul variant runs on every file; add and cat on
// two. Skips (saying why) when the weights mirror, Python+torch or ffmpeg is missing.
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { planWindows } from "@deepsafe/sdk";
import { audioTesting } from "@deepsafe/sdk/testing";
import { createRawGatSession, readModelDir, VARIANTS, type RawGatVariant } from "../src/onnx.js";
import {
  exportModel,
  ffmpegDecode,
  rawgatWeightsDir,
  referenceScript,
  runPython,
  synthesize,
  synthesizeSpeech,
  tempDir,
  weightsMirror,
} from "./helpers.js";

const { compareWithWaveformReference, parityUnavailable, sdkDecode } = audioTesting;
type WaveformReference = audioTesting.WaveformReference;

const TOLERANCE = 1e-4;
const THREADS = Number(process.env.RAWGAT_TEST_THREADS ?? 1);

interface Clip {
  name: string;
  format: string; // demuxer the SDK forces after sniffing
  make: (path: string) => void;
}

const CLIPS: Clip[] = [
  {
    name: "speech-slt.wav", // ~8 s flite "slt" voice, 16 kHz PCM: 3 windows
    format: "wav",
    make: (p) =>
      synthesizeSpeech(
        p,
        "Please call Stella. Ask her to bring these things with her from the store. Six spoons of fresh snow peas, five thick slabs of blue cheese.",
        "slt",
        ["-c:a", "pcm_s16le"],
      ),
  },
  {
    name: "speech-kal.mp3", // ~4.5 s flite "kal" voice (8 kHz) in 22.05 kHz mp3: 2 windows
    format: "mp3",
    make: (p) =>
      synthesizeSpeech(p, "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.", "kal", [
        "-ar", "22050", "-c:a", "libmp3lame", "-b:a", "64k",
      ]),
  },
  {
    name: "tones.flac", // 2.5 s stereo 48 kHz two tones with tremolo: one repeat-padded window
    format: "flac",
    make: (p) =>
      synthesize(p, "aevalsrc=exprs='0.3*(sin(2*PI*440*t)+0.6*sin(2*PI*660*t))*(0.7+0.3*sin(2*PI*6*t))|0.2*sin(2*PI*550*t)':s=48000:d=2.5", [
        "-c:a", "flac",
      ]),
  },
  {
    name: "pink-noise.flac", // 5 s pink noise at 44.1 kHz: 2 windows
    format: "flac",
    make: (p) => synthesize(p, "anoisesrc=color=pink:amplitude=0.3:seed=42:duration=5:sample_rate=44100", ["-c:a", "flac"]),
  },
];

/** Files each variant is checked on (indices into CLIPS). */
const FILES_PER_VARIANT: Record<RawGatVariant, number[]> = { mul: [0, 1, 2, 3], add: [1, 2], cat: [1, 2] };

const skipReason = parityUnavailable(rawgatWeightsDir);

if (skipReason) {
  console.log(`\n  SKIPPED rawgat-st parity tests: ${skipReason}\n`);
  test.skip("RawGAT-ST ONNX vs PyTorch parity (official weights)", () => {});
} else {
  const dir = tempDir("audio");
  const files = CLIPS.map((clip) => {
    const path = join(dir, clip.name);
    clip.make(path);
    return { ...clip, path };
  });
  const decoded = files.map((f) => ({ name: f.name, ...ffmpegDecode(f.path, f.format) }));

  test("test audio decodes to the intended shapes", () => {
    assert.equal(decoded.map((d) => planWindows(d.samples.length).starts.length), [3, 2, 1, 2]);
    assert.ok(decoded[2]!.samples.length < 64600, "one clip shorter than a window");
  });

  test("the SDK's decodeAudio yields exactly the samples the reference is given", async () => {
    for (const [i, file] of files.entries()) {
      const sdk = await sdkDecode(file.path);
      assert.is(sdk.sha256, decoded[i]!.sha256, file.name);
      assert.is(sdk.sampleRate, 16000);
    }
  });

  for (const variant of ["mul", "add", "cat"] as RawGatVariant[]) {
    const picked = FILES_PER_VARIANT[variant];
    test(`RawGAT-ST-${variant}: ONNX + TS windows match the PyTorch reference within ${TOLERANCE}`, async () => {
      const checkpoint = join(weightsMirror, VARIANTS[variant].checkpointPath);
      const onnxDir = exportModel(variant, { checkpoint });
      const { onnxPath, provenance } = await readModelDir(onnxDir, variant);
      assert.is(provenance.kind, "official");
      assert.is(provenance.checkpointSha256, VARIANTS[variant].checkpointSha256);

      const ref = runPython([
        referenceScript, "--variant", variant, "--checkpoint", checkpoint, "--threads", String(THREADS),
        ...picked.flatMap((i) => ["--format", files[i]!.format]),
        ...picked.map((i) => files[i]!.path),
      ]);
      assert.is(ref.status, 0, ref.stderr);
      const reference = JSON.parse(ref.stdout) as WaveformReference;
      assert.is(reference.checkpointSha256, VARIANTS[variant].checkpointSha256);

      const session = await createRawGatSession(onnxPath, THREADS);
      try {
        await session.infer(new Float32Array(64600)); // warm-up, not timed
        const clips = picked.map((i) => decoded[i]!);
        const { scores, maxDelta, windows, inferSeconds } = await compareWithWaveformReference(clips, reference, session.infer, TOLERANCE);
        for (const [k, clip] of scores.entries()) {
          console.log(
            `    RawGAT-ST-${variant} ${clips[k]!.name}: ${clip.windows.length} window(s), P(fake) ${clip.probabilityFake.toFixed(4)} ` +
              `(logits ${clip.windows.map((w) => `[${w.logits[0].toFixed(2)}, ${w.logits[1].toFixed(2)}]`).join(" ")})`,
          );
        }
        console.log(
          `  RawGAT-ST-${variant}: max |Δlogit| = ${maxDelta.toExponential(2)} over ${windows} windows of ${picked.length} files; ` +
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
