// Registers (or unregisters) a detector in the registry, the compose file, Prometheus' targets and
// the Helm values. New entries are spliced in as text at the end of their list, and removed the same
// way, so the rest of each file (comments, alignment) is left exactly as it was; every edit is
// re-parsed and checked.
import { readFileSync, writeFileSync } from "node:fs";
import { isMap, isScalar, isSeq, parseDocument, type Node, type Range } from "yaml";
import type { RepoFiles } from "./files.js";
import type { NewDetector } from "./validate.js";

const DEADLINE_MS = { image: 30_000, audio: 60_000, video: 120_000 } as const;

type Path = (string | number)[];

function collection(text: string, path: Path, file: string) {
  const doc = parseDocument(text, { merge: true });
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
  const node = doc.getIn(path, true);
  if (!(isSeq(node) || isMap(node)) || !node.range) throw new Error(`${file}: ${path.join(".")} is not a list or map`);
  return { doc, node };
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** Leading spaces of the line holding the collection's first entry. */
function indentOf(text: string, range: Range): string {
  const start = lineStart(text, range[0]);
  return /^ */.exec(text.slice(start))![0];
}

/** Append `lines` (unindented YAML of one entry) at the end of the collection at `path`. */
function append(file: string, path: Path, lines: string[], check: (value: unknown) => boolean): void {
  const text = readFileSync(file, "utf8");
  const { node } = collection(text, path, file);
  const at = node.range![1];
  const indent = indentOf(text, node.range!);
  const snippet = lines.map((l) => indent + l + "\n").join("");
  const next = text.slice(0, at) + (text[at - 1] === "\n" ? "" : "\n") + snippet + text.slice(at);
  const { doc, node: after } = collection(next, path, file);
  if (!check(after.toJS(doc))) throw new Error(`${file}: the new entry did not land in ${path.join(".")}`);
  writeFileSync(file, next);
}

/** Remove the entries of the collection at `path` that `match`, with the comment lines right above them. */
function removeFrom(file: string, path: Path, match: (key: unknown, value: unknown) => boolean): boolean {
  let text = readFileSync(file, "utf8");
  const { doc, node } = collection(text, path, file);
  const spans: Array<[number, number]> = [];
  const items = (node.items as unknown[]).map((item) =>
    isSeq(node) ? { key: undefined, start: (item as Node).range!, value: item as Node } : { key: (item as { key: Node }).key, start: (item as { key: Node }).key.range!, value: (item as { value: Node }).value },
  );
  for (const { key, start, value } of items) {
    if (!match(isScalar(key) ? key.value : undefined, value.toJS(doc))) continue;
    let from = lineStart(text, start[0]);
    // Take the comment lines directly above the entry with it.
    for (let prev = lineStart(text, from - 1); from > 0 && /^\s*#/.test(text.slice(prev, from)); prev = lineStart(text, from - 1)) from = prev;
    const end = value.range![2];
    spans.push([from, text[end - 1] === "\n" ? end : text.indexOf("\n", end) + 1 || text.length]);
  }
  for (const [from, to] of spans.reverse()) text = text.slice(0, from) + text.slice(to);
  if (spans.length) writeFileSync(file, text);
  return spans.length > 0;
}

const named = (name: string) => (value: unknown) => Array.isArray(value) && value.some((v: { name?: string }) => v?.name === name);

export function registerEverywhere(files: RepoFiles, d: NewDetector): void {
  append(files.registry, ["detectors"], [
    "# Scaffolded by add-model: an untrained placeholder (random fixture, never in a verdict) until real weights are exported.",
    `- name: ${d.name}`,
    `  package: "@deepsafe/${d.name}"`,
    `  media_type: ${d.media}`,
    `  address: 127.0.0.1:${d.port}`,
    `  deadline_ms: ${DEADLINE_MS[d.media]}`,
  ], named(d.name));
  append(files.compose, ["services"], [
    `${d.name}:`,
    "  <<: *detector",
    `  command: ["detector", "${d.name}"]`,
    `  environment: { <<: *detector-env, PORT: "${d.port}" }`,
  ], (services) => !!(services as Record<string, unknown>)[d.name]);
  const doc = parseDocument(readFileSync(files.prometheus, "utf8"));
  const jobs = doc.get("scrape_configs", true);
  const job = isSeq(jobs) ? jobs.items.findIndex((j) => isMap(j) && j.get("job_name") === "detectors") : -1;
  if (job < 0) throw new Error(`${files.prometheus}: no scrape job "detectors"`);
  append(files.prometheus, ["scrape_configs", job, "static_configs"], [
    `- targets: ["${d.name}:${d.port + 10000}"]`,
    `  labels: { detector: ${d.name} }`,
  ], (targets) => Array.isArray(targets) && targets.some((t: { labels?: { detector?: string } }) => t.labels?.detector === d.name));
  append(files.helmValues, ["detectors"], [
    `- name: ${d.name}`,
    `  package: "@deepsafe/${d.name}"`,
    `  media_type: ${d.media}`,
    `  port: ${d.port}`,
    `  deadline_ms: ${DEADLINE_MS[d.media]}`,
    "  resources:",
    '    requests: { cpu: 250m, memory: 512Mi }',
    '    limits: { cpu: "1", memory: 1Gi }',
  ], named(d.name));
}

/** Undo registerEverywhere; returns the files that named the detector. */
export function unregisterEverywhere(files: RepoFiles, name: string): string[] {
  const touched: string[] = [];
  const byName = (_key: unknown, value: unknown) => (value as { name?: string })?.name === name;
  if (removeFrom(files.registry, ["detectors"], byName)) touched.push(files.registry);
  if (removeFrom(files.compose, ["services"], (key) => key === name)) touched.push(files.compose);
  const doc = parseDocument(readFileSync(files.prometheus, "utf8"));
  const jobs = doc.get("scrape_configs", true);
  const job = isSeq(jobs) ? jobs.items.findIndex((j) => isMap(j) && j.get("job_name") === "detectors") : -1;
  if (job >= 0 && removeFrom(files.prometheus, ["scrape_configs", job, "static_configs"], (_k, v) => (v as { labels?: { detector?: string } })?.labels?.detector === name)) {
    touched.push(files.prometheus);
  }
  if (removeFrom(files.helmValues, ["detectors"], byName)) touched.push(files.helmValues);
  return touched;
}
