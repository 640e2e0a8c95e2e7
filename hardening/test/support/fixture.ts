// Start the stalling test-fixture detector (hardening/fixtures/stalling-detector.ts) as its own
// process, the way the mesh starts real detectors, and read its metrics.
import { spawn } from "node:child_process";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath } from "grpc-health-check";
import { type MeshProcess, repoRoot } from "../../../deploy/local/mesh.js";

export function startFixture(name: string, port: number, env: Record<string, string>): MeshProcess {
  const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "hardening/fixtures/stalling-detector.ts")], {
    cwd: repoRoot,
    env: { ...process.env, DEEPSAFE_LOG_LEVEL: "info", PORT: String(port), METRICS_PORT: String(port + 10000), FIXTURE_NAME: name, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const guard = () => child.kill("SIGKILL");
  process.once("exit", guard);
  child.once("exit", () => process.off("exit", guard));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code ?? 0)));
  return { name, child, exited };
}

/** The sum of a Prometheus counter's samples whose labels include `labels`. */
export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(url)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

/** grpc.health.v1 Check straight to a detector: "SERVING", "NOT_SERVING", or the error's status name. */
export function detectorHealth(address: string): Promise<string> {
  const client = new HealthClient(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.check({ service: "deepsafe.v1.DetectorService" }, { deadline: Date.now() + 1000 }, (err: grpc.ServiceError | null, res?: { status: string }) => {
      client.close();
      resolve(err ? (grpc.status[err.code] ?? "UNKNOWN") : res!.status);
    });
  });
}

type HealthCheck = (req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void) => void;
const HealthClient = (
  grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { keepCase: true, enums: String, defaults: true })) as unknown as {
    grpc: { health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials) => grpc.Client & { check: HealthCheck } } } };
  }
).grpc.health.v1.Health;
