// The upload's error sentences, from the error bodies a real gateway sends for refused uploads
// (these are refused before any detector is called, so no detector runs here).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseRegistry } from "../../gateway/src/registry.js";
import { startGateway, type Gateway } from "../../gateway/src/server.js";
import { errorFromBody } from "../src/upload.js";

let gw: Gateway;

test.before(async () => {
  gw = await startGateway({
    registry: parseRegistry({ gateway: { port: 0, host: "127.0.0.1" }, media: { image: { max_upload_bytes: 1024 } }, detectors: [] }),
    mongodbUri: null,
    dataDir: mkdtempSync(join(tmpdir(), "deepsafe-upload-errors-")),
    env: { DEEPSAFE_JWT_SECRET: "upload-errors-secret-0123456789-abcdefghijkl" },
    log: () => {},
  });
});

test.after(async () => {
  await gw?.close();
});

async function upload(bytes: Uint8Array<ArrayBuffer>, fields: Record<string, string> = {}, name = "x.jpg") {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append("file", new Blob([bytes]), name);
  const res = await fetch(`${gw.url}/detect`, { method: "POST", body: form });
  return errorFromBody(res.status, await res.text(), res.headers.get("x-request-id"));
}

const jpegHead = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);

test("415: the file is not media, said plainly, with the request id", async () => {
  const e = await upload(new TextEncoder().encode("#!/bin/sh\necho hi\n"));
  assert.is(e.status, 415);
  assert.is(e.code, "unsupported_media_type");
  assert.match(e.message, /^This file is not a supported image, video or audio file: /);
  assert.match(e.requestId ?? "", /^[0-9a-f-]{36}$/);
});

test("422: invalid settings are listed by field", async () => {
  const e = await upload(jpegHead, { threshold: "very" });
  assert.is(e.status, 422);
  assert.match(e.message, /^Some settings are invalid: threshold: /);
});

test("413: too large for the media type", async () => {
  const big = new Uint8Array(4096);
  big.set(jpegHead);
  const e = await upload(big);
  assert.is(e.status, 413);
  assert.match(e.message, /^The file is too large: /);
});

test("a body that is not JSON still gives a sentence", () => {
  const e = errorFromBody(502, "<html>Bad gateway</html>", "abc");
  assert.is(e.message, "The gateway answered HTTP 502");
  assert.is(e.requestId, "abc");
});

test.run();
