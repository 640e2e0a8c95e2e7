// `npm run prepare-model -w @deepsafe/ufd`: refuses to run without the CLIP backbone (exit 1 with what to
// do, so the launcher lists ufd as unavailable), finds the backbone in the mirror or the weights cache,
// refuses a backbone that is not OpenAI's ViT-L-14.pt, and keeps a real conversion already made.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BACKBONE_MIRROR_PATH, BACKBONE_SHA256, ensureFixture, HEAD_MIRROR_PATH, repoRoot, serviceDir } from "../scripts/python.js";

const fixture = ensureFixture();
const root = mkdtempSync(join(tmpdir(), "ufd-prepare-"));
const mirror = join(root, "mirror");
mkdirSync(join(mirror, "universalfakedetect"), { recursive: true });
copyFileSync(fixture.head, join(mirror, HEAD_MIRROR_PATH));

function prepare(env: Record<string, string>, ...args: string[]) {
  const { DEEPSAFE_WEIGHTS_MIRROR: _m, DEEPSAFE_MODELS_DIR: _d, DEEPSAFE_WEIGHTS_CACHE: _c, ...inherited } = process.env;
  const r = spawnSync(join(repoRoot, "node_modules", ".bin", "tsx"), [join(serviceDir, "scripts", "prepare-model.ts"), ...args], {
    cwd: serviceDir,
    env: { ...inherited, ...env },
    encoding: "utf8",
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

test("without the backbone: exit 1, says what to supply, writes nothing", () => {
  const models = join(root, "models-none");
  const r = prepare({ DEEPSAFE_WEIGHTS_MIRROR: mirror, DEEPSAFE_MODELS_DIR: models, DEEPSAFE_WEIGHTS_CACHE: join(root, "empty-cache") });
  assert.is(r.status, 1, r.out);
  assert.match(r.out, /the CLIP ViT-L\/14 backbone is not available/);
  assert.match(r.out, new RegExp(`must be ${BACKBONE_SHA256}`));
  assert.match(r.out, /--backbone ViT-L-14\.pt/);
  assert.match(r.out, /\$DEEPSAFE_WEIGHTS_MIRROR\/clip\/ViT-L-14\.pt/);
  assert.match(r.out, /ufd detector is unavailable/);
  assert.not.ok(existsSync(models));
});

test("a backbone that is not OpenAI's ViT-L-14.pt is refused (--backbone, mirror and cache locations)", () => {
  const models = join(root, "models-refused");
  const viaArg = prepare({ DEEPSAFE_WEIGHTS_MIRROR: mirror, DEEPSAFE_MODELS_DIR: models }, "--backbone", fixture.backbone);
  assert.is(viaArg.status, 1, viaArg.out);
  assert.match(viaArg.out, /is not OpenAI's ViT-L-14\.pt/);

  const withClip = join(root, "mirror-with-clip");
  mkdirSync(join(withClip, "clip"), { recursive: true });
  mkdirSync(join(withClip, "universalfakedetect"), { recursive: true });
  copyFileSync(fixture.head, join(withClip, HEAD_MIRROR_PATH));
  symlinkSync(fixture.backbone, join(withClip, BACKBONE_MIRROR_PATH));
  const viaMirror = prepare({ DEEPSAFE_WEIGHTS_MIRROR: withClip, DEEPSAFE_MODELS_DIR: models });
  assert.is(viaMirror.status, 1, viaMirror.out);
  assert.match(viaMirror.out, new RegExp(`${join(withClip, BACKBONE_MIRROR_PATH).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not OpenAI's`));

  const cache = join(root, "cache");
  mkdirSync(join(cache, "clip"), { recursive: true });
  symlinkSync(fixture.backbone, join(cache, BACKBONE_MIRROR_PATH));
  const viaCache = prepare({ DEEPSAFE_WEIGHTS_MIRROR: mirror, DEEPSAFE_MODELS_DIR: models, DEEPSAFE_WEIGHTS_CACHE: cache });
  assert.is(viaCache.status, 1, viaCache.out);
  assert.match(viaCache.out, /cache\/clip\/ViT-L-14\.pt is not OpenAI's/);
  assert.not.ok(existsSync(join(models, "ufd", "model.onnx")));
});

test("a missing head is reported", () => {
  const r = prepare({ DEEPSAFE_WEIGHTS_MIRROR: join(root, "nowhere"), DEEPSAFE_MODELS_DIR: join(root, "m") }, "--backbone", fixture.backbone);
  assert.is(r.status, 1, r.out);
  assert.match(r.out, /universalfakedetect\/fc_weights\.pth is missing/);
});

test("an official conversion already made is kept when the backbone is gone", () => {
  const models = join(root, "models-kept");
  mkdirSync(join(models, "ufd"), { recursive: true });
  writeFileSync(join(models, "ufd", "model.onnx"), "stand-in");
  writeFileSync(join(models, "ufd", "provenance.json"), JSON.stringify({ kind: "official", source: "test" }));
  const r = prepare({ DEEPSAFE_WEIGHTS_MIRROR: mirror, DEEPSAFE_MODELS_DIR: models, DEEPSAFE_WEIGHTS_CACHE: join(root, "empty-cache") });
  assert.is(r.status, 0, r.out);
  assert.match(r.out, /keeping the official conversion/);

  // A random fixture is no such thing: still unavailable.
  writeFileSync(join(models, "ufd", "provenance.json"), JSON.stringify({ kind: "random-fixture", source: "test" }));
  const again = prepare({ DEEPSAFE_WEIGHTS_MIRROR: mirror, DEEPSAFE_MODELS_DIR: models, DEEPSAFE_WEIGHTS_CACHE: join(root, "empty-cache") });
  assert.is(again.status, 1, again.out);
});

test.run();
