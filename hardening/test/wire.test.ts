// The small pieces behind two of the fixes, without a mesh: grpc-message encoding that grpc-js can
// decode, and the idle bound on uploads.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { grpcPercentEncode } from "../../gateway/src/connect/wire-errors.js";
import { nextWithin } from "../../gateway/src/upload-idle.js";
import { ServiceError } from "../../gateway/src/service-error.js";

test("grpc-message: only '%' and bytes outside printable ASCII are encoded; grpc-js's decodeURI gets the text back", () => {
  const messages = [
    "the media was rejected: npr: INVALID_ARGUMENT corrupt image: VipsJpeg: premature end of JPEG image",
    "media_type is video, but the bytes are image/png; [mov,mp4 @ 0x55] 100% done #0:0 ?a=b&c",
    "файл «фото».jpg — 照片 🙂",
    "line one\nline two\ttab",
  ];
  for (const m of messages) {
    const encoded = grpcPercentEncode(m);
    assert.ok(/^[\x20-\x7e]*$/.test(encoded), encoded);
    assert.is(decodeURI(encoded), m);
    assert.is(decodeURIComponent(encoded), m);
  }
  assert.is(grpcPercentEncode("a: b, c/d @e"), "a: b, c/d @e");
  assert.is(grpcPercentEncode("100%"), "100%25");
});

test("nextWithin: a piece in time passes through; silence ends with DEADLINE_EXCEEDED / 408", async () => {
  assert.is(await nextWithin(new Promise((r) => setTimeout(() => r("piece"), 20)), 500), "piece");
  const t0 = performance.now();
  const err = await nextWithin(new Promise(() => {}), 100).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ServiceError);
  assert.is((err as ServiceError).code, Code.DeadlineExceeded);
  assert.is((err as ServiceError).options.httpStatus, 408);
  assert.is((err as ServiceError).options.httpCode, "request_timeout");
  assert.match((err as ServiceError).rawMessage, /no upload data for 0.1 s/);
  assert.ok(performance.now() - t0 >= 90);
  // A late failure of the abandoned wait is not an unhandled rejection.
  await nextWithin(new Promise((_, no) => setTimeout(() => no(new Error("late")), 50)), 10).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 80));
});

test.run();
