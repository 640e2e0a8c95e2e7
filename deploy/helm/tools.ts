// Offline validation tools for the deployment files, all from the Go module proxy (no downloads from
// anywhere else), cached in .deepsafe/bin and Go's caches:
//  - helm, built from helm.sh/helm/v3 (renders the chart exactly as `helm install` would)
//  - the Compose Specification JSON schema, as embedded in github.com/compose-spec/compose-go
//  - deploy/helm/strict: decodes rendered objects into the typed k8s.io/api structs, unknown fields refused
//
//   npx tsx deploy/helm/tools.ts build     # ahead of time (CI); ~2.5 min cold, seconds afterwards
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { findGo } from "../local/ferretdb.js";

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export const HELM_MODULE = "helm.sh/helm/v3";
export const HELM_VERSION = "v3.22.0";
export const COMPOSE_GO_MODULE = "github.com/compose-spec/compose-go/v2";
export const COMPOSE_GO_VERSION = "v2.16.2";
/** Kubernetes version the chart is rendered for (and its kubeVersion constraint checked against). */
export const KUBE_VERSION = "1.31.0";

export class ToolUnavailable extends Error {
  override name = "ToolUnavailable";
}

const goEnv = () => ({ ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod -buildvcs=false" });

function requireGo(what: string): string {
  const go = findGo();
  if (!go) throw new ToolUnavailable(`${what} needs Go (≥ 1.26) to build from the module proxy`);
  return go;
}

export function helmPath(): string {
  return process.env.DEEPSAFE_HELM_BIN ?? join(repoRoot, ".deepsafe", "bin", `helm-${HELM_VERSION}`);
}

/** The helm binary, built with `go install` on first use. */
export async function ensureHelm(): Promise<string> {
  const bin = helmPath();
  if (existsSync(bin)) return bin;
  const go = requireGo("helm");
  const gobin = mkdtempSync(join(tmpdir(), "deepsafe-helm-"));
  try {
    await run(go, ["install", "-trimpath", `${HELM_MODULE}/cmd/helm@${HELM_VERSION}`], { env: { ...goEnv(), GOBIN: gobin }, cwd: gobin, maxBuffer: 16 << 20 });
    mkdirSync(dirname(bin), { recursive: true });
    renameSync(join(gobin, "helm"), bin);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new ToolUnavailable(`building helm failed: ${(e.stderr || e.message).trim().split("\n").slice(-5).join(" | ")}`);
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
  return bin;
}

const strictSource = join(repoRoot, "deploy", "helm", "strict");

/** deploy/helm/strict, (re)built when its sources are newer than the binary (Go's cache makes it quick). */
export async function ensureStrictDecoder(): Promise<string> {
  const bin = join(repoRoot, ".deepsafe", "bin", "k8s-strict");
  const newest = Math.max(...["main.go", "go.mod", "go.sum"].map((f) => statSync(join(strictSource, f)).mtimeMs));
  if (existsSync(bin) && statSync(bin).mtimeMs >= newest) return bin;
  try {
    await run(requireGo("the strict decoder"), ["build", "-trimpath", "-o", bin, "."], { env: goEnv(), cwd: strictSource, maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new ToolUnavailable(`building deploy/helm/strict failed: ${(e.stderr || e.message).trim().split("\n").slice(-5).join(" | ")}`);
  }
  return bin;
}

/** Decode rendered YAML strictly into k8s.io/api types; resolves with the problems found (empty: none). */
export async function strictDecode(yaml: string): Promise<string[]> {
  const bin = await ensureStrictDecoder();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 || code === 1 ? resolve(out.split("\n").filter(Boolean)) : reject(new Error(`k8s-strict exited ${code}: ${err}`))));
    child.stdin.end(yaml);
  });
}

/** Path of compose-spec.json inside Go's module cache (downloaded on first use). */
export async function composeSchemaPath(): Promise<string> {
  const go = requireGo("the Compose schema");
  const { stdout } = await run(go, ["mod", "download", "-json", `${COMPOSE_GO_MODULE}@${COMPOSE_GO_VERSION}`], { env: goEnv(), cwd: tmpdir(), maxBuffer: 1 << 20 });
  const dir = (JSON.parse(stdout) as { Dir?: string }).Dir;
  const path = dir && join(dir, "schema", "compose-spec.json");
  if (!path || !existsSync(path)) throw new ToolUnavailable(`${COMPOSE_GO_MODULE}@${COMPOSE_GO_VERSION} has no schema/compose-spec.json`);
  return path;
}

const CHART = join(repoRoot, "deploy", "helm", "deepsafe");

async function helm(args: string[], set: Record<string, string>): Promise<string> {
  const bin = await ensureHelm();
  for (const [k, v] of Object.entries(set)) args.push("--set-string", `${k}=${v}`);
  const home = join(repoRoot, ".deepsafe", "helm-home");
  const env = { ...process.env, HELM_CACHE_HOME: join(home, "cache"), HELM_CONFIG_HOME: join(home, "config"), HELM_DATA_HOME: join(home, "data") };
  const { stdout } = await run(bin, [...args, "--kube-version", KUBE_VERSION], { env, maxBuffer: 64 << 20 });
  return stdout;
}

/** `helm template` of deploy/helm/deepsafe with extra --set values; returns the rendered YAML. */
export function helmTemplate(set: Record<string, string>): Promise<string> {
  return helm(["template", "deepsafe", CHART, "--namespace", "deepsafe"], set);
}

/** `helm lint --strict` (warnings fail too); rejects with helm's output on failure. */
export function helmLint(set: Record<string, string>): Promise<string> {
  return helm(["lint", "--strict", CHART], set);
}

async function build(): Promise<void> {
  const started = Date.now();
  console.log(`helm: ${await ensureHelm()}`);
  console.log(`compose schema: ${await composeSchemaPath()}`);
  console.log(`strict decoder: ${await ensureStrictDecoder()}`);
  console.log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === "build") {
  build().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
