// The conversion path: the official head, the safe reader for OpenAI's TorchScript ViT-L-14.pt
// (exercised on an archive of the same structure written by torch.jit.save), plain state_dicts,
// refusals, and provenance labelling.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { sha256File } from "@deepsafe/sdk";
import {
  ensureFixture,
  FIXTURE_BLOCKS,
  fixturesDir,
  HEAD_MIRROR_PATH,
  HEAD_SHA256,
  pythonDir,
  pythonExecutable,
  runPython,
  serviceDir,
  tryPython,
} from "../scripts/python.js";

const fixture = ensureFixture();
const work = join(fixturesDir, "checkpoints");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
test.after(() => rmSync(work, { recursive: true, force: true }));

/** Run Python code with our python/ folder importable; returns parsed JSON from stdout. */
function py<T>(code: string, ...args: string[]): T {
  const out = execFileSync(pythonExecutable(), ["-c", `import sys; sys.path.insert(0, ${JSON.stringify(pythonDir)})\n${code}`, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split("\n").pop()!) as T;
}

const VISUAL_KEYS = 8 + 12 * FIXTURE_BLOCKS;

test("the official head: fc_weights.pth is Linear(768, 1), pinned in weights.json with the CLIP backbone", async () => {
  const all = JSON.parse(readFileSync(join(serviceDir, "weights.json"), "utf8")) as { path: string; url: string; sha256: string; bytes: number }[];
  assert.equal(all.map((p) => p.path), [HEAD_MIRROR_PATH, "clip/ViT-L-14.pt"]);
  assert.is(all[1]!.sha256, "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836");
  const pins = all.slice(0, 1);
  assert.is(pins[0]!.sha256, HEAD_SHA256);
  assert.match(pins[0]!.url, /^https:\/\/github\.com\/WisconsinAIVision\/UniversalFakeDetect\/raw\/76a0e3e60a8a06458707a625d269ba815a2e5919\/pretrained_weights\/fc_weights\.pth$/);
  if (!fixture.officialHead) {
    console.log(`SKIP official head checks: $DEEPSAFE_WEIGHTS_MIRROR/${HEAD_MIRROR_PATH} not found`);
    return;
  }
  assert.is(await sha256File(fixture.head), HEAD_SHA256);
  assert.is(readFileSync(fixture.head).length, pins[0]!.bytes);
  const head = py<{ keys: string[]; weight: number[]; bias: number[]; dtype: string; biasValue: number; weightNorm: number }>(
    `import json, torch
from export import load_head
h = load_head(sys.argv[1])
print(json.dumps({"keys": sorted(h), "weight": list(h["weight"].shape), "bias": list(h["bias"].shape),
  "dtype": str(h["weight"].dtype), "biasValue": float(h["bias"][0]), "weightNorm": float(h["weight"].norm())}))`,
    fixture.head,
  );
  assert.equal(head.keys, ["bias", "weight"]);
  assert.equal(head.weight, [1, 768]);
  assert.equal(head.bias, [1]);
  assert.is(head.dtype, "torch.float32");
  console.log(`official head: bias ${head.biasValue.toFixed(4)}, |w| ${head.weightNorm.toFixed(4)}`);
  const check = JSON.parse(runPython("export.py", ["--backbone", fixture.backbone, "--head", fixture.head, "--check-only"])) as Record<string, unknown>;
  assert.is(check.headOfficial, true);
  assert.is(check.backboneOfficial, false);
});

test("TorchScript archive: our reader gives exactly torch.jit.load's tensors, without running the archive", () => {
  // torch.jit.load is used here only as the yardstick, on the archive this test suite wrote itself.
  const r = py<{ ours: number; theirs: number; equal: boolean; visual: number; dtypes: string[]; format: string; fp32: boolean }>(
    `import json, torch
from clip_archive import read_torchscript_tensors, read_clip_visual, is_torchscript_archive
assert is_torchscript_archive(sys.argv[1])
ours = read_torchscript_tensors(sys.argv[1])
theirs = torch.jit.load(sys.argv[1], map_location="cpu").state_dict()
equal = set(ours) == set(theirs) and all(ours[k].dtype == theirs[k].dtype and torch.equal(ours[k], theirs[k]) for k in ours)
visual, fmt = read_clip_visual(sys.argv[1])
exact = all(torch.equal(visual[k], theirs["visual." + k].float()) for k in visual)
print(json.dumps({"ours": len(ours), "theirs": len(theirs), "equal": equal, "visual": len(visual), "format": fmt,
  "dtypes": sorted({str(v.dtype) for k, v in ours.items() if k.startswith("visual.")}),
  "fp32": exact and all(v.dtype == torch.float32 for v in visual.values())}))`,
    fixture.backbone,
  );
  assert.ok(r.equal, `reader ${r.ours} tensors vs torch.jit.load ${r.theirs}`);
  assert.ok(r.ours > r.visual, "the text tower's tensors are present in the archive and must be skipped");
  assert.is(r.visual, VISUAL_KEYS);
  assert.is(r.format, "torchscript");
  assert.equal(r.dtypes, ["torch.float16", "torch.float32"]);
  assert.ok(r.fp32, "visual tensors must be the archive's values upcast exactly to float32");
});

test("plain state_dicts (full CLIP keys or bare image-tower keys) give the same tensors", () => {
  const full = join(work, "clip-state_dict.pt");
  runPython("make_random_clip.py", [full, "--layers", String(FIXTURE_BLOCKS), "--seed", "0", "--format", "state_dict"]);
  const r = py<{ same: boolean; bare: boolean; formats: string[] }>(
    `import json, torch
from clip_archive import read_clip_visual
a, fa = read_clip_visual(sys.argv[1])
b, fb = read_clip_visual(sys.argv[2])
torch.save({"model": {"module." + k: v for k, v in b.items()}}, sys.argv[3])
c, fc = read_clip_visual(sys.argv[3])
print(json.dumps({"same": set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a),
  "bare": set(b) == set(c) and all(torch.equal(b[k], c[k]) for k in b), "formats": [fa, fb, fc]}))`,
    fixture.backbone,
    full,
    join(work, "bare-wrapped.pt"),
  );
  assert.ok(r.same, "TorchScript archive and state_dict of the same model differ");
  assert.ok(r.bare, "bare keys with a training wrapper and module. prefix differ");
  assert.equal(r.formats, ["torchscript", "state_dict", "state_dict"]);
  const check = JSON.parse(runPython("export.py", ["--backbone", full, "--head", fixture.head, "--check-only"])) as { layers: number; backboneFormat: string };
  assert.is(check.layers, FIXTURE_BLOCKS);
  assert.is(check.backboneFormat, "state_dict");
});

test("code in a TorchScript-shaped archive never runs: foreign globals and odd storages are refused", () => {
  const cases = py<Record<string, string>>(
    `import json, pickle, zipfile
class Evil:
    def __reduce__(self):
        return (print, ("should never run",))
def archive(path, payload, extra=None):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("ViT-L-14/data.pkl", payload)
        z.writestr("ViT-L-14/constants.pkl", pickle.dumps(()))
        z.writestr("ViT-L-14/version", "3")
        for k, v in (extra or {}).items():
            z.writestr(k, v)
d = sys.argv[1]
archive(d + "/evil-reduce.pt", pickle.dumps({"visual": Evil()}, protocol=2))
archive(d + "/evil-global.pt", b"\\x80\\x02cos\\nsystem\\nq\\x00X\\x04\\x00\\x00\\x00trueq\\x01\\x85q\\x02Rq\\x03.")
# a storage key that tries to leave the archive's data/ folder, written the way torch writes tensors
import io, collections, torch, torch._utils
class S: pass
class T:
    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, (S(), 0, (1,), (1,), False, collections.OrderedDict()))
class P(pickle.Pickler):
    def persistent_id(self, obj):
        return ("storage", torch.FloatStorage, "../x0", "cpu", 1) if isinstance(obj, S) else None
buf = io.BytesIO()
P(buf, protocol=2).dump({"visual": T()})
bad_key = buf.getvalue()
archive(d + "/evil-key.pt", bad_key)
print(json.dumps({"reduce": d + "/evil-reduce.pt", "global": d + "/evil-global.pt", "key": d + "/evil-key.pt"}))`,
    work,
  );
  const expectations: Record<string, RegExp> = {
    reduce: /refusing to load global (__builtin__|builtins)\.print/,
    global: /refusing to load global os\.system/,
    key: /bad storage key '\.\.\/x0'/,
  };
  for (const [name, pattern] of Object.entries(expectations)) {
    const r = tryPython("export.py", ["--backbone", cases[name]!, "--head", fixture.head, "--check-only"]);
    assert.is(r.status, 3, `${name}: expected exit 3, got ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, pattern, name);
    assert.not.match(r.stdout + r.stderr, /should never run/);
  }
});

test("wrong layouts are refused with the offending keys", () => {
  const made = py<Record<string, string>>(
    `import json, torch
from clip_archive import read_clip_visual
v, _ = read_clip_visual(sys.argv[1])
d = sys.argv[2]
drop = {"visual." + k: t for k, t in v.items() if k != "ln_post.bias"}
torch.save(drop, d + "/drop.pt")
narrow = {"visual." + k: t for k, t in v.items()}
narrow["visual.proj"] = torch.zeros(1024, 512)
torch.save(narrow, d + "/narrow.pt")
torch.save({"token_embedding.weight": torch.zeros(4, 4)}, d + "/textonly.pt")
torch.save({"weight": torch.zeros(2, 768), "bias": torch.zeros(2)}, d + "/head2.pth")
print(json.dumps({"drop": d + "/drop.pt", "narrow": d + "/narrow.pt", "textonly": d + "/textonly.pt", "head2": d + "/head2.pth"}))`,
    fixture.backbone,
    work,
  );
  const cases: [string[], RegExp][] = [
    [["--backbone", made.drop!, "--head", fixture.head], /missing 1: visual\.ln_post\.bias/],
    [["--backbone", made.narrow!, "--head", fixture.head], /visual\.proj: \(1024, 512\) != \(1024, 768\)/],
    [["--backbone", made.textonly!, "--head", fixture.head], /no CLIP ViT image tower found/],
    [["--backbone", fixture.backbone, "--head", made.head2!], /weight \(2, 768\) \/ bias \(2,\), expected \(1, 768\) \/ \(1,\)/],
  ];
  for (const [args, pattern] of cases) {
    const r = tryPython("export.py", [...args, "--kind", "project-trained", "--out-dir", join(work, "never")]);
    assert.is(r.status, 3, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
});

test("only the published files can be labelled official; ViT-L/14 needs all 24 blocks", () => {
  const out = join(work, "never");
  const official = tryPython("export.py", ["--backbone", fixture.backbone, "--head", fixture.head, "--out-dir", out]);
  assert.is(official.status, 2);
  assert.match(official.stderr, /is not OpenAI's ViT-L-14\.pt \(sha256 [0-9a-f]{64}, expected b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836\)/);
  const project = tryPython("export.py", ["--backbone", fixture.backbone, "--head", fixture.head, "--out-dir", out, "--kind", "project-trained"]);
  assert.is(project.status, 3);
  assert.match(project.stderr, /has 2 residual blocks; ViT-L\/14 has 24/);
});

test("fixture provenance: random backbone labelled as such, head provenance recorded, export idempotent", async () => {
  const prov = JSON.parse(readFileSync(join(fixture.modelDir, "provenance.json"), "utf8")) as {
    kind: string; description: string; checkpointSha256: string; onnxSha256: string;
    head: { official: boolean; sha256: string }; backbone: { official: boolean; blocks: number; format: string; sha256: string };
  };
  assert.is(prov.kind, "random-fixture");
  assert.match(prov.description, /meaningless/);
  assert.is(prov.backbone.official, false);
  assert.is(prov.backbone.blocks, FIXTURE_BLOCKS);
  assert.is(prov.backbone.format, "torchscript");
  assert.is(prov.backbone.sha256, await sha256File(fixture.backbone));
  assert.is(prov.head.official, fixture.officialHead);
  assert.is(prov.checkpointSha256, await sha256File(fixture.head));
  assert.is(prov.onnxSha256, await sha256File(join(fixture.modelDir, "model.onnx")));
  const again = runPython("export.py", [
    "--random-backbone-layers", String(FIXTURE_BLOCKS), "--random-seed", "0", "--head", fixture.head, "--out-dir", fixture.modelDir,
  ]);
  assert.match(again, /is up to date \(random-fixture\)/);
});

test.run();
