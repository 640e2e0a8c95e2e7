// A thin client for one detector: stream a file in chunks, await the answer.
import * as grpc from "@grpc/grpc-js";
import {
  DetectorServiceClient,
  type PredictHeader,
  type PredictResponse,
} from "@deepsafe/proto/grpc/detector";

export const DEFAULT_CHUNK_BYTES = 64 * 1024;

export function createDetectorClient(address: string): DetectorServiceClient {
  return new DetectorServiceClient(address, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": 4 * 1024 * 1024,
    "grpc.max_receive_message_length": 4 * 1024 * 1024,
  });
}

export interface PredictCall {
  header: Partial<PredictHeader>;
  bytes: Buffer;
  chunkBytes?: number;
  deadlineMs?: number;
}

/** Send header + chunks with backpressure; resolves with the response or rejects with the ServiceError. */
export function predictBytes(client: DetectorServiceClient, call: PredictCall): Promise<PredictResponse> {
  const chunkBytes = call.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  return new Promise((resolve, reject) => {
    const options = call.deadlineMs ? { deadline: Date.now() + call.deadlineMs } : {};
    const stream = client.predict(new grpc.Metadata(), options, (err, response) => (err ? reject(err) : resolve(response)));
    const header: PredictHeader = {
      requestId: "",
      mediaType: 0,
      mimeType: "",
      declaredSize: call.bytes.length,
      options: {},
      fileName: "",
      ...call.header,
    };
    stream.write({ payload: { $case: "header", value: header } });
    let offset = 0;
    const pump = () => {
      while (offset < call.bytes.length) {
        const chunk = call.bytes.subarray(offset, offset + chunkBytes);
        offset += chunk.length;
        if (!stream.write({ payload: { $case: "chunk", value: chunk } })) {
          stream.once("drain", pump);
          return;
        }
      }
      stream.end();
    };
    pump();
  });
}
