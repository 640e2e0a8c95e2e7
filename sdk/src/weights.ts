// Official checkpoints: each service lists them in its weights.json (public URL + pinned digest).
// fetchWeights() puts them into a local folder with the mirror layout (<folder>/<file>): taken from
// a local mirror when one is configured, otherwise downloaded (resumable, with a progress bar),
// and always verified before use. A file that does not match its pin is refused and removed.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { SingleBar } from "cli-progress";
import { repoRoot } from "./paths.js";

export interface WeightsFile {
  /** Path relative to a mirror, e.g. "aasist/AASIST.pth". */
  path: string;
  url: string;
  /** Pin: sha256 of the file, or (where upstream only identifies it by git) its git blob id. */
  sha256?: string;
  gitBlobSha1?: string;
  bytes?: number;
  license: string;
}

/** Folder downloads go to (mirror layout): $DEEPSAFE_WEIGHTS_CACHE or <repo>/.deepsafe/weights. */
export function weightsCache(): string {
  return process.env.DEEPSAFE_WEIGHTS_CACHE ?? join(repoRoot, ".deepsafe", "weights");
}

export async function readWeightsList(serviceDir: string): Promise<WeightsFile[]> {
  const path = join(serviceDir, "weights.json");
  if (!existsSync(path)) return [];
  const list = JSON.parse(await readFile(path, "utf8")) as WeightsFile[];
  for (const w of list) {
    if (!w.path || !w.url || !(w.sha256 || w.gitBlobSha1)) throw new Error(`${path}: every entry needs path, url and sha256 (or gitBlobSha1)`);
  }
  return list;
}

export class ChecksumError extends Error {
  override name = "ChecksumError";
}

/** Check a file against its pin; throws ChecksumError naming both digests. */
export async function verifyWeights(file: string, pin: WeightsFile): Promise<void> {
  const size = (await stat(file)).size;
  const sha256 = createHash("sha256");
  // git's blob id: sha1 over "blob <size>\0" + content.
  const blob = createHash("sha1").update(`blob ${size}\0`);
  for await (const chunk of createReadStream(file)) {
    sha256.update(chunk as Buffer);
    blob.update(chunk as Buffer);
  }
  if (pin.sha256) {
    const actual = sha256.digest("hex");
    if (actual !== pin.sha256) throw new ChecksumError(`${file}: sha256 ${actual} does not match the pinned ${pin.sha256}`);
  } else {
    const actual = blob.digest("hex");
    if (actual !== pin.gitBlobSha1) throw new ChecksumError(`${file}: git blob ${actual} does not match the pinned ${pin.gitBlobSha1}`);
  }
}

export interface FetchOptions {
  /** Local mirror with the same layout, used instead of the network ($DEEPSAFE_WEIGHTS_MIRROR). */
  mirror?: string | undefined;
  /** Download from <baseUrl>/<path> instead of each file's public URL (an internal mirror over HTTP). */
  baseUrl?: string | undefined;
  cache?: string;
  progress?: boolean;
}

/**
 * Make every file of `list` available under one folder with the mirror layout and return that folder.
 * With a mirror that holds all files (verified), the mirror itself is returned.
 */
export async function fetchWeights(list: WeightsFile[], options: FetchOptions = {}): Promise<string> {
  const mirror = options.mirror;
  if (mirror && list.every((w) => existsSync(join(mirror, w.path)))) {
    for (const w of list) await verifyWeights(join(mirror, w.path), w);
    return mirror;
  }
  const cache = options.cache ?? weightsCache();
  for (const w of list) {
    const target = join(cache, w.path);
    if (existsSync(target)) {
      try {
        await verifyWeights(target, w);
        continue;
      } catch {
        await rm(target, { force: true }); // stale or corrupt: fetch again
      }
    }
    await mkdir(dirname(target), { recursive: true });
    const local = mirror ? join(mirror, w.path) : undefined;
    if (local && existsSync(local)) {
      await copyFile(local, `${target}.part`);
    } else {
      const url = options.baseUrl ? `${options.baseUrl.replace(/\/$/, "")}/${w.path}` : w.url;
      await download(url, `${target}.part`, w, options.progress ?? process.stderr.isTTY === true);
    }
    try {
      await verifyWeights(`${target}.part`, w);
    } catch (err) {
      await rm(`${target}.part`, { force: true });
      throw err;
    }
    await rename(`${target}.part`, target);
  }
  return cache;
}

/** GET with resume: an existing .part file continues with a Range request. */
async function download(url: string, partFile: string, pin: WeightsFile, showProgress: boolean): Promise<void> {
  const have = existsSync(partFile) ? (await stat(partFile)).size : 0;
  const res = await fetch(url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, redirect: "follow" }).catch((err: Error) => {
    const cause = (err.cause as { code?: string; message?: string } | undefined) ?? {};
    throw new Error(`download of ${url} failed: ${cause.code ?? cause.message ?? err.message}`);
  });
  if (res.status === 416) return; // already complete: verification decides
  if (!res.ok || !res.body) throw new Error(`download of ${url} failed: HTTP ${res.status}`);
  const resumed = res.status === 206;
  const total = pin.bytes ?? (Number(res.headers.get("content-length") ?? 0) + (resumed ? have : 0));
  const bar = showProgress ? new SingleBar({ format: `${pin.path} [{bar}] {percentage}% {value}/{total} bytes {eta}s` }) : undefined;
  let done = resumed ? have : 0;
  bar?.start(total || 1, done);
  const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream);
  body.on("data", (chunk: Buffer) => {
    done += chunk.length;
    bar?.update(done);
  });
  try {
    await pipeline(body, createWriteStream(partFile, { flags: resumed ? "a" : "w" }));
  } finally {
    bar?.stop();
  }
}
