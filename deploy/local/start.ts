// `npm start`: prepare weights, start every detector and the gateway, print the URLs, stop on Ctrl-C.
import { loadRegistry, startMesh } from "./mesh.js";
import { prepareModels } from "./prepare-models.js";

const registry = loadRegistry();
const { ready, unavailable } = await prepareModels(registry, { progress: true });
for (const [name, why] of unavailable) console.log(`! ${name} will not run: ${why}`);

const mesh = await startMesh({ registry, detectors: ready });
let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  console.log("\nstopping the mesh…");
  mesh.stop().then(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);

try {
  await mesh.waitReady();
} catch (err) {
  console.error(`start-up failed: ${(err as Error).message}`);
  await mesh.stop();
  process.exit(1);
}
console.log(`
DeepSafe is up.
  gateway (Connect, gRPC, gRPC-Web): ${mesh.gatewayUrl}
  health:  curl -s -XPOST -H 'content-type: application/json' -d '{}' ${mesh.gatewayUrl}/deepsafe.v1.DeepSafeService/GetHealth
${registry.detectors
  .filter((d) => ready.includes(d.name))
  .map((d) => `  ${d.name.padEnd(12)} ${d.media_type.padEnd(6)} grpc://${d.address}`)
  .join("\n")}
Press Ctrl-C to stop.`);
