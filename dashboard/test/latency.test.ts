// Mean call time per detector from the gateway's real metrics registry (prom-client text format).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GatewayMetrics } from "../../gateway/src/metrics.js";
import { meanCallSeconds } from "../src/latency.js";

test("mean over every outcome of each model; models without calls are absent", async () => {
  const m = new GatewayMetrics();
  m.detectorCallDuration.observe({ model: "mesonet", outcome: "OK" }, 0.2);
  m.detectorCallDuration.observe({ model: "mesonet", outcome: "OK" }, 0.4);
  m.detectorCallDuration.observe({ model: "mesonet", outcome: "UNAVAILABLE" }, 0.9);
  m.detectorCallDuration.observe({ model: "npr", outcome: "OK" }, 0.05);
  const text = await m.registry.metrics();
  const mean = meanCallSeconds(text);
  assert.is(mean.get("mesonet")!.calls, 3);
  assert.ok(Math.abs(mean.get("mesonet")!.mean - 0.5) < 1e-9);
  assert.ok(Math.abs(mean.get("npr")!.mean - 0.05) < 1e-9);
  assert.is(mean.has("ufd"), false);
  assert.is(meanCallSeconds("").size, 0);
});

test.run();
