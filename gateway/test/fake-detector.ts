// A throwaway detector for gateway tests: a grpc-js server speaking deepsafe.v1.DetectorService
// and grpc.health.v1, answering with a configurable probability, error or delay.
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import {
  DetectorServiceService,
  type DetectorServiceServer,
  type PredictHeader,
} from "@deepsafe/proto/grpc/detector";
import { MediaType, Prediction, WeightsKind } from "@deepsafe/proto/grpc/common";

export interface FakeBehavior {
  probability?: number;
  /** Overrides the thresholded prediction (e.g. UNDETERMINED). */
  prediction?: Prediction;
  weightsKind?: WeightsKind;
  mediaType?: MediaType;
  /** Fail every Predict with this status once the upload ended. */
  error?: { code: grpc.status; message: string };
  /** Wait this long after the upload before answering. */
  delayMs?: number;
  /** Never answer (the gateway's deadline must end the call). */
  hang?: boolean;
  /** Stop reading the upload for this long after the header (exercises backpressure). */
  pauseMs?: number;
  /** Health status to report. */
  serving?: boolean;
}

export interface FakeDetector {
  name: string;
  address: string;
  port: number;
  behavior: FakeBehavior;
  /** Per call: bytes received, header, whether the caller cancelled. */
  calls: { bytes: number; chunks: number; header?: PredictHeader; cancelled: boolean; ended: boolean }[];
  stop(): Promise<void>;
  /** Start again on the same port (after stop). */
  restart(): Promise<void>;
}

export async function startFakeDetector(name: string, behavior: FakeBehavior = {}, port = 0): Promise<FakeDetector> {
  let server: grpc.Server | undefined;
  const fake: FakeDetector = {
    name,
    address: "",
    port,
    behavior,
    calls: [],
    async stop() {
      server?.forceShutdown();
      server = undefined;
    },
    async restart() {
      await listen(fake.port);
    },
  };

  const impl: DetectorServiceServer = {
    getModelInfo(_call, cb) {
      cb(null, {
        model: {
          name,
          version: "0.0.1",
          mediaType: fake.behavior.mediaType ?? MediaType.MEDIA_TYPE_IMAGE,
          description: "fake detector for tests",
          defaultThreshold: 0.5,
          weights: {
            kind: fake.behavior.weightsKind ?? WeightsKind.WEIGHTS_KIND_OFFICIAL,
            source: "test",
            checkpointSha256: "",
            onnxSha256: "",
            license: "MIT",
            description: "",
          },
          paper: "",
          license: "MIT",
          loadSeconds: 0.01,
        },
      });
    },
    predict(call, cb) {
      const rec: FakeDetector["calls"][number] = { bytes: 0, chunks: 0, cancelled: false, ended: false };
      fake.calls.push(rec);
      call.on("data", (msg: { payload?: { $case: string; value: unknown } }) => {
        if (msg.payload?.$case === "header") {
          rec.header = msg.payload.value as PredictHeader;
          if (fake.behavior.pauseMs) {
            call.pause();
            setTimeout(() => call.resume(), fake.behavior.pauseMs);
          }
        }
        else if (msg.payload?.$case === "chunk") {
          rec.bytes += (msg.payload.value as Buffer).length;
          rec.chunks++;
        }
      });
      call.on("cancelled", () => (rec.cancelled = true));
      call.on("error", () => {});
      call.on("end", () => {
        rec.ended = true;
        const b = fake.behavior;
        if (b.hang) return;
        setTimeout(() => {
          if (b.error) return cb({ code: b.error.code, details: b.error.message });
          const p = b.probability ?? 0.5;
          const threshold = rec.header?.threshold ?? 0.5;
          cb(null, {
            modelName: name,
            modelVersion: "0.0.1",
            probabilityFake: p,
            prediction: b.prediction ?? (p >= threshold ? Prediction.PREDICTION_FAKE : Prediction.PREDICTION_REAL),
            threshold,
            segments: [],
            weightsKind: b.weightsKind ?? WeightsKind.WEIGHTS_KIND_OFFICIAL,
            note: "",
          });
        }, b.delayMs ?? 0);
      });
    },
  };

  async function listen(p: number): Promise<void> {
    server = new grpc.Server();
    server.addService(DetectorServiceService, impl);
    const health = new HealthImplementation({ "": "SERVING", "deepsafe.v1.DetectorService": fake.behavior.serving === false ? "NOT_SERVING" : "SERVING" });
    health.addToServer(server);
    fake.port = await new Promise<number>((resolve, reject) =>
      server!.bindAsync(`127.0.0.1:${p}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    fake.address = `127.0.0.1:${fake.port}`;
  }

  await listen(port);
  return fake;
}
