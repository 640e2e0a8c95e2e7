// Smoke test of `npm run load`: a few seconds against a real NPR + gateway mesh; the results file
// must be well formed with consistent counts. No timing assertions: figures belong to the script.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { repoRoot } from "../../deploy/local/mesh.js";
import type { LoopResult } from "../closed-loop.js";

type Phase = LoopResult & { modelErrors: Record<string, number> };

test("a short load run writes a well-formed results file; over capacity the only errors are shedding", () => {
  const out = join(mkdtempSync(join(tmpdir(), "deepsafe-load-test-")), "load.json");
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", "bench/load.ts", "--clients", "2", "--minutes", "0.1", "--overload-clients", "16", "--overload-seconds", "3", "--detectors", "npr", "--out", out],
    { cwd: repoRoot, encoding: "utf8", timeout: 240_000 },
  );
  assert.is(run.status, 0, `load.ts failed:\n${run.stdout}\n${run.stderr}`);
  const results = JSON.parse(readFileSync(out, "utf8")) as {
    settings: { clients: number; detectors: string[] };
    steady: Phase;
    overload: Phase;
    shedding: { rejectedFast: number; shedFraction: number };
    peakRssBytes: Record<string, number>;
    processesAlive: Record<string, boolean>;
  };
  assert.equal(results.settings.detectors, ["npr"]);
  for (const phase of [results.steady, results.overload]) {
    const failed = Object.values(phase.errors).reduce((a, b) => a + b, 0);
    assert.ok(phase.requests > 0 && phase.requests >= failed, `requests ${phase.requests}, failed ${failed}`);
    assert.ok(Math.abs(phase.throughput * phase.seconds - (phase.requests - failed)) < 1e-6, "throughput = answered / seconds");
    if (phase.requests > failed) assert.ok(phase.latencyMs.p50 <= phase.latencyMs.p95 && phase.latencyMs.p95 <= phase.latencyMs.p99);
  }
  assert.equal(results.steady.errors, {}, "two clients are within capacity");
  for (const code of Object.keys(results.overload.errors)) {
    assert.ok(["grpc:RESOURCE_EXHAUSTED", "http:429"].includes(code), `unexpected error under overload: ${code}`);
  }
  assert.ok(results.shedding.shedFraction >= 0 && results.shedding.shedFraction <= 1);
  for (const name of ["load", "gateway", "npr"]) {
    assert.ok(results.peakRssBytes[name]! > 10 * 2 ** 20, `${name} peak RSS ${results.peakRssBytes[name]}`);
  }
  assert.equal(results.processesAlive, { npr: true, gateway: true }, "nothing crashed under load");
});

test.run();
