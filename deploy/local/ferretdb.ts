// A local MongoDB-wire server for history and accounts: FerretDB v1 with its SQLite backend (one
// folder of SQLite files, no other service), built from the Go module proxy into .deepsafe/bin.
// Used by `npm start` (when no MONGODB_URI is set), by the tests, and by .ci/run.
//
//   npx tsx deploy/local/ferretdb.ts build            # build once (~2 min cold; seconds with Go's build cache)
//   npx tsx deploy/local/ferretdb.ts run [dir] [port] # serve a folder in the foreground
//
// Why a build step instead of `go install`: the module zip on the proxy lacks the generated
// build/version/version.txt, and a binary built without it panics at start, so we copy the module
// source from Go's module cache, write that one file, and `go build` it.
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export const FERRETDB_MODULE = "github.com/FerretDB/FerretDB";
export const FERRETDB_VERSION = "v1.24.2";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** Where the binary lives: DEEPSAFE_FERRETDB_BIN, else .deepsafe/bin/ferretdb-<version>. */
export function ferretdbPath(): string {
  return process.env.DEEPSAFE_FERRETDB_BIN ?? join(repoRoot, ".deepsafe", "bin", `ferretdb-${FERRETDB_VERSION}`);
}

/** The go command, or undefined when Go is not installed. */
export function findGo(): string | undefined {
  const candidates = [process.env.GO, "go", "/usr/local/go/bin/go", "/usr/lib/go/bin/go"].filter((c): c is string => !!c);
  for (const c of candidates) {
    if (c.includes("/") ? existsSync(c) : (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, c)))) return c;
  }
  return undefined;
}

export class FerretDBUnavailable extends Error {
  override name = "FerretDBUnavailable";
}

/**
 * The binary, building it first when it is missing. Throws FerretDBUnavailable (with the reason)
 * when Go is absent or the build fails.
 */
export async function ensureFerretDB(log: (msg: string) => void = () => {}): Promise<string> {
  const bin = ferretdbPath();
  if (existsSync(bin)) return bin;
  const go = findGo();
  if (!go) throw new FerretDBUnavailable(`FerretDB is not built (${bin}) and Go is not installed`);
  const started = Date.now();
  log(`building FerretDB ${FERRETDB_VERSION} from the Go module proxy (first time: about 2 minutes)…`);
  const env = { ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod -buildvcs=false" };
  const work = mkdtempSync(join(tmpdir(), "deepsafe-ferretdb-"));
  try {
    const { stdout } = await run(go, ["mod", "download", "-json", `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], { env, cwd: work, maxBuffer: 1 << 20 });
    const dir = (JSON.parse(stdout) as { Dir?: string; Error?: string }).Dir;
    if (!dir) throw new Error(`go mod download gave no source folder: ${stdout.slice(0, 500)}`);
    const src = join(work, "src");
    cpSync(dir, src, { recursive: true });
    chmodRecursive(src);
    writeFileSync(join(src, "build", "version", "version.txt"), `${FERRETDB_VERSION}\n`);
    mkdirSync(dirname(bin), { recursive: true });
    const tmpBin = `${bin}.tmp-${process.pid}`;
    await run(go, ["build", "-trimpath", "-o", tmpBin, "./cmd/ferretdb"], { env, cwd: src, maxBuffer: 16 << 20 });
    renameSync(tmpBin, bin);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new FerretDBUnavailable(`building FerretDB failed: ${(e.stderr || e.message).trim().split("\n").slice(-5).join(" | ")}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  log(`FerretDB built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${bin}`);
  return bin;
}

/** Go's module cache is read-only; the copy must be writable (version.txt, then cleanup). */
function chmodRecursive(dir: string): void {
  const r = spawnSync("chmod", ["-R", "u+w", dir]);
  if (r.status !== 0) throw new Error(`chmod -R u+w ${dir} failed`);
}

export interface FerretDBServer {
  uri: string;
  port: number;
  dataDir: string;
  child: ChildProcess;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | NodeJS.Signals>;
  stop(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Start FerretDB on 127.0.0.1:port serving SQLite files in dataDir; resolves once it accepts connections. */
export async function startFerretDB(opts: { dataDir: string; port: number; bin?: string; output?: "inherit" | "ignore"; timeoutMs?: number }): Promise<FerretDBServer> {
  const bin = opts.bin ?? (await ensureFerretDB());
  mkdirSync(opts.dataDir, { recursive: true });
  const child = spawn(
    bin,
    [
      "--handler=sqlite",
      `--sqlite-url=file:${opts.dataDir.endsWith("/") ? opts.dataDir : `${opts.dataDir}/`}`,
      `--state-dir=${opts.dataDir}`,
      `--listen-addr=127.0.0.1:${opts.port}`,
      "--debug-addr=-",
      "--telemetry=disable",
      "--log-level=error",
    ],
    { stdio: ["ignore", opts.output ?? "ignore", opts.output ?? "ignore"] },
  );
  const orphanGuard = () => child.kill("SIGKILL");
  process.once("exit", orphanGuard);
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once("exit", (code, signal) => {
      process.off("exit", orphanGuard);
      resolve(signal ?? code ?? 0);
    }),
  );
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  while (!(await portOpen(opts.port))) {
    if (child.exitCode !== null) throw new FerretDBUnavailable(`FerretDB exited with code ${child.exitCode} at start (port ${opts.port} busy?)`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new FerretDBUnavailable(`FerretDB did not listen on ${opts.port} within ${opts.timeoutMs ?? 20_000} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  return { uri: `mongodb://127.0.0.1:${opts.port}/deepsafe`, port: opts.port, dataDir: opts.dataDir, child, exited, stop };
}

// CLI (no top-level await: this module is also loaded by tests through tsx's require hook)
async function cli(cmd: string, dataDir?: string, port?: string): Promise<void> {
  if (cmd === "build") {
    try {
      console.log(await ensureFerretDB((m) => console.log(m)));
    } catch (err) {
      console.error((err as Error).message);
      process.exit(1);
    }
  } else if (cmd === "run") {
    const server = await startFerretDB({ dataDir: dataDir ?? join(repoRoot, ".deepsafe", "ferretdb"), port: Number(port ?? 27117), output: "inherit" });
    console.log(`FerretDB listening: ${server.uri} (data in ${server.dataDir})`);
    process.on("SIGINT", () => void server.stop().then(() => process.exit(0)));
    process.on("SIGTERM", () => void server.stop().then(() => process.exit(0)));
  } else {
    console.error("usage: ferretdb.ts build | run [dataDir] [port]");
    process.exit(2);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [cmd = "build", dataDir, port] = process.argv.slice(2);
  void cli(cmd, dataDir, port);
}
