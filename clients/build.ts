// Generates and builds the Python and Go clients from proto/ (nothing here is committed):
//  - Python: a venv .deepsafe/venv-clients with grpcio + grpcio-tools (PyPI; bundled protoc), code
//    generated into clients/python/gen
//  - Go: protoc-gen-go + protoc-gen-go-grpc built from the Go module proxy into .deepsafe/bin, driven
//    by buf (buf.gen.go.yaml) into clients/go/gen; the example built to .deepsafe/bin/deepsafe-detect-go
//
//   npx tsx clients/build.ts          # idempotent; ~1.5 min cold, a few seconds afterwards
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { findGo } from "../deploy/local/ferretdb.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, ".deepsafe", "bin");
const venv = join(root, ".deepsafe", "venv-clients");

/** Go plugins, pinned; the binary names carry the version so buf.gen.go.yaml names exactly these. */
const GO_PLUGINS = [
  { module: "google.golang.org/protobuf/cmd/protoc-gen-go", version: "v1.36.11", name: "protoc-gen-go" },
  { module: "google.golang.org/grpc/cmd/protoc-gen-go-grpc", version: "v1.6.0", name: "protoc-gen-go-grpc" },
];

export const pythonClient = { python: join(venv, "bin", "python"), script: join(root, "clients", "python", "detect.py") };
export const goClient = join(bin, "deepsafe-detect-go");

const goEnv = () => ({ ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod -buildvcs=false" });

function requireGo(): string {
  const go = findGo();
  if (!go) throw new Error("the Go client needs Go ≥ 1.24");
  return go;
}

async function ensureGoPlugins(): Promise<void> {
  for (const p of GO_PLUGINS) {
    const target = join(bin, `${p.name}-${p.version}`);
    if (existsSync(target)) continue;
    const gobin = mkdtempSync(join(tmpdir(), "deepsafe-goplugin-"));
    try {
      await run(requireGo(), ["install", "-trimpath", `${p.module}@${p.version}`], { env: { ...goEnv(), GOBIN: gobin }, cwd: gobin });
      mkdirSync(bin, { recursive: true });
      renameSync(join(gobin, p.name), target);
    } finally {
      rmSync(gobin, { recursive: true, force: true });
    }
  }
}

async function ensureVenv(): Promise<void> {
  if (existsSync(join(venv, "bin", "python-grpc-tools-protoc"))) return;
  const python = process.env.DEEPSAFE_CLIENTS_PYTHON ?? "python3";
  await run(python, ["-m", "venv", venv]);
  await run(join(venv, "bin", "pip"), ["install", "-q", "--disable-pip-version-check", "-r", join(root, "clients", "python", "requirements.txt")], { maxBuffer: 16 << 20 });
}

async function generate(): Promise<void> {
  await run(join(root, "node_modules", ".bin", "buf"), ["generate", "--template", "buf.gen.go.yaml"], { cwd: root });
  const out = join(root, "clients", "python", "gen");
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const protos = readdirSync(join(root, "proto", "deepsafe", "v1")).filter((f) => f.endsWith(".proto")).map((f) => `deepsafe/v1/${f}`);
  await run(pythonClient.python, ["-m", "grpc_tools.protoc", "-Iproto", `--python_out=${out}`, `--pyi_out=${out}`, `--grpc_python_out=${out}`, ...protos], { cwd: root });
}

async function buildGoExample(): Promise<void> {
  mkdirSync(dirname(goClient), { recursive: true });
  await run(requireGo(), ["build", "-trimpath", "-o", goClient, "./detect"], { cwd: join(root, "clients", "go"), env: goEnv() });
}

/** Everything the client tests need; each step is skipped or cached when already done. */
export async function buildClients(log: (msg: string) => void = () => {}): Promise<void> {
  const step = async (name: string, fn: () => Promise<void>) => {
    const started = Date.now();
    try {
      await fn();
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`clients: ${name} failed: ${(e.stderr || e.message).trim().split("\n").slice(-5).join(" | ")}`);
    }
    log(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  await Promise.all([step("Go plugins", ensureGoPlugins), step("Python venv", ensureVenv)]);
  await step("generate", generate);
  await step("Go example", buildGoExample);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildClients(console.log).catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
