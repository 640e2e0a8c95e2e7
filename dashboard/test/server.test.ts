// The dashboard's static server: the vite build, /config.json, caching and security headers.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { get, type IncomingMessage } from "node:http";
import { ensureDashboardBuilt, staleReason, startDashboard, type DashboardServer } from "../server/index.js";

let server: DashboardServer;
let base: string;

test.before(async () => {
  await ensureDashboardBuilt();
  server = await startDashboard({ port: 0, host: "127.0.0.1", gateway: { port: 8000 } });
  base = `http://127.0.0.1:${server.port}`;
});

test.after(async () => {
  await server?.close();
});

test("the build is current after ensureDashboardBuilt", () => {
  assert.is(staleReason(), undefined);
});

test("index.html with a strict CSP allowing the gateway on the page's host", async () => {
  const res = await fetch(`${base}/`);
  assert.is(res.status, 200);
  const html = await res.text();
  assert.match(html, /<div id="root">/);
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /connect-src 'self' http:\/\/127\.0\.0\.1:8000/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.is(res.headers.get("x-content-type-options"), "nosniff");
  assert.is(res.headers.get("cache-control"), "no-cache");
  // Through another host name, the allowed gateway follows it.
  const viaName = await new Promise<IncomingMessage>((resolve, reject) =>
    get({ host: "127.0.0.1", port: server.port, path: "/", headers: { host: "deepsafe.lan:8888" } }, resolve).on("error", reject),
  );
  viaName.resume();
  assert.match(String(viaName.headers["content-security-policy"]), /connect-src 'self' http:\/\/deepsafe\.lan:8000/);
});

test("hashed assets are served immutable, with the right types", async () => {
  const html = await (await fetch(`${base}/`)).text();
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(script, html);
  const res = await fetch(`${base}${script}`);
  assert.is(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /javascript/);
  assert.match(res.headers.get("cache-control") ?? "", /immutable/);
});

test("/config.json tells the page the gateway's port; a full URL when configured", async () => {
  const res = await fetch(`${base}/config.json`);
  assert.equal(await res.json(), { gatewayPort: 8000 });
  assert.is(res.headers.get("cache-control"), "no-store");
  const other = await startDashboard({ port: 0, host: "127.0.0.1", gateway: { url: "https://api.example" } });
  try {
    assert.equal(await (await fetch(`http://127.0.0.1:${other.port}/config.json`)).json(), { gatewayUrl: "https://api.example" });
  } finally {
    await other.close();
  }
});

test("unknown paths are 404", async () => {
  assert.is((await fetch(`${base}/nope.js`)).status, 404);
});

test.run();
