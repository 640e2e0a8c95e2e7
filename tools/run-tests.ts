// `npm test`: run every package's uvu suite as its own process (a crash or hang fails that suite,
// not the run), then print the totals on one line: `N passed, N failed`.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const uvu = join(root, "node_modules/uvu/bin.js");
const suiteTimeoutMs = Number(process.env.DEEPSAFE_SUITE_TIMEOUT_MS ?? 20 * 60_000);

/** Test folders: sdk, gateway, each service, then deploy (which starts whole meshes). */
function suites(): string[] {
  const services = readdirSync(join(root, "services"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join("services", d.name));
  const only = process.argv.slice(2);
  return ["sdk", "gateway", ...services, "deploy", "bench", "hardening", "dashboard", "tools/add-model", "clients"]
    .map((dir) => join(dir, "test"))
    .filter((dir) => existsSync(join(root, dir)))
    .filter((dir) => only.length === 0 || only.some((o) => dir.startsWith(o)));
}

interface Outcome {
  suite: string;
  passed: number;
  failed: number;
  note?: string;
}

function runSuite(dir: string): Promise<Outcome> {
  return new Promise((resolve) => {
    // Colour codes would break the summary parsing; FORCE_COLOR beside NO_COLOR makes node warn.
    const { FORCE_COLOR: _force, ...inherited } = process.env;
    const child = spawn(process.execPath, [uvu, "-r", "tsx", dir, "\\.test\\.ts$"], {
      cwd: root,
      env: { DEEPSAFE_LOG_LEVEL: "warn", ...inherited, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const onData = (stream: NodeJS.WriteStream) => (data: Buffer) => {
      out += data.toString();
      stream.write(data);
    };
    child.stdout.on("data", onData(process.stdout));
    child.stderr.on("data", onData(process.stderr));
    const timer = setTimeout(() => child.kill("SIGKILL"), suiteTimeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN);
      const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
      if (Number.isNaN(total) || Number.isNaN(passed)) {
        // The suite died before uvu could summarise: count it as one failure.
        resolve({ suite: dir, passed: 0, failed: 1, note: signal ? `killed (${signal})` : `exited ${code} without a summary` });
        return;
      }
      // uvu's Total counts the tests that ran; skipped ones are reported beside it.
      const failed = total - passed;
      resolve({ suite: dir, passed, failed: failed > 0 || code === 0 ? failed : 1, note: code !== 0 && failed === 0 ? `exit ${code}` : undefined });
    });
  });
}

const outcomes: Outcome[] = [];
for (const suite of suites()) {
  process.stdout.write(`\n=== ${relative(root, join(root, suite))}\n`);
  outcomes.push(await runSuite(suite));
}
process.stdout.write("\n");
for (const o of outcomes) {
  process.stdout.write(`  ${o.suite.padEnd(28)} passed ${o.passed}, failed ${o.failed}${o.note ? ` (${o.note})` : ""}\n`);
}
const passed = outcomes.reduce((n, o) => n + o.passed, 0);
const failed = outcomes.reduce((n, o) => n + o.failed, 0);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
