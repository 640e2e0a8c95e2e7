// `npm run add-model -- --name my_detector --media image --port 5008 [--no-install]`
// `npm run add-model -- --remove my_detector [--no-install]`
//
// Scaffolds services/<name> from the SDK (a detector with load() and predict() on an untrained
// placeholder graph, a model card, a gRPC test) and registers it in gateway/config/registry.yaml,
// deploy/compose (service + Prometheus target) and the Helm values. --remove undoes both.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { registerEverywhere, unregisterEverywhere } from "./edits.js";
import { repoFiles } from "./files.js";
import { scaffold } from "./scaffold.js";
import { AddModelError, validateNew } from "./validate.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const files = repoFiles(root);

/** Link the new workspace package (and keep package-lock.json in step with services/). */
function npmInstall(): void {
  const run = spawnSync("npm", ["install", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit", env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip" } });
  if (run.status !== 0) throw new AddModelError("npm install failed; run it yourself to link the package");
}

function add(input: { name?: string; media?: string; port?: string }, install: boolean): void {
  const d = validateNew(files, input);
  const written = scaffold(files, d);
  try {
    registerEverywhere(files, d);
  } catch (err) {
    rmSync(join(files.services, d.name), { recursive: true, force: true });
    unregisterEverywhere(files, d.name);
    throw err;
  }
  if (install) npmInstall();
  console.log(`added ${d.name} (${d.media}, gRPC :${d.port}, metrics :${d.port + 10000})`);
  for (const f of written) console.log(`  created  ${f}`);
  console.log("  updated  gateway/config/registry.yaml, deploy/compose/compose.yaml, deploy/compose/prometheus.yml, deploy/helm/deepsafe/values.yaml");
  console.log(`\nIts graph is an UNTRAINED placeholder (provenance: random-fixture): listed, never counted in a verdict.`);
  console.log(`  npm test -- services/${d.name}                      # its own gRPC test`);
  console.log(`  DEEPSAFE_ALLOW_RANDOM_WEIGHTS=1 npm start           # the mesh with it, reachable through the gateway`);
}

function remove(name: string, install: boolean): void {
  if (!/^[a-z][a-z0-9_-]{1,39}$/.test(name)) throw new AddModelError(`--remove "${name}": not a detector name`);
  const touched = unregisterEverywhere(files, name);
  const dir = join(files.services, name);
  const hadDir = existsSync(dir);
  if (!touched.length && !hadDir) throw new AddModelError(`no detector "${name}" to remove`);
  rmSync(dir, { recursive: true, force: true });
  if (install) npmInstall();
  console.log(`removed ${name}${hadDir ? ` (services/${name} deleted)` : ""}`);
}

try {
  const { values } = parseArgs({
    options: {
      name: { type: "string" },
      media: { type: "string" },
      port: { type: "string" },
      remove: { type: "string" },
      "no-install": { type: "boolean", default: false },
    },
    strict: true,
  });
  const install = !values["no-install"];
  if (values.remove !== undefined) remove(values.remove, install);
  else add(values, install);
} catch (err) {
  const code = (err as { code?: unknown }).code;
  const known = err instanceof AddModelError || (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"));
  console.error(`add-model: ${(err as Error).message}`);
  if (!known) console.error((err as Error).stack);
  process.exit(2);
}
