// Shared by the Cross-Efficient-ViT tests: the random-weight fixture (made by our own prepare-model script, cached
// between runs in <repo>/.deepsafe/fixtures/cross-efficient-vit, re-made when the converter code changes), the
// SDK's face detector from the weights mirror, real test photos and videos made from them with ffmpeg.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { faceDetectorGraph, prepareFaceDetector, repoRoot } from "@deepsafe/sdk";
import { pythonBinary, pythonUnavailable, serviceDir } from "../scripts/python.js";

export { pythonBinary, pythonUnavailable, serviceDir };

/** Official weights mirror (YuNet lives there): $DEEPSAFE_WEIGHTS_MIRROR, else ../shared/weights beside the repository. */
export const weightsMirror = process.env.DEEPSAFE_WEIGHTS_MIRROR ?? join(repoRoot, "..", "shared", "weights");
export const fixtureRoot = join(repoRoot, ".deepsafe", "fixtures", "cross-efficient-vit");

const tempDirs: string[] = [];
process.on("exit", () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cev-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

export function faceDetectorUnavailable(): string | undefined {
  return existsSync(join(weightsMirror, faceDetectorGraph.path))
    ? undefined
    : `${join(weightsMirror, faceDetectorGraph.path)} not found (set DEEPSAFE_WEIGHTS_MIRROR)`;
}

export function ffmpegUnavailable(): string | undefined {
  const run = spawnSync(process.env.DEEPSAFE_FFMPEG ?? "ffmpeg", ["-hide_banner", "-encoders"], { encoding: "utf8" });
  if (run.error || run.status !== 0) return "ffmpeg is not installed";
  return /libx264/.test(run.stdout) ? undefined : "ffmpeg has no libx264 encoder";
}

export function ffmpeg(args: string[]): void {
  const run = spawnSync(process.env.DEEPSAFE_FFMPEG ?? "ffmpeg", ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", ...args], { encoding: "utf8" });
  if (run.error || run.status !== 0) throw new Error(`ffmpeg ${args.join(" ")} failed: ${run.error?.message ?? run.stderr}`);
}

// ------------------------------------------------------------------------------------ prepare-model

export interface ScriptRun {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** scripts/prepare-model.ts in a child process with the given environment (merged over ours). */
export function prepareModel(args: string[], env: Record<string, string | undefined>): ScriptRun {
  const tsx = join(repoRoot, "node_modules", ".bin", "tsx");
  const t0 = performance.now();
  const run = spawnSync(tsx, [join(serviceDir, "scripts", "prepare-model.ts"), ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    cwd: serviceDir,
    maxBuffer: 16 << 20,
  });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, ms: performance.now() - t0 };
}

export interface Fixture {
  /** Models root (DEEPSAFE_MODELS_DIR) holding cross-efficient-vit/ and face-detector/. */
  modelsRoot: string;
  modelDir: string;
  faceDetectorDir: string;
  /** The random .pth the ONNX graph was converted from (seed 0), for the PyTorch reference. */
  checkpoint: string;
  prepare: ScriptRun;
}

let fixture: Fixture | undefined;

/** The random fixture (seed 0) converted by prepare-model into the cache, plus its .pth for the reference. */
export async function randomFixture(): Promise<Fixture> {
  if (fixture) return fixture;
  const modelsRoot = join(fixtureRoot, "models");
  mkdirSync(modelsRoot, { recursive: true });
  const faceDetectorDir = join(modelsRoot, "face-detector");
  await prepareFaceDetector({ mirror: weightsMirror, dir: faceDetectorDir });
  const prepare = prepareModel(["--random-fixture", "--seed", "0"], { DEEPSAFE_MODELS_DIR: modelsRoot, DEEPSAFE_WEIGHTS_MIRROR: weightsMirror });
  if (prepare.status !== 0) throw new Error(`prepare-model --random-fixture failed (${prepare.status}): ${prepare.stderr.slice(-3000)}`);
  const modelDir = join(modelsRoot, "cross-efficient-vit");
  // The same random weights as a .pth (random_state_dict(0)), for the PyTorch reference and the conversion test.
  // torch.save names the archive after the file, so "fixture.pth" (export.py's name) gives the identical bytes.
  const checkpoint = join(fixtureRoot, "seed0", "fixture.pth");
  const provenance = JSON.parse(readFileSync(join(modelDir, "provenance.json"), "utf8")) as { checkpointSha256: string };
  const stamp = join(fixtureRoot, "seed0", "fixture.pth.sha256");
  const have = existsSync(checkpoint) && existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : "";
  if (have !== provenance.checkpointSha256) {
    mkdirSync(join(fixtureRoot, "seed0"), { recursive: true });
    const run = spawnSync(pythonBinary(), [join(serviceDir, "python", "make_checkpoint.py"), "--seed", "0", "--out", checkpoint], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`make_checkpoint.py failed: ${run.stderr}`);
    const made = (JSON.parse(run.stdout) as { sha256: string }).sha256;
    if (made !== provenance.checkpointSha256) {
      throw new Error(`make_checkpoint.py --seed 0 wrote sha256 ${made}, but the fixture was converted from ${provenance.checkpointSha256}`);
    }
    execFileSync("sh", ["-c", 'printf "%s\\n" "$1" > "$2"', "sh", made, stamp]);
  }
  fixture = { modelsRoot, modelDir, faceDetectorDir, checkpoint, prepare };
  return fixture;
}

// ------------------------------------------------------------------------------------ media

const SKIMAGE_FILES = ["astronaut.png", "camera.png"];

/**
 * scikit-image's sample photos as Debian ships them (python3-skimage): astronaut.png (Eileen Collins, NASA, public
 * domain) and camera.png. From $DEEPSAFE_TEST_PHOTOS, an installed python3-skimage, or <repo>/.deepsafe/test-media/
 * skimage, which is filled with `apt-get download python3-skimage` when possible (only the PNGs are extracted).
 */
export function findPhotos(): { dir?: string; why?: string } {
  const cache = join(repoRoot, ".deepsafe", "test-media", "skimage");
  const candidates = [process.env.DEEPSAFE_TEST_PHOTOS, "/usr/lib/python3/dist-packages/skimage/data", cache].filter(Boolean) as string[];
  for (const dir of candidates) if (SKIMAGE_FILES.every((f) => existsSync(join(dir, f)))) return { dir };
  const tmp = mkdtempSync(join(tmpdir(), "cev-skimage-"));
  try {
    const dl = spawnSync("apt-get", ["download", "python3-skimage"], { cwd: tmp, encoding: "utf8", timeout: 180_000 });
    const deb = dl.status === 0 ? (execFileSync("ls", [tmp], { encoding: "utf8" }).split("\n").find((f) => f.endsWith(".deb")) ?? "") : "";
    if (!deb) return { why: `no sample photos (set DEEPSAFE_TEST_PHOTOS, or make \`apt-get download python3-skimage\` work: ${(dl.stderr || String(dl.error ?? "")).trim().split("\n").pop()})` };
    mkdirSync(cache, { recursive: true });
    const members = SKIMAGE_FILES.map((f) => `./usr/lib/python3/dist-packages/skimage/data/${f}`);
    execFileSync("sh", ["-c", `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --strip-components=7 "$3" "$4"`, "sh", join(tmp, deb), cache, ...members]);
    return SKIMAGE_FILES.every((f) => existsSync(join(cache, f))) ? { dir: cache } : { why: `could not extract the sample photos from ${deb}` };
  } catch (err) {
    return { why: `no sample photos: ${(err as Error).message.split("\n")[0]}` };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface TestVideos {
  /** 3 s, 25 fps, 640x480: zooming into and panning across the astronaut photo (one face). */
  face: string;
  /** 3 s, 10 fps, 800x512: panning across the astronaut and the cameraman side by side (two faces). */
  pair: string;
  /** 2 s test pattern, no face. */
  noFace: string;
  /** The first 40 % of the face clip's bytes. */
  truncated: string;
  /** An AAC sine tone in MP4, no video stream. */
  audioOnly: string;
}

let videos: TestVideos | undefined;

export function makeVideos(photoDir: string): TestVideos {
  if (videos) return videos;
  const dir = tempDir("videos");
  const astronaut = join(photoDir, "astronaut.png");
  const camera = join(photoDir, "camera.png");
  const face = join(dir, "face.mp4");
  ffmpeg([
    "-loop", "1", "-framerate", "25", "-i", astronaut, "-t", "3",
    "-vf", "zoompan=z='1+0.25*on/75':x='iw/2-(iw/zoom/2)+on*0.8':y='ih/4-(ih/zoom/4)':d=1:s=640x480:fps=25,format=yuv420p",
    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", face,
  ]);
  const pair = join(dir, "pair.mp4");
  ffmpeg([
    "-loop", "1", "-framerate", "10", "-i", astronaut, "-loop", "1", "-framerate", "10", "-i", camera, "-t", "3",
    "-filter_complex", "[1:v]format=rgb24[c];[0:v][c]hstack=inputs=2,crop=800:512:x='t*60':y=0,format=yuv420p",
    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", pair,
  ]);
  const noFace = join(dir, "pattern.mp4");
  ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", noFace]);
  const truncated = join(dir, "truncated.mp4");
  const bytes = readFileSync(face);
  execFileSync("sh", ["-c", 'head -c "$1" "$2" > "$3"', "sh", String(Math.floor(bytes.length * 0.4)), face, truncated]);
  const audioOnly = join(dir, "tone.m4a");
  ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", "-f", "mp4", audioOnly]);
  videos = { face, pair, noFace, truncated, audioOnly };
  return videos;
}


export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
