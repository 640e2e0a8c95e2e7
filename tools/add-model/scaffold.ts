// Writes services/<name>/ from tools/add-model/template: every *.tmpl file with its placeholders
// filled in; of the three model templates only the one for the chosen media type.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { RepoFiles } from "./files.js";
import type { NewDetector } from "./validate.js";

/** my_detector → MyDetectorModel */
export function className(name: string): string {
  return name.split(/[-_]/).filter(Boolean).map((p) => p[0]!.toUpperCase() + p.slice(1)).join("") + "Model";
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.name.endsWith(".tmpl")) yield path;
  }
}

/** Returns the files written, relative to the repository root. */
export function scaffold(files: RepoFiles, d: NewDetector): string[] {
  const out = join(files.services, d.name);
  const values: Record<string, string> = {
    __NAME__: d.name,
    __CLASS__: className(d.name),
    __MEDIA__: d.media,
    __PORT__: String(d.port),
    __METRICS_PORT__: String(d.port + 10000),
  };
  const written: string[] = [];
  for (const source of walk(files.template)) {
    let target = relative(files.template, source).replace(/\.tmpl$/, "");
    const media = /^src\/model\.(image|audio|video)\.ts$/.exec(target)?.[1];
    if (media && media !== d.media) continue;
    if (media) target = "src/model.ts";
    const text = readFileSync(source, "utf8").replace(/__[A-Z_]+__/g, (key) => values[key] ?? key);
    const path = join(out, target);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    written.push(relative(files.root, path));
  }
  return written;
}
