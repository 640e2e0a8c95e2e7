// Labelled datasets for the evaluation command: a folder with real/ and fake/ (any depth below,
// folder names case-insensitive, as the original DeepSafe) or a CSV manifest `path,label[,group]`.
// Nothing is ever labelled by default: a file that is not under real/ or fake/, a manifest row with
// an unknown label, a missing file or a file of another media type is listed as skipped, with why.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { Label } from "./metrics.js";

export type MediaName = "image" | "video" | "audio";

/** File name extensions taken as each media type (lower case, with the dot). */
export const MEDIA_EXTENSIONS: Record<MediaName, readonly string[]> = {
  audio: [".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".webm", ".aif", ".aiff", ".wma", ".mka"],
  image: [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".avif"],
  video: [".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".3gp"],
};

export interface DatasetItem {
  /** Absolute path. */
  path: string;
  /** Path relative to the dataset root (the folder, or the manifest's folder), with / separators. */
  relPath: string;
  label: Label;
  /** Sub-population: the folder right under real/ or fake/ (folder datasets), or the manifest's third column. */
  group: string;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface Dataset {
  root: string;
  kind: "folder" | "manifest";
  items: DatasetItem[];
  skipped: SkippedFile[];
}

function toPosix(p: string): string {
  return p.split(sep).join("/");
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (entry.isFile()) out.push(full);
  }
}

function labelOfFolder(name: string): Label | undefined {
  const n = name.toLowerCase();
  return n === "real" ? 0 : n === "fake" ? 1 : undefined;
}

function hasMediaExtension(path: string, media: MediaName): boolean {
  return MEDIA_EXTENSIONS[media].includes(extname(path).toLowerCase());
}

/** A folder dataset: files under <root>/real/** and <root>/fake/** (any case); everything else is skipped. */
export function loadFolder(root: string, media: MediaName): Dataset {
  const files: string[] = [];
  walk(root, files);
  const items: DatasetItem[] = [];
  const skipped: SkippedFile[] = [];
  for (const path of files) {
    const rel = toPosix(relative(root, path));
    const parts = rel.split("/");
    const base = parts[parts.length - 1]!;
    if (base.startsWith(".")) {
      skipped.push({ path: rel, reason: "hidden file" });
      continue;
    }
    const label = parts.length > 1 ? labelOfFolder(parts[0]!) : undefined;
    if (label === undefined) {
      skipped.push({ path: rel, reason: "not under real/ or fake/: no label" });
      continue;
    }
    if (!hasMediaExtension(path, media)) {
      skipped.push({ path: rel, reason: `not a ${media} file (extension ${extname(path) || "none"})` });
      continue;
    }
    items.push({ path, relPath: rel, label, group: parts.length > 2 ? `${parts[0]!.toLowerCase()}/${parts[1]}` : parts[0]!.toLowerCase() });
  }
  return { root, kind: "folder", items, skipped };
}

/** Split one CSV line (RFC 4180 quoting: "a, b" and "" inside quotes). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      out.push(field);
      field = "";
    } else field += c;
  }
  out.push(field);
  return out.map((f) => f.trim());
}

function parseLabel(value: string): Label | undefined {
  const v = value.trim().toLowerCase();
  if (v === "real" || v === "0" || v === "bonafide" || v === "bona fide" || v === "bona-fide") return 0;
  if (v === "fake" || v === "1" || v === "spoof") return 1;
  return undefined;
}

/** A CSV manifest: `path,label[,group]` (a header row is recognised), paths relative to the manifest's folder. */
export function loadManifest(csvPath: string, media: MediaName): Dataset {
  const root = dirname(csvPath);
  const items: DatasetItem[] = [];
  const skipped: SkippedFile[] = [];
  const lines = readFileSync(csvPath, "utf8").split(/\r?\n/);
  lines.forEach((line, index) => {
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const [p = "", l = "", g] = splitCsvLine(line);
    if (index === 0 && p.toLowerCase() === "path" && l.toLowerCase() === "label") return; // header
    const where = `${p || "(empty path)"} (line ${index + 1})`;
    const label = parseLabel(l);
    if (!p) return void skipped.push({ path: where, reason: "no path" });
    if (label === undefined) return void skipped.push({ path: where, reason: `unknown label "${l}" (expected real/fake or 0/1)` });
    const path = isAbsolute(p) ? p : resolve(root, p);
    let isFile = false;
    try {
      isFile = statSync(path).isFile();
    } catch {
      // missing: reported below
    }
    if (!isFile) return void skipped.push({ path: where, reason: "file not found" });
    if (!hasMediaExtension(path, media)) return void skipped.push({ path: where, reason: `not a ${media} file (extension ${extname(path) || "none"})` });
    items.push({ path, relPath: toPosix(isAbsolute(p) ? p : relative(root, path)), label, group: g || (label === 1 ? "fake" : "real") });
  });
  return { root, kind: "manifest", items, skipped };
}

/** A folder or a .csv manifest. */
export function loadDataset(path: string, media: MediaName): Dataset {
  const st = statSync(path);
  if (st.isDirectory()) return loadFolder(path, media);
  if (extname(path).toLowerCase() === ".csv") return loadManifest(path, media);
  throw new Error(`--dataset must be a folder with real/ and fake/ or a .csv manifest (path,label): ${path}`);
}
