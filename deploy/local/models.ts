// `npm run models -- [status | pull <name…> | prepare]`: which weights each detector runs, and
// fetching + converting official checkpoints (DEEPSAFE_WEIGHTS_MIRROR for a local mirror,
// DEEPSAFE_WEIGHTS_BASE_URL for an internal HTTP mirror, else the public URLs).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { modelDir } from "@deepsafe/sdk";
import { loadRegistry } from "./mesh.js";
import { prepareModels } from "./prepare-models.js";

const [command = "status", ...names] = process.argv.slice(2);
const registry = loadRegistry();

function status(): void {
  for (const d of registry.detectors) {
    const dir = modelDir(d.name);
    const file = join(dir, "provenance.json");
    let weights = "not prepared";
    if (existsSync(file)) {
      const p = JSON.parse(readFileSync(file, "utf8")) as { kind: string; source: string };
      weights = `${p.kind} (${p.source})`;
    }
    console.log(`${d.name.padEnd(14)} ${d.media_type.padEnd(6)} ${d.enabled ? "enabled " : "disabled"} ${weights}`);
  }
}

switch (command) {
  case "status":
    status();
    break;
  case "pull":
  case "prepare": {
    const { ready, unavailable } = await prepareModels(registry, {
      names: command === "pull" && names.length ? names : undefined,
      progress: true,
    });
    console.log(`ready: ${ready.join(", ") || "none"}`);
    for (const [name, why] of unavailable) console.log(`unavailable: ${name}: ${why}`);
    // `pull` promises official weights; `prepare` (before tests and start) only reports.
    process.exitCode = command === "pull" && unavailable.size > 0 ? 1 : 0;
    break;
  }
  default:
    console.error("usage: npm run models -- [status | pull <name…> | prepare]");
    process.exitCode = 2;
}
