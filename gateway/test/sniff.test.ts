import { test } from "uvu";
import * as assert from "uvu/assert";
import { MediaType } from "@deepsafe/proto/es/common";
import { compatible, sniff } from "../src/sniff.js";

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));
const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc(32)]);
const mp4 = bytes([0, 0, 0, 16], "ftypisom", [0, 0, 0, 0]);

test("sniffed media maps to the contract's media type", () => {
  assert.is(sniff(pad(bytes([0xff, 0xd8, 0xff])))?.mediaType, MediaType.IMAGE);
  assert.is(sniff(pad(mp4))?.mediaType, MediaType.VIDEO);
  assert.is(sniff(pad(bytes("fLaC")))?.mediaType, MediaType.AUDIO);
});

test("containers that may hold audio only do not contradict an audio declaration", () => {
  assert.ok(compatible(sniff(pad(mp4)), MediaType.AUDIO));
  assert.ok(compatible(sniff(pad(bytes("OggS"))), MediaType.VIDEO));
  assert.not.ok(compatible(sniff(pad(bytes([0xff, 0xd8, 0xff]))), MediaType.VIDEO));
  assert.not.ok(compatible(sniff(pad(bytes("fLaC"))), MediaType.IMAGE));
  assert.ok(compatible(undefined, MediaType.VIDEO), "unknown bytes are not contradicted");
});

test.run();
