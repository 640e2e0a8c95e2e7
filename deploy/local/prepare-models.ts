// Make sure every enabled detector has its converted weights: runs each service's own
// `prepare-model` script (idempotent: quick when the model is already converted).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Registry } from "../../gateway/src/registry.js";
import { loadRegistry, repoRoot, servicePackages } from "./mesh.js";

export interface Preparation {
  ready: string[];
  /** Detector name → why it cannot run. */
  unavailable: Map<string, string>;
}

export function prepareModels(registry: Registry): Preparation {
  const packages = servicePackages();
  const ready: string[] = [];
  const unavailable = new Map<string, string>();
  const done = new Map<string, boolean>();
  for (const detector of registry.detectors.filter((d) => d.enabled)) {
    const dir = packages.get(detector.package);
    if (!dir) {
      unavailable.set(detector.name, `package ${detector.package} not found under services/`);
      continue;
    }
    if (!done.has(dir)) {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { scripts?: Record<string, string> };
      let ok = true;
      if (pkg.scripts?.["prepare-model"]) {
        const run = spawnSync("npm", ["run", "--silent", "prepare-model"], { cwd: dir, stdio: "inherit", env: process.env });
        ok = run.status === 0;
      }
      done.set(dir, ok);
    }
    if (done.get(dir)) ready.push(detector.name);
    else unavailable.set(detector.name, `its weights could not be prepared (see the output of \`npm run prepare-model -w ${detector.package}\`)`);
  }
  return { ready, unavailable };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.chdir(repoRoot);
  const { ready, unavailable } = prepareModels(loadRegistry());
  console.log(`models ready: ${ready.join(", ") || "none"}`);
  for (const [name, why] of unavailable) console.log(`unavailable: ${name}: ${why}`);
}
