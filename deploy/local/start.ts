// `npm start`: prepare weights, start every detector and the gateway, print the URLs, stop on Ctrl-C.
import { join } from "node:path";
import { DEFAULT_DASHBOARD_PORT, ensureDashboardBuilt, startDashboard, type DashboardServer } from "../../dashboard/server/index.js";
import { FerretDBUnavailable, ensureFerretDB } from "./ferretdb.js";
import { freePort, loadRegistry, repoRoot, startMesh } from "./mesh.js";
import { prepareModels } from "./prepare-models.js";

const registry = loadRegistry();
const { ready, unavailable } = await prepareModels(registry, { progress: true });
for (const [name, why] of unavailable) console.log(`! ${name} will not run: ${why}`);

// History and accounts: the MongoDB of MONGODB_URI (or the registry's history.mongodb_uri), else a
// local FerretDB keeping its SQLite files in .deepsafe/ferretdb (kept across restarts; built from
// the Go module proxy on first start when Go is installed).
let ferretdb: { dataDir: string; port: number } | undefined;
const configuredUri = process.env.DEEPSAFE_MONGODB_URI ?? process.env.MONGODB_URI ?? registry.history.mongodb_uri;
if (!configuredUri && registry.history.enabled) {
  try {
    await ensureFerretDB((m) => console.log(m));
    const wanted = Number(process.env.DEEPSAFE_FERRETDB_PORT ?? 27117);
    ferretdb = { dataDir: join(repoRoot, ".deepsafe", "ferretdb"), port: (await portFree(wanted)) ? wanted : await freePort() };
  } catch (err) {
    if (!(err instanceof FerretDBUnavailable)) throw err;
    console.log(`! history and accounts are off: ${err.message}. Detection works; set MONGODB_URI or install Go to turn them on.`);
  }
}

async function portFree(port: number): Promise<boolean> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

// Detectors that will not run stay listed, with the reason, in ListModels and /health. The gateway
// allows the dashboard's origin (CORS) whatever port DEEPSAFE_DASHBOARD_PORT gives it.
const dashboardPort = Number(process.env.DEEPSAFE_DASHBOARD_PORT ?? DEFAULT_DASHBOARD_PORT);
const dashboardOrigins = [`http://localhost:${dashboardPort}`, `http://127.0.0.1:${dashboardPort}`];
const served = {
  ...registry,
  rest: { ...registry.rest, cors_origins: [...new Set([...registry.rest.cors_origins, ...dashboardOrigins])] },
  detectors: registry.detectors.map((d) => (unavailable.has(d.name) ? { ...d, unavailable: unavailable.get(d.name) } : d)),
};
const mesh = await startMesh({ registry: served, detectors: ready, ferretdb });
let dashboard: DashboardServer | undefined;
let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  console.log("\nstopping the mesh…");
  Promise.all([dashboard?.close(), mesh.stop()]).then(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);

try {
  // The web dashboard: rebuilt when its sources changed, served on :8888, calling the gateway by CORS.
  const [, built] = await Promise.all([mesh.waitReady(), ensureDashboardBuilt((m) => console.log(m))]);
  if (built === "built") console.log("dashboard: built");
  dashboard = await startDashboard({ port: dashboardPort, gateway: { port: registry.gateway.port } });
} catch (err) {
  console.error(`start-up failed: ${(err as Error).message}`);
  await mesh.stop();
  process.exit(1);
}
console.log(`
DeepSafe is up.
  dashboard: ${dashboard.url}
  gateway (Connect, gRPC, gRPC-Web): ${mesh.gatewayUrl}
  REST:    ${mesh.gatewayUrl}/docs (Swagger UI) · ${mesh.gatewayUrl}/health · ${mesh.gatewayUrl}/metrics
  detect:  curl -s -F file=@photo.jpg ${mesh.gatewayUrl}/detect
  health:  curl -s -XPOST -H 'content-type: application/json' -d '{}' ${mesh.gatewayUrl}/deepsafe.v1.DeepSafeService/GetHealth
  history: ${mesh.ferretdb ? `FerretDB ${mesh.ferretdb.uri} (files in ${mesh.ferretdb.dataDir})` : configuredUri ? "MongoDB from MONGODB_URI / the registry" : "off"}
${registry.detectors
  .filter((d) => ready.includes(d.name))
  .map((d) => `  ${d.name.padEnd(12)} ${d.media_type.padEnd(6)} grpc://${d.address}`)
  .join("\n")}
Press Ctrl-C to stop.`);
