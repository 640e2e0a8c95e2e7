// The gateway balances each detector call over every address its name resolves to (Kubernetes: a
// headless Service, one A record per ready pod), and picks up pods added later: real DNS over UDP,
// real detector servers on three loopback addresses, the gateway's own DetectorPool. grpc-js' default
// (pick_first) is measured too, so the test can tell balancing from luck.
import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { detectorTarget } from "../../gateway/src/detectors.js";
import { repoRoot } from "../local/mesh.js";

type Counts = Record<string, number>;

test("the gateway dials detectors through grpc-js' DNS resolver", () => {
  assert.is(detectorTarget("npr:5001"), "dns:///npr:5001");
  assert.is(detectorTarget("127.0.0.1:5001"), "dns:///127.0.0.1:5001");
});

test("calls alternate between the pods behind one name, a pod added to DNS gets calls, pick_first would pin one", () => {
  const run = spawnSync(process.execPath, ["--import", "tsx", "deploy/test/round-robin-probe.ts"], {
    cwd: repoRoot,
    env: { ...process.env, GRPC_NODE_USE_ALTERNATIVE_RESOLVER: "true", DEEPSAFE_LOG_LEVEL: "error" },
    encoding: "utf8",
    timeout: 90_000,
  });
  assert.is(run.status, 0, run.stderr);
  const { twoPods, threePods, pickFirst } = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as { twoPods: Counts; threePods: Counts; pickFirst: Counts };
  const spread = (c: Counts) => Math.max(...Object.values(c)) - Math.min(...Object.values(c));
  assert.is(Object.keys(twoPods).length, 2);
  assert.ok(spread(twoPods) <= 2, `round_robin should alternate: ${JSON.stringify(twoPods)}`);
  assert.is(Object.keys(threePods).length, 3);
  assert.ok(spread(threePods) <= 3, `the added pod should share the calls: ${JSON.stringify(threePods)}`);
  assert.ok(Object.values(pickFirst).includes(20), `pick_first pins one pod: ${JSON.stringify(pickFirst)}`);
});

test.run();
