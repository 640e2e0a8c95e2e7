// add-model end to end, in a throwaway copy of the repository: refuses bad names and ports without
// touching a file; scaffolds and registers a detector; the scaffold's own test passes; a mesh of the
// copy (real processes, real gRPC) serves it through the gateway, labelled as an untrained fixture
// and kept out of the verdict; --remove restores every file byte for byte.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parse } from "yaml";
import { WeightsKind } from "@deepsafe/proto/es/common";
import { ModelHealth, Verdict } from "@deepsafe/proto/es/gateway";
import type * as MeshModule from "../../../deploy/local/mesh.js";
import { connectClient, detectVia } from "../../../deploy/test/clients.js";
import { photoPng } from "../../../deploy/test/media.js";
import { repoCopy } from "./copy.js";

const copy = repoCopy();
const modelsDir = mkdtempSync(join(tmpdir(), "deepsafe-add-model-models-"));
const EDITED = ["gateway/config/registry.yaml", "deploy/compose/compose.yaml", "deploy/compose/prometheus.yml", "deploy/helm/deepsafe/values.yaml"];
const original = new Map(EDITED.map((f) => [f, readFileSync(join(copy, f), "utf8")]));
const env = { ...process.env, DEEPSAFE_MODELS_DIR: modelsDir, NO_COLOR: "1" };

function addModel(...args: string[]) {
  // Exactly the README's command line (`npm run add-model -- …`), in the copy.
  const run = spawnSync("npm", ["run", "--silent", "add-model", "--", ...args, "--no-install"], { cwd: copy, env, encoding: "utf8" });
  return { status: run.status, out: run.stdout + run.stderr };
}

function assertUntouched(): void {
  for (const [f, text] of original) assert.is(readFileSync(join(copy, f), "utf8"), text, `${f} changed`);
}

test.after(() => {
  rmSync(copy, { recursive: true, force: true });
  rmSync(modelsDir, { recursive: true, force: true });
});

for (const [args, why] of [
  [["--name", "Bad Name", "--media", "image", "--port", "5190"], /--name/],
  [["--name", "npr", "--media", "image", "--port", "5190"], /already registered/],
  [["--name", "fresh", "--media", "smell", "--port", "5190"], /--media/],
  [["--name", "fresh", "--media", "image", "--port", "5001"], /port 5001 is already used by the detector "npr"/],
  [["--name", "fresh", "--media", "image", "--port", "15001"], /metrics port of "npr"/],
  [["--name", "fresh", "--media", "image", "--port", "8000"], /gateway/],
  [["--name", "fresh", "--media", "image", "--port", "60000"], /--port/],
  [["--remove", "nothing_here"], /no detector "nothing_here"/],
  [["--remove", "../gateway"], /not a detector name/],
] as const) {
  test(`refuses ${args.join(" ")} and changes nothing`, () => {
    const { status, out } = addModel(...args);
    assert.is(status, 2, out);
    assert.match(out, why);
    assertUntouched();
    assert.not.ok(existsSync(join(copy, "services", "fresh")));
  });
}

test("--name e2e_probe --media image --port 5190 registers it everywhere and scaffolds services/e2e_probe", () => {
  const { status, out } = addModel("--name", "e2e_probe", "--media", "image", "--port", "5190");
  assert.is(status, 0, out);
  const registry = parse(readFileSync(join(copy, EDITED[0]!), "utf8")) as { detectors: Array<{ name: string; address: string; package: string }> };
  assert.equal(registry.detectors.at(-1), { name: "e2e_probe", package: "@deepsafe/e2e_probe", media_type: "image", address: "127.0.0.1:5190", deadline_ms: 30000 });
  const compose = parse(readFileSync(join(copy, EDITED[1]!), "utf8"), { merge: true }) as { services: Record<string, { command: string[]; environment: Record<string, string>; image: string }> };
  assert.equal(compose.services.e2e_probe!.command, ["detector", "e2e_probe"]);
  assert.is(compose.services.e2e_probe!.environment.PORT, "5190");
  assert.is(compose.services.e2e_probe!.image, compose.services.npr!.image);
  assert.match(readFileSync(join(copy, EDITED[2]!), "utf8"), /e2e_probe:15190/);
  const values = parse(readFileSync(join(copy, EDITED[3]!), "utf8")) as { detectors: Array<{ name: string; port: number }> };
  assert.is(values.detectors.find((d) => d.name === "e2e_probe")?.port, 5190);
  for (const f of ["package.json", "src/model.ts", "src/main.ts", "MODEL_CARD.md", "test/model.test.ts", "python/export.py"]) {
    assert.ok(existsSync(join(copy, "services", "e2e_probe", f)), f);
  }
  // Every other line of the edited files is as it was.
  for (const f of EDITED) {
    const before = original.get(f)!.split("\n");
    const after = readFileSync(join(copy, f), "utf8").split("\n");
    assert.ok(before.every((line) => after.includes(line)), `${f}: an existing line changed`);
  }
  assert.is(addModel("--name", "e2e_probe", "--media", "image", "--port", "5191").status, 2, "adding it twice must fail");
});

test("the scaffold's own test passes (prepares its graph, serves it over gRPC, scores a real PNG)", () => {
  const run = spawnSync(process.execPath, [join(copy, "node_modules/uvu/bin.js"), "-r", "tsx", "test", "\\.test\\.ts$"], {
    cwd: join(copy, "services", "e2e_probe"),
    env: { ...env, DEEPSAFE_LOG_LEVEL: "warn" },
    encoding: "utf8",
  });
  const out = run.stdout + run.stderr;
  assert.is(run.status, 0, out);
  assert.match(out, /Passed:\s+2/);
  assert.ok(existsSync(join(modelsDir, "e2e_probe", "model.onnx")));
  assert.is(JSON.parse(readFileSync(join(modelsDir, "e2e_probe", "provenance.json"), "utf8")).kind, "random-fixture");
});

test("a mesh of the copy serves it through the gateway, as an untrained fixture outside the verdict", async () => {
  // The copy's own launcher, so it finds the new service under the copy's services/.
  const { startMesh, withFreePorts, loadRegistry } = (await import(pathToFileURL(join(copy, "deploy/local/mesh.ts")).href)) as typeof MeshModule;
  const base = loadRegistry(join(copy, EDITED[0]!));
  const registry = await withFreePorts({ ...base, detectors: base.detectors.filter((d) => d.name === "e2e_probe") });
  const mesh = await startMesh({ registry, output: "ignore", env: { DEEPSAFE_MODELS_DIR: modelsDir } });
  try {
    await mesh.waitReady(90_000);
    const client = connectClient(mesh.gatewayUrl);
    const listed = (await client.listModels({})).models.find((m) => m.name === "e2e_probe");
    assert.is(listed?.health, ModelHealth.SERVING);
    assert.is(listed?.info?.weights?.kind, WeightsKind.RANDOM_FIXTURE);
    assert.is(listed?.votes, false);

    const png = photoPng();
    const asked = await detectVia(client, png, { fileName: "photo.png", models: ["e2e_probe"], includeRandomWeights: true });
    const result = asked.modelResults[0]!;
    assert.is(result.model, "e2e_probe");
    assert.is(result.errorCode, "", result.errorMessage);
    assert.ok(result.prediction!.probabilityFake >= 0 && result.prediction!.probabilityFake <= 1);

    const plain = await detectVia(client, png, { fileName: "photo.png" });
    assert.is(plain.verdict, Verdict.UNDETERMINED, "an untrained scaffold must never make a verdict");
    assert.is(plain.modelResults.find((r) => r.model === "e2e_probe")?.usedInVerdict, false);
  } finally {
    await mesh.stop();
  }
});

test("audio and video scaffolds pass their own tests too (a real WAV and MP4 from ffmpeg)", () => {
  for (const [name, media, port] of [["e2e_audio", "audio", "5192"], ["e2e_video", "video", "5193"]] as const) {
    const added = addModel("--name", name, "--media", media, "--port", port);
    assert.is(added.status, 0, added.out);
    const run = spawnSync(process.execPath, [join(copy, "node_modules/uvu/bin.js"), "-r", "tsx", "test", "\\.test\\.ts$"], {
      cwd: join(copy, "services", name),
      env: { ...env, DEEPSAFE_LOG_LEVEL: "warn" },
      encoding: "utf8",
    });
    assert.is(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /Passed:\s+2/);
    assert.is(addModel("--remove", name).status, 0);
  }
});

test("--remove e2e_probe restores every edited file byte for byte and deletes the service", () => {
  const { status, out } = addModel("--remove", "e2e_probe");
  assert.is(status, 0, out);
  assertUntouched();
  assert.not.ok(existsSync(join(copy, "services", "e2e_probe")));
});

test.run();
