// A throwaway copy of the repository for add-model tests: the files add-model edits are copied,
// everything it only reads (installed modules, SDK, contracts, existing services) is symlinked.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

const COPIED = ["package.json", "tsconfig.base.json", "tsconfig.json", "gateway", "deploy", "tools/add-model"];
const LINKED = ["node_modules", "proto", "sdk"];

export function repoCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "deepsafe-add-model-"));
  for (const path of COPIED) cpSync(join(repoRoot, path), join(dir, path), { recursive: true, filter: (src) => !src.includes("node_modules") });
  for (const path of LINKED) symlinkSync(join(repoRoot, path), join(dir, path));
  mkdirSync(join(dir, "services"));
  for (const entry of readdirSync(join(repoRoot, "services"), { withFileTypes: true })) {
    if (entry.isDirectory()) symlinkSync(join(repoRoot, "services", entry.name), join(dir, "services", entry.name));
  }
  return dir;
}
