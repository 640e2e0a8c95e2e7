// Checks a new detector's name, media type and port against everything already registered, before
// any file is touched.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { MEDIA_NAMES, type MediaName, loadRegistry } from "../../gateway/src/registry.js";
import type { RepoFiles } from "./files.js";

export class AddModelError extends Error {
  override name = "AddModelError";
}

export interface NewDetector {
  name: string;
  media: MediaName;
  port: number;
}

/** Lowercase, starts with a letter, letters/digits/'_'/'-': a registry name, npm name and compose service. */
const NAME = /^[a-z][a-z0-9_-]{1,39}$/;
/** Metrics listen on port + 10000, so the gRPC port must leave room for it. */
const MIN_PORT = 1024;
const MAX_PORT = 65535 - 10000;
/** Ports the deployment itself uses: gateway, dashboard, FerretDB, Prometheus, Grafana, MongoDB. */
const RESERVED_PORTS = new Map([[8000, "the gateway"], [8888, "the dashboard"], [27117, "FerretDB"], [9090, "Prometheus"], [3000, "Grafana"], [27017, "MongoDB"]]);

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

/** Every package name under services/ (folders without a package.json are skipped). */
function servicePackageNames(servicesDir: string): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(servicesDir, { withFileTypes: true })) {
    const file = join(servicesDir, entry.name, "package.json");
    if (existsSync(file)) names.add((JSON.parse(readFileSync(file, "utf8")) as { name: string }).name);
  }
  return names;
}

export function validateNew(files: RepoFiles, input: { name?: string; media?: string; port?: string }): NewDetector {
  const { name, media, port: portText } = input;
  if (!name || !NAME.test(name)) {
    throw new AddModelError(`--name "${name ?? ""}": 2-40 characters, lowercase letters, digits, '_' or '-', starting with a letter`);
  }
  if (!media || !(MEDIA_NAMES as readonly string[]).includes(media)) {
    throw new AddModelError(`--media "${media ?? ""}": one of ${MEDIA_NAMES.join(", ")}`);
  }
  const port = Number(portText);
  if (!portText || !Number.isInteger(port) || port < MIN_PORT || port > MAX_PORT) {
    throw new AddModelError(`--port "${portText ?? ""}": an integer from ${MIN_PORT} to ${MAX_PORT} (metrics use port + 10000)`);
  }
  const registry = loadRegistry(files.registry);
  const k8sName = name.replaceAll("_", "-");
  for (const d of registry.detectors) {
    if (d.name === name) throw new AddModelError(`a detector named "${name}" is already registered`);
    if (d.name.replaceAll("_", "-") === k8sName) throw new AddModelError(`"${name}" would share its Kubernetes name with the detector "${d.name}"`);
    const used = portOf(d.address);
    if (used === port) throw new AddModelError(`port ${port} is already used by the detector "${d.name}"`);
    if (used + 10000 === port || used === port + 10000) throw new AddModelError(`port ${port} collides with the metrics port of "${d.name}" (${used} + 10000)`);
  }
  const reserved = RESERVED_PORTS.get(port) ?? RESERVED_PORTS.get(port + 10000);
  if (reserved) throw new AddModelError(`port ${port} (or its metrics port ${port + 10000}) is used by ${reserved}`);
  if (port === registry.gateway.port) throw new AddModelError(`port ${port} is the gateway's`);
  if (existsSync(join(files.services, name))) throw new AddModelError(`services/${name} already exists`);
  if (servicePackageNames(files.services).has(`@deepsafe/${name}`)) throw new AddModelError(`a package @deepsafe/${name} already exists under services/`);
  const compose = parse(readFileSync(files.compose, "utf8"), { merge: true }) as { services?: Record<string, unknown> };
  if (compose.services?.[name]) throw new AddModelError(`deploy/compose/compose.yaml already has a service "${name}"`);
  return { name, media: media as MediaName, port };
}
