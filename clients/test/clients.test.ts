// Every client against one real mesh (the NPR detector process and the gateway process, real gRPC
// over loopback): the TypeScript package (Connect, gRPC, gRPC-Web), the `deepsafe` CLI, and the
// generated Python (grpcio) and Go (grpc-go) examples. The same file must get the same score from each.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Code, ConnectError } from "@connectrpc/connect";
import { WeightsKind } from "@deepsafe/proto/es/common";
import { EnsembleMethod, Verdict } from "@deepsafe/proto/es/gateway";
import { createDeepSafeClient, detectBytes, detectFile } from "../typescript/src/index.js";
import { type Mesh, loadRegistry, repoRoot, startMesh, withFreePorts } from "../../deploy/local/mesh.js";
import { prepareModels } from "../../deploy/local/prepare-models.js";
import { photoJpeg, randomBytes } from "../../deploy/test/media.js";
import { buildClients, goClient, pythonClient } from "../build.js";

let mesh: Mesh;
const dir = mkdtempSync(join(tmpdir(), "deepsafe-clients-"));
const photo = join(dir, "photo.jpg");
const garbage = join(dir, "garbage.bin");
writeFileSync(photo, photoJpeg());
writeFileSync(garbage, randomBytes(4096));
/** NPR's score for the photo over Connect: every other client must report the same. */
let reference: number;

test.before(async () => {
  const base = loadRegistry();
  const registry = await withFreePorts({ ...base, detectors: base.detectors.filter((d) => d.name === "npr") });
  const [{ ready, unavailable }] = await Promise.all([prepareModels(registry, { allowRandomWeights: true }), buildClients()]);
  assert.equal(ready, ["npr"], JSON.stringify([...unavailable]));
  mesh = await startMesh({ registry, output: "ignore" });
  await mesh.waitReady(90_000);
});

test.after(async () => {
  await mesh?.stop();
});

const address = () => mesh.gatewayUrl.replace("http://", "");

function run(command: string, args: string[]) {
  const r = spawnSync(command, args, { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const protocol of ["connect", "grpc", "grpc-web"] as const) {
  test(`@deepsafe/client detectFile streams a JPEG over ${protocol}`, async () => {
    const client = createDeepSafeClient({ baseUrl: mesh.gatewayUrl, protocol });
    const res = await detectFile(client, photo, { models: ["npr"], ensemble: "average", includeRandomWeights: true });
    const npr = res.modelResults[0]!;
    assert.is(npr.model, "npr");
    assert.is(npr.errorCode, "", npr.errorMessage);
    assert.is(npr.weightsKind, WeightsKind.RANDOM_FIXTURE);
    assert.is(res.fileName, "photo.jpg");
    assert.is(res.ensembleMethodUsed, EnsembleMethod.AVERAGE);
    const p = npr.prediction!.probabilityFake;
    assert.ok(p > 0 && p < 1);
    assert.is(res.verdict, p >= 0.5 ? Verdict.FAKE : Verdict.REAL);
    reference ??= p;
    assert.is(p, reference);
  });
}

test("@deepsafe/client: random weights alone give no verdict; bad input gets a typed error", async () => {
  const client = createDeepSafeClient({ baseUrl: mesh.gatewayUrl });
  const plain = await detectFile(client, photo);
  assert.is(plain.verdict, Verdict.UNDETERMINED);
  const same = await detectBytes(client, photoJpeg(), { includeRandomWeights: true, models: ["npr"] });
  assert.is(same.modelResults[0]!.prediction!.probabilityFake, reference);
  for (const [call, code] of [
    [detectFile(client, photo, { models: ["no-such-model"] }), Code.InvalidArgument],
    [detectFile(client, garbage), Code.InvalidArgument],
  ] as const) {
    try {
      await call;
      assert.unreachable("expected an error");
    } catch (err) {
      assert.is(Code[ConnectError.from(err).code], Code[code], String(err));
    }
  }
});

test("deepsafe detect <file> --json prints the response; the text form shows the weights honestly", () => {
  const cli = join(repoRoot, "node_modules", ".bin", "deepsafe");
  const json = run(cli, ["detect", photo, "--gateway", mesh.gatewayUrl, "--models", "npr", "--ensemble", "average", "--include-random-weights", "--json"]);
  assert.is(json.status, 0, json.stderr);
  const res = JSON.parse(json.stdout) as { verdict: string; modelResults: Array<{ prediction: { probabilityFake: number } }> };
  assert.is(res.modelResults[0]!.prediction.probabilityFake, reference);
  assert.is(res.verdict, reference >= 0.5 ? "VERDICT_FAKE" : "VERDICT_REAL");

  const text = run(cli, ["detect", photo, "--gateway", mesh.gatewayUrl, "--protocol", "grpc"]);
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, /^UNDETERMINED/);
  assert.match(text.stdout, /npr .*RANDOM TEST WEIGHTS, not counted/);

  const refused = run(cli, ["detect", photo, "--gateway", mesh.gatewayUrl, "--models", "nope"]);
  assert.is(refused.status, 1);
  assert.match(refused.stderr, /INVALID_ARGUMENT: unknown model "nope"/);
  const usage = run(cli, ["detect", photo, "--ensemble", "median"]);
  assert.is(usage.status, 2);
  assert.match(usage.stderr, /--ensemble must be one of voting, average, stacking/);
});

test("Python client (generated, grpcio) streams the file and gets the same score", () => {
  const json = run(pythonClient.python, [pythonClient.script, "--gateway", address(), "--models", "npr", "--ensemble", "average", "--include-random-weights", "--json", photo]);
  assert.is(json.status, 0, json.stderr);
  const res = JSON.parse(json.stdout) as { verdict: string; modelResults: Array<{ prediction: { probabilityFake: number } }> };
  assert.is(res.modelResults[0]!.prediction.probabilityFake, reference);
  const text = run(pythonClient.python, [pythonClient.script, "--gateway", address(), photo]);
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, /^UNDETERMINED/);
  const refused = run(pythonClient.python, [pythonClient.script, "--gateway", address(), garbage]);
  assert.is(refused.status, 1);
  assert.match(refused.stderr, /INVALID_ARGUMENT/);
});

test("Go client (generated, grpc-go) streams the file and gets the same score", () => {
  const json = run(goClient, ["-gateway", address(), "-models", "npr", "-ensemble", "average", "-include-random-weights", "-json", photo]);
  assert.is(json.status, 0, json.stderr);
  const res = JSON.parse(json.stdout) as { verdict: string; modelResults: Array<{ prediction: { probabilityFake: number } }> };
  assert.is(res.modelResults[0]!.prediction.probabilityFake, reference);
  assert.is(res.verdict, reference >= 0.5 ? "VERDICT_FAKE" : "VERDICT_REAL");
  const text = run(goClient, ["-gateway", address(), photo]);
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, /^UNDETERMINED/);
  const refused = run(goClient, ["-gateway", address(), garbage]);
  assert.is(refused.status, 1);
  assert.match(refused.stderr, /InvalidArgument/);
});

test.run();
