// provenance.json sits next to every converted model.onnx and says which weights it holds.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Provenance } from "./model.js";

const KINDS = new Set<Provenance["kind"]>(["official", "project-trained", "random-fixture"]);

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Read and check <dir>/provenance.json; the served graph's sha256 must match what it records. */
export async function readProvenance(dir: string, graphFile = "model.onnx"): Promise<Provenance> {
  const path = join(dir, "provenance.json");
  let parsed: Partial<Provenance>;
  try {
    parsed = JSON.parse(await readFile(path, "utf8")) as Partial<Provenance>;
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (!parsed.kind || !KINDS.has(parsed.kind) || typeof parsed.source !== "string") {
    throw new Error(`${path}: "kind" must be one of ${[...KINDS].join(", ")} and "source" a string`);
  }
  const actual = await sha256File(join(dir, graphFile));
  if (parsed.onnxSha256 && parsed.onnxSha256 !== actual) {
    throw new Error(`${join(dir, graphFile)} does not match the sha256 recorded in ${path}`);
  }
  return { ...parsed, kind: parsed.kind, source: parsed.source, onnxSha256: actual };
}
