// Real photos for tests, never committed: scikit-image's sample data as Debian ships it
// (python3-skimage): astronaut.png (Eileen Collins, NASA, public domain), camera.png (the cameraman),
// coffee.png (a cup, no face). Found at $DEEPSAFE_TEST_PHOTOS, in an installed python3-skimage, or in
// <repo>/.deepsafe/test-media/skimage, which is filled with `apt-get download python3-skimage` when
// possible (only those PNGs are extracted; nothing is installed).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../paths.js";

export const SAMPLE_PHOTOS = ["astronaut.png", "camera.png", "coffee.png"] as const;

/** The folder holding the sample photos, or why there is none. */
export function findSamplePhotos(): { dir?: string; why?: string } {
  const cache = join(repoRoot, ".deepsafe", "test-media", "skimage");
  const candidates = [process.env.DEEPSAFE_TEST_PHOTOS, "/usr/lib/python3/dist-packages/skimage/data", cache].filter(Boolean) as string[];
  for (const dir of candidates) if (SAMPLE_PHOTOS.every((f) => existsSync(join(dir, f)))) return { dir };
  const tmp = mkdtempSync(join(tmpdir(), "deepsafe-skimage-"));
  try {
    const dl = spawnSync("apt-get", ["download", "python3-skimage"], { cwd: tmp, encoding: "utf8", timeout: 180_000 });
    const deb = dl.status === 0 ? (execFileSync("ls", [tmp], { encoding: "utf8" }).split("\n").find((f) => f.endsWith(".deb")) ?? "") : "";
    if (!deb) return { why: `no sample photos (set DEEPSAFE_TEST_PHOTOS, or make \`apt-get download python3-skimage\` work: ${(dl.stderr || String(dl.error ?? "")).trim().split("\n").pop()})` };
    mkdirSync(cache, { recursive: true });
    const members = SAMPLE_PHOTOS.map((f) => `./usr/lib/python3/dist-packages/skimage/data/${f}`);
    execFileSync("sh", ["-c", `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --strip-components=7 "$3" "$4" "$5"`, "sh", join(tmp, deb), cache, ...members]);
    return SAMPLE_PHOTOS.every((f) => existsSync(join(cache, f))) ? { dir: cache } : { why: `could not extract the sample photos from ${deb}` };
  } catch (err) {
    return { why: `no sample photos: ${(err as Error).message.split("\n")[0]}` };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
