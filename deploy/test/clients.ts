// Clients for the gateway's public API, one per protocol, for tests and benchmarks.
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  DeepSafeService,
  type DetectHeaderSchema,
  type DetectRequestSchema,
  type DetectResponse,
} from "@deepsafe/proto/es/gateway";
import {
  DeepSafeServiceClient,
  type DetectHeader as GrpcDetectHeader,
  type DetectResponse as GrpcDetectResponse,
} from "@deepsafe/proto/grpc/gateway";

export type Protocol = "connect" | "grpc" | "grpc-web";

export function connectClient(baseUrl: string, protocol: Protocol = "connect"): Client<typeof DeepSafeService> {
  const options = { baseUrl, httpVersion: "2" as const };
  const transport =
    protocol === "grpc" ? createGrpcTransport(options) : protocol === "grpc-web" ? createGrpcWebTransport(options) : createConnectTransport(options);
  return createClient(DeepSafeService, transport);
}

type HeaderInit = MessageInitShape<typeof DetectHeaderSchema>;

async function* detectMessages(header: HeaderInit, bytes: Uint8Array, chunkBytes: number): AsyncIterable<MessageInitShape<typeof DetectRequestSchema>> {
  yield { payload: { case: "header", value: header } };
  for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
    yield { payload: { case: "chunk", value: bytes.subarray(offset, offset + chunkBytes) } };
  }
}

/** Stream a file to Detect over Connect, gRPC or gRPC-Web (all via connect-node, HTTP/2). */
export function detectVia(
  client: Client<typeof DeepSafeService>,
  bytes: Uint8Array,
  header: HeaderInit = {},
  chunkBytes = 64 * 1024,
): Promise<DetectResponse> {
  return client.detect(detectMessages({ declaredSize: BigInt(bytes.length), ...header }, bytes, chunkBytes));
}

/** The same over plain grpc-js (what a non-Connect gRPC client in any language does). */
export function detectGrpcJs(
  address: string,
  bytes: Buffer,
  header: Partial<GrpcDetectHeader> = {},
  chunkBytes = 64 * 1024,
): Promise<GrpcDetectResponse> {
  const client = new DeepSafeServiceClient(address, grpc.credentials.createInsecure());
  return new Promise<GrpcDetectResponse>((resolve, reject) => {
    const call = client.detect((err, res) => {
      client.close();
      err ? reject(err) : resolve(res);
    });
    call.write({
      payload: {
        $case: "header",
        value: {
          requestId: "", mediaType: 0, mimeType: "", fileName: "", declaredSize: bytes.length,
          ensembleMethod: 0, models: [], includeRandomWeights: false, ...header,
        },
      },
    });
    let offset = 0;
    const pump = () => {
      while (offset < bytes.length) {
        const chunk = bytes.subarray(offset, offset + chunkBytes);
        offset += chunk.length;
        if (!call.write({ payload: { $case: "chunk", value: chunk } })) return void call.once("drain", pump);
      }
      call.end();
    };
    pump();
  });
}

