// End to end over real processes: the NPR detector process running its ONNX graph, the gateway
// process, real files from real encoders, sent over Connect, gRPC, gRPC-Web and plain grpc-js.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { MediaType, Prediction, WeightsKind } from "@deepsafe/proto/es/common";
import { EnsembleMethod, ModelHealth, Verdict } from "@deepsafe/proto/es/gateway";
import { type Mesh, loadRegistry, startMesh, withFreePorts } from "../local/mesh.js";
import { prepareModels } from "../local/prepare-models.js";
import { connectClient, detectGrpcJs, detectVia } from "./clients.js";
import { photoJpeg, photoPng, pixelBomb, randomBytes } from "./media.js";

let mesh: Mesh;
const jpeg = photoJpeg();
const png = photoPng();

test.before(async () => {
  const base = loadRegistry();
  const registry = await withFreePorts({ ...base, detectors: base.detectors.filter((d) => d.name === "npr") });
  const { ready, unavailable } = await prepareModels(registry, { allowRandomWeights: true });
  assert.equal(ready, ["npr"], JSON.stringify([...unavailable]));
  mesh = await startMesh({ registry, output: "ignore" });
  await mesh.waitReady(90_000);
});

test.after(async () => {
  await mesh?.stop();
});

const gatewayAddress = () => mesh.gatewayUrl.replace("http://", "");

async function expectConnectError(promise: Promise<unknown>, code: Code, pattern?: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    const e = ConnectError.from(err);
    assert.is(Code[e.code], Code[code], e.rawMessage);
    if (pattern) assert.match(e.rawMessage, pattern);
    return;
  }
  assert.unreachable(`expected ${Code[code]}`);
}

function assertAlive(): void {
  for (const p of mesh.processes.values()) assert.is(p.child.exitCode, null, `${p.name} died`);
}

test("ListModels shows NPR serving, with random-fixture provenance", async () => {
  const res = await connectClient(mesh.gatewayUrl).listModels({});
  const npr = res.models.find((m) => m.name === "npr");
  assert.ok(npr);
  assert.is(npr.health, ModelHealth.SERVING);
  assert.is(npr.mediaType, MediaType.IMAGE);
  assert.is(npr.info?.weights?.kind, WeightsKind.RANDOM_FIXTURE);
  assert.is(npr.votes, false, "random weights must not vote by default");
});

for (const protocol of ["connect", "grpc", "grpc-web"] as const) {
  test(`a real JPEG and PNG through the gateway over ${protocol}`, async () => {
    const client = connectClient(mesh.gatewayUrl, protocol);
    for (const [bytes, name] of [[jpeg, "photo.jpg"], [png, "photo.png"]] as const) {
      const res = await detectVia(client, bytes, {
        fileName: name,
        includeRandomWeights: true,
        ensembleMethod: EnsembleMethod.AVERAGE,
      });
      assert.is(res.mediaType, MediaType.IMAGE);
      assert.is(res.modelResults.length, 1);
      const npr = res.modelResults[0]!;
      assert.is(npr.model, "npr");
      assert.is(npr.errorCode, "", npr.errorMessage);
      const p = npr.prediction!.probabilityFake;
      assert.ok(p > 0 && p < 1, `probability ${p}`);
      assert.ok(npr.usedInVerdict);
      assert.ok(res.ensembleScore !== undefined && Math.abs(res.ensembleScore - p) < 1e-12);
      assert.is(res.ensembleMethodUsed, EnsembleMethod.AVERAGE);
      assert.ok([Verdict.FAKE, Verdict.REAL].includes(res.verdict));
      assert.is(res.receivedBytes, BigInt(bytes.length));
      const expected = p > 0.5 ? Verdict.FAKE : Verdict.REAL;
      assert.is(res.verdict, expected);
      assert.ok(Math.abs(res.confidenceInVerdict - (expected === Verdict.FAKE ? p : 1 - p)) < 1e-12);
    }
  });
}

test("plain grpc-js client gets the same scores as Connect for the same file", async () => {
  const viaConnect = await detectVia(connectClient(mesh.gatewayUrl), jpeg, { includeRandomWeights: true });
  const viaGrpc = await detectGrpcJs(gatewayAddress(), jpeg, { includeRandomWeights: true });
  assert.is(viaGrpc.modelResults[0]!.prediction!.probabilityFake, viaConnect.modelResults[0]!.prediction!.probabilityFake);
});

test("random weights alone never make a verdict unless asked for", async () => {
  const res = await detectVia(connectClient(mesh.gatewayUrl), png, {});
  assert.is(res.verdict, Verdict.UNDETERMINED);
  assert.is(res.ensembleScore, undefined);
  assert.is(res.modelResults[0]!.usedInVerdict, false);
  assert.ok(res.modelResults[0]!.prediction!.prediction !== Prediction.UNSPECIFIED);
  assert.match(res.note, /random/i);
});

test("bad inputs get typed errors and no process dies", async () => {
  const client = connectClient(mesh.gatewayUrl);
  await expectConnectError(detectVia(client, jpeg.subarray(0, Math.floor(jpeg.length / 3)), { mimeType: "image/jpeg" }), Code.InvalidArgument);
  await expectConnectError(detectVia(client, randomBytes(4096), { mimeType: "image/png", mediaType: MediaType.IMAGE }), Code.InvalidArgument);
  await expectConnectError(detectVia(client, pixelBomb(), { mimeType: "image/png" }), Code.InvalidArgument, /pixel|limit/i);
  const limit = loadRegistry().media.image.max_upload_bytes;
  const oversized = Buffer.concat([jpeg, Buffer.alloc(limit)]);
  await expectConnectError(detectVia(client, oversized, { declaredSize: 0n }), Code.ResourceExhausted);
  await expectConnectError(detectVia(client, jpeg, { declaredSize: BigInt(limit + 1) }), Code.ResourceExhausted);
  await expectConnectError(detectVia(client, new Uint8Array(0), {}), Code.InvalidArgument);
  // Over plain gRPC too, with the status code a gRPC client in any language sees.
  try {
    await detectGrpcJs(gatewayAddress(), randomBytes(2048), { mediaType: 1 });
    assert.unreachable("expected INVALID_ARGUMENT");
  } catch (err) {
    assert.is((err as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
  }
  assertAlive();
  const after = await detectVia(client, jpeg, { includeRandomWeights: true });
  assert.is(after.modelResults[0]!.errorCode, "");
});

test("GetHealth is healthy for image", async () => {
  const res = await connectClient(mesh.gatewayUrl).getHealth({});
  const image = res.mediaTypes.find((m) => m.mediaType === MediaType.IMAGE);
  assert.ok(image);
  assert.is(image.serving, 1);
});

test.run();
