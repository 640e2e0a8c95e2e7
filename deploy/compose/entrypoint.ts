// Container entrypoint for the gateway and every detector, driven by the registry (the one place
// that says which detectors exist, their package, port and environment):
//
//   entrypoint.ts detector <name>   run that detector's service, on the port of its registry address
//   entrypoint.ts gateway           run the gateway; with DEEPSAFE_DETECTOR_HOST_TEMPLATE (e.g. "{name}")
//                                   each detector's host is rewritten to its container's DNS name
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { stringify } from "yaml";
import { loadRegistry, type Registry } from "../../gateway/src/registry.js";
import { repoRoot, servicePackages } from "../local/mesh.js";

/** Port of a host:port address. */
export function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

/** The registry with each detector's host replaced by the template ("{name}" → the detector's name). */
export function withDetectorHosts(registry: Registry, template: string): Registry {
  return {
    ...registry,
    detectors: registry.detectors.map((d) => ({ ...d, address: `${template.replaceAll("{name}", d.name)}:${portOf(d.address)}` })),
  };
}

async function runDetector(name: string | undefined): Promise<void> {
  const registry = loadRegistry();
  const config = registry.detectors.find((d) => d.name === name);
  if (!config) throw new Error(`no detector "${name}" in the registry (known: ${registry.detectors.map((d) => d.name).join(", ")})`);
  const dir = servicePackages().get(config.package);
  if (!dir) throw new Error(`detector "${config.name}": package ${config.package} is not under services/`);
  const port = String(portOf(config.address));
  // PORT set by the orchestrator (its healthcheck uses it) must agree with the registry.
  if (process.env.PORT && process.env.PORT !== port) throw new Error(`PORT=${process.env.PORT} but the registry says ${config.name} listens on ${port}`);
  Object.assign(process.env, config.env, { PORT: port });
  process.chdir(dir);
  await import(pathToFileURL(join(dir, "src", "main.ts")).href);
}

async function runGateway(): Promise<void> {
  const template = process.env.DEEPSAFE_DETECTOR_HOST_TEMPLATE;
  if (template) {
    const dataDir = process.env.DEEPSAFE_DATA_DIR ?? join(repoRoot, ".deepsafe", "gateway");
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, "registry.resolved.yaml");
    writeFileSync(path, stringify(withDetectorHosts(loadRegistry(), template)));
    process.env.DEEPSAFE_REGISTRY = path;
  }
  await import(pathToFileURL(join(repoRoot, "gateway", "src", "main.ts")).href);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [role, name] = process.argv.slice(2);
  const run = role === "detector" ? runDetector(name) : role === "gateway" || role === undefined ? runGateway() : Promise.reject(new Error(`unknown role "${role}": use "gateway" or "detector <name>"`));
  run.catch((err: unknown) => {
    console.error(`deepsafe entrypoint: ${(err as Error).message}`);
    process.exit(1);
  });
}
