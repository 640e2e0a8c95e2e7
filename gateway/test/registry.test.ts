import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_REGISTRY_PATH, loadRegistry, RegistryError } from "../src/registry.js";

const dir = mkdtempSync(join(tmpdir(), "deepsafe-registry-"));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test("the shipped registry is valid and lists npr", () => {
  const reg = loadRegistry(DEFAULT_REGISTRY_PATH);
  assert.is(reg.gateway.port, 8000);
  const npr = reg.detectors.find((d) => d.name === "npr");
  assert.ok(npr);
  assert.is(npr!.media_type, "image");
  assert.is(npr!.address, "127.0.0.1:5001");
  assert.is(npr!.package, "@deepsafe/npr");
  assert.is(reg.media.image.ensemble, "voting");
});

test("defaults are filled in", () => {
  const reg = loadRegistry(write("min.yaml", "detectors:\n  - { name: a, package: x, media_type: audio, address: 'localhost:1' }\n"));
  assert.is(reg.gateway.port, 8000);
  assert.is(reg.media.video.threshold, 0.5);
  assert.is(reg.detectors[0]!.deadline_ms, 30000);
  assert.is(reg.detectors[0]!.default, true);
});

test("a bad field is reported with file, path and problem", () => {
  const p = write("bad.yaml", "detectors:\n  - { name: a, package: x, media_type: image, address: 'nope' }\n  - { name: a, package: x, media_type: smell, address: '127.0.0.1:2' }\n");
  try {
    loadRegistry(p);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, RegistryError);
    const msg = (err as Error).message;
    assert.ok(msg.includes(p), msg);
    assert.match(msg, /detectors\[0\]\.address: expected host:port/);
    assert.match(msg, /detectors\[1\]\.media_type:/);
  }
});

test("duplicate names and addresses are errors", () => {
  const p = write("dup.yaml", "detectors:\n  - { name: a, package: x, media_type: image, address: '127.0.0.1:2' }\n  - { name: a, package: x, media_type: image, address: '127.0.0.1:2' }\n");
  assert.throws(() => loadRegistry(p), (e: Error) => /detectors\[1\]\.name: duplicate name "a"/.test(e.message) && /detectors\[1\]\.address: address 127.0.0.1:2/.test(e.message));
});

test("unknown keys, bad YAML and missing files are errors", () => {
  assert.throws(() => loadRegistry(write("typo.yaml", "detectors: []\ngatway: {}\n")), /gatway/);
  assert.throws(() => loadRegistry(write("yaml.yaml", "detectors: [\n")), (e: Error) => e instanceof RegistryError && /invalid YAML/.test(e.message));
  assert.throws(() => loadRegistry(join(dir, "missing.yaml")), /cannot read registry .*missing\.yaml/);
  assert.throws(() => loadRegistry(write("thr.yaml", "media: { image: { threshold: 2 } }\ndetectors: []\n")), /media\.image\.threshold/);
});

test("the gateway process exits non-zero with the message and no stack trace", () => {
  const p = write("proc.yaml", "detectors:\n  - { name: a, package: x, media_type: image, address: 'localhost:99999' }\n");
  const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
  const r = spawnSync(process.execPath, ["--import", "tsx", main], { env: { ...process.env, DEEPSAFE_REGISTRY: p }, encoding: "utf8", timeout: 30_000 });
  assert.is(r.status, 1, r.stderr);
  assert.ok(r.stderr.includes(p), r.stderr);
  assert.match(r.stderr, /detectors\[0\]\.address: port must be at most 65535/);
  assert.not.match(r.stderr, /\n\s+at /);
});

test.run();
