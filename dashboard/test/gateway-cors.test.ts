// The gateway lets the dashboard's origin call Connect (preflight with Connect-Web's and our
// headers) as it already did for REST; other origins get no CORS headers, so browsers block them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseRegistry } from "../../gateway/src/registry.js";
import { startGateway, type Gateway } from "../../gateway/src/server.js";

const DASHBOARD = "http://localhost:8888";
let gw: Gateway;

test.before(async () => {
  gw = await startGateway({
    registry: parseRegistry({ gateway: { port: 0, host: "127.0.0.1" }, rest: { cors_origins: [DASHBOARD] }, detectors: [] }),
    mongodbUri: null,
    dataDir: mkdtempSync(join(tmpdir(), "deepsafe-cors-")),
    env: { DEEPSAFE_JWT_SECRET: "cors-test-secret-0123456789-abcdefghijklmnop" },
    log: () => {},
  });
});

test.after(async () => {
  await gw?.close();
});

const connectPath = "/deepsafe.v1.DeepSafeService/GetHealth";

test("preflight on a Connect path from the dashboard: 204 with Connect-Web's headers and Authorization", async () => {
  const res = await fetch(`${gw.url}${connectPath}`, {
    method: "OPTIONS",
    headers: { origin: DASHBOARD, "access-control-request-method": "POST", "access-control-request-headers": "authorization,connect-protocol-version,content-type" },
  });
  assert.is(res.status, 204);
  assert.is(res.headers.get("access-control-allow-origin"), DASHBOARD);
  const allowed = (res.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/,\s*/);
  for (const h of ["authorization", "connect-protocol-version", "connect-timeout-ms", "content-type"]) assert.ok(allowed.includes(h), h);
  assert.match(res.headers.get("access-control-allow-methods") ?? "", /POST/);
});

test("a Connect call from the dashboard carries the CORS headers; from another origin it does not", async () => {
  const call = (origin: string) =>
    fetch(`${gw.url}${connectPath}`, { method: "POST", headers: { origin, "content-type": "application/json" }, body: "{}" });
  const ok = await call(DASHBOARD);
  assert.is(ok.status, 200);
  assert.is(ok.headers.get("access-control-allow-origin"), DASHBOARD);
  assert.match(ok.headers.get("access-control-expose-headers") ?? "", /Grpc-Status/i);
  const other = await call("https://evil.example");
  assert.is(other.status, 200, "non-browser semantics unchanged");
  assert.is(other.headers.get("access-control-allow-origin"), null);
  const preflight = await fetch(`${gw.url}${connectPath}`, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
  assert.is(preflight.headers.get("access-control-allow-origin"), null);
});

test("REST preflight for the upload (POST /detect with Authorization) is allowed too", async () => {
  const res = await fetch(`${gw.url}/detect`, {
    method: "OPTIONS",
    headers: { origin: DASHBOARD, "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
  });
  assert.is(res.status, 204);
  assert.is(res.headers.get("access-control-allow-origin"), DASHBOARD);
  assert.match(res.headers.get("access-control-allow-headers") ?? "", /Authorization/);
});

test.run();
