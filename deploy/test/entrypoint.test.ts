// The container entrypoint without Docker: `entrypoint.ts detector npr` and `entrypoint.ts gateway`
// as real processes, configured only as compose configures the containers (registry, PORT, a host
// template for the gateway), answering a real Detect.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parse, stringify } from "yaml";
import { ModelHealth } from "@deepsafe/proto/es/gateway";
import { freePort, loadRegistry, repoRoot } from "../local/mesh.js";
import { prepareModels } from "../local/prepare-models.js";
import { connectClient, detectVia } from "./clients.js";
import { photoPng } from "./media.js";

const dir = mkdtempSync(join(tmpdir(), "deepsafe-entrypoint-"));
const dataDir = mkdtempSync(join(tmpdir(), "deepsafe-entrypoint-data-"));
const children: ChildProcess[] = [];

function entrypoint(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "deploy/compose/entrypoint.ts", ...args], {
    cwd: repoRoot,
    env: { ...process.env, DEEPSAFE_LOG_LEVEL: "warn", ...env },
    stdio: "ignore",
  });
  children.push(child);
  return child;
}

test.after(async () => {
  await Promise.all(children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => (c.once("exit", r), c.kill("SIGTERM")))));
});

test("a detector and the gateway started by the container entrypoint serve a Detect, the gateway reaching the detector by host name", async () => {
  const base = loadRegistry();
  const npr = base.detectors.find((d) => d.name === "npr")!;
  const [port, gatewayPort] = [await freePort(), await freePort()];
  const registry = { ...base, gateway: { ...base.gateway, host: "127.0.0.1", port: gatewayPort }, detectors: [{ ...npr, address: `127.0.0.1:${port}` }] };
  const { ready } = await prepareModels(registry, { allowRandomWeights: true });
  assert.equal(ready, ["npr"]);
  const registryPath = join(dir, "registry.yaml");
  writeFileSync(registryPath, stringify(registry));

  entrypoint(["detector", "npr"], { DEEPSAFE_REGISTRY: registryPath, DEEPSAFE_BIND: "127.0.0.1", PORT: String(port) });
  const gateway = entrypoint(["gateway"], { DEEPSAFE_REGISTRY: registryPath, DEEPSAFE_DETECTOR_HOST_TEMPLATE: "localhost", DEEPSAFE_DATA_DIR: dataDir });

  const client = connectClient(`http://127.0.0.1:${gatewayPort}`);
  const deadline = Date.now() + 90_000;
  let health: ModelHealth | undefined;
  while (Date.now() < deadline && health !== ModelHealth.SERVING) {
    assert.is(gateway.exitCode, null, "the gateway exited");
    health = await client.listModels({}).then((r) => r.models.find((m) => m.name === "npr")?.health, () => undefined);
    if (health !== ModelHealth.SERVING) await new Promise((r) => setTimeout(r, 300));
  }
  assert.is(health, ModelHealth.SERVING);
  const rewritten = parse(readFileSync(join(dataDir, "registry.resolved.yaml"), "utf8")) as { detectors: Array<{ address: string }> };
  assert.is(rewritten.detectors[0]!.address, `localhost:${port}`);

  const res = await detectVia(client, photoPng(), { fileName: "photo.png", includeRandomWeights: true });
  assert.is(res.modelResults[0]!.model, "npr");
  assert.is(res.modelResults[0]!.errorCode, "", res.modelResults[0]!.errorMessage);
});

test.run();
