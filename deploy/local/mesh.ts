// The whole mesh as local processes: every enabled detector of the registry in its own process,
// then the gateway. Used by `npm start` and by the tests that need real processes.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { type DetectorConfig, type Registry, loadRegistry } from "../../gateway/src/registry.js";
import { type FerretDBServer, startFerretDB } from "./ferretdb.js";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** Workspace package name → folder, for the detectors under services/. */
export function servicePackages(): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const entry of readdirSync(join(repoRoot, "services"), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(repoRoot, "services", entry.name);
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string };
      dirs.set(pkg.name, dir);
    } catch {
      // Not a package (yet): ignored.
    }
  }
  return dirs;
}

export interface MeshProcess {
  name: string;
  child: ChildProcess;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | NodeJS.Signals>;
}

export interface MeshOptions {
  registry: Registry;
  /** Detectors to run (default: every enabled one). */
  detectors?: string[];
  /** Where child output goes: inherited (npm start), dropped, or "pipe" (tests that read child.stdout/stderr; they must keep reading). */
  output?: "inherit" | "ignore" | "pipe";
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /**
   * Start a local FerretDB (MongoDB wire protocol, SQLite files in dataDir) for history and
   * accounts, and give the gateway its URI (MONGODB_URI). Stopped by stop(), after the gateway.
   */
  ferretdb?: { dataDir: string; port?: number };
}

export interface Mesh {
  gatewayUrl: string;
  registryPath: string;
  processes: Map<string, MeshProcess>;
  /** The local FerretDB, when MeshOptions.ferretdb asked for one. */
  ferretdb?: FerretDBServer | undefined;
  /** Start (or restart) one detector process. */
  startDetector(name: string): MeshProcess;
  /** Resolve when the gateway reports every running detector SERVING. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGTERM everything (gateway first, so no new work reaches detectors), wait for exits. */
  stop(): Promise<void>;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** A registry copy with every port replaced by a free one: several meshes can run side by side. */
export async function withFreePorts(registry: Registry): Promise<Registry> {
  const detectors: DetectorConfig[] = [];
  for (const d of registry.detectors) detectors.push({ ...d, address: `127.0.0.1:${await freePort()}` });
  return { ...registry, gateway: { ...registry.gateway, host: "127.0.0.1", port: await freePort() }, detectors };
}

function spawnTs(name: string, entry: string, cwd: string, env: NodeJS.ProcessEnv, output: "inherit" | "ignore" | "pipe"): MeshProcess {
  // Own process group: a terminal's Ctrl-C reaches only the launcher, which stops the mesh in order.
  const child = spawn(process.execPath, ["--import", "tsx", entry], { cwd, env, stdio: ["ignore", output, output], detached: true });
  const orphanGuard = () => child.kill("SIGKILL");
  process.once("exit", orphanGuard);
  child.once("exit", () => process.off("exit", orphanGuard));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code ?? 0)));
  return { name, child, exited };
}

export async function startMesh(options: MeshOptions): Promise<Mesh> {
  const { registry } = options;
  const output = options.output ?? "inherit";
  const packages = servicePackages();
  const dir = await mkdtemp(join(tmpdir(), "deepsafe-mesh-"));
  const registryPath = join(dir, "registry.yaml");
  await writeFile(registryPath, stringify(registry));
  let ferretdb: FerretDBServer | undefined;
  if (options.ferretdb) {
    const port = options.ferretdb.port ?? (await freePort());
    ferretdb = await startFerretDB({ dataDir: options.ferretdb.dataDir, port, output: output === "inherit" ? "inherit" : "ignore" });
  }
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...options.env, DEEPSAFE_REGISTRY: registryPath };
  if (ferretdb) {
    baseEnv.MONGODB_URI = ferretdb.uri;
    delete baseEnv.DEEPSAFE_MONGODB_URI;
  }
  const processes = new Map<string, MeshProcess>();
  const wanted = options.detectors ?? registry.detectors.filter((d) => d.enabled).map((d) => d.name);

  const startDetector = (name: string): MeshProcess => {
    const config = registry.detectors.find((d) => d.name === name);
    if (!config) throw new Error(`no detector "${name}" in the registry`);
    const cwd = packages.get(config.package);
    if (!cwd) throw new Error(`detector "${name}": package ${config.package} is not under services/`);
    const port = config.address.slice(config.address.lastIndexOf(":") + 1);
    const proc = spawnTs(name, "src/main.ts", cwd, { ...baseEnv, ...config.env, PORT: port }, output);
    processes.set(name, proc);
    return proc;
  };

  for (const name of wanted) startDetector(name);
  processes.set("gateway", spawnTs("gateway", "src/main.ts", join(repoRoot, "gateway"), baseEnv, output));
  const host = registry.gateway.host === "0.0.0.0" ? "127.0.0.1" : registry.gateway.host;
  const gatewayUrl = `http://${host}:${registry.gateway.port}`;

  const historyStatus = async (): Promise<string> => {
    const res = await fetch(`${gatewayUrl}/health`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { history?: string }).history ?? "unknown";
  };

  const waitReady = async (timeoutMs = options.readyTimeoutMs ?? 120_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last = "gateway not answering";
    while (Date.now() < deadline) {
      for (const proc of processes.values()) {
        if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with code ${proc.child.exitCode} during start-up`);
      }
      try {
        const res = await fetch(`${gatewayUrl}/deepsafe.v1.DeepSafeService/ListModels`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
          signal: AbortSignal.timeout(2000),
        });
        const body = (await res.json()) as { models?: Array<{ name: string; health?: string }> };
        const pending = (body.models ?? []).filter((m) => wanted.includes(m.name) && m.health !== "MODEL_HEALTH_SERVING");
        // With our own FerretDB, ready also means the gateway has connected to it (accounts, history).
        const history = ferretdb ? await historyStatus() : "connected";
        if (res.ok && pending.length === 0 && history === "connected") return;
        last = [...pending.map((m) => `${m.name}: ${m.health ?? "unknown"}`), ...(history === "connected" ? [] : [`history: ${history}`])].join(", ");
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`mesh not ready after ${timeoutMs} ms (${last})`);
  };

  const stop = async (): Promise<void> => {
    const gateway = processes.get("gateway");
    if (gateway && gateway.child.exitCode === null) {
      gateway.child.kill("SIGTERM");
      await gateway.exited;
    }
    const rest = [...processes.values()].filter((p) => p.name !== "gateway" && p.child.exitCode === null && p.child.signalCode === null);
    for (const p of rest) p.child.kill("SIGTERM");
    await Promise.all(rest.map((p) => p.exited));
    await ferretdb?.stop();
  };

  return { gatewayUrl, registryPath, processes, ferretdb, startDetector, waitReady, stop };
}

export { loadRegistry };
