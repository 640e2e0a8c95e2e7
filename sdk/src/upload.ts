// Reassemble a client-streamed upload (header, then chunks) with the size limit enforced as it streams.
import type { ServerReadableStream } from "@grpc/grpc-js";
import type { PredictHeader, PredictRequest, PredictResponse } from "@deepsafe/proto/grpc/detector";
import { InvalidMediaError, ResourceExhaustedError } from "./errors.js";

export interface Upload {
  header: PredictHeader;
  bytes: Buffer;
  receiveSeconds: number;
}

export async function receiveUpload(
  call: ServerReadableStream<PredictRequest, PredictResponse>,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Upload> {
  // Deadline, cancellation or a stalled client: end the read loop instead of waiting forever.
  const onAbort = () => call.destroy(signal.reason instanceof Error ? signal.reason : undefined);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    let header: PredictHeader | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let firstChunkAt = 0;
    for await (const message of call as AsyncIterable<PredictRequest>) {
      const payload = message.payload;
      if (!header) {
        if (payload?.$case !== "header") throw new InvalidMediaError("the first message must be a header");
        header = payload.value;
        if (header.declaredSize > maxBytes) throw tooLarge(header.declaredSize, maxBytes);
        continue;
      }
      if (payload?.$case !== "chunk") throw new InvalidMediaError("only chunks may follow the header");
      if (size === 0) firstChunkAt = performance.now();
      size += payload.value.length;
      if (size > maxBytes) throw tooLarge(size, maxBytes);
      chunks.push(payload.value);
    }
    if (signal.aborted) throw signal.reason;
    if (!header) throw new InvalidMediaError("the stream ended before the header");
    if (size === 0) throw new InvalidMediaError("empty upload");
    return {
      header,
      bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size),
      receiveSeconds: (performance.now() - firstChunkAt) / 1000,
    };
  } catch (err) {
    throw signal.aborted ? signal.reason : err;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

function tooLarge(size: number, maxBytes: number): ResourceExhaustedError {
  return new ResourceExhaustedError(`upload of ${size} bytes is over the limit of ${maxBytes} bytes`);
}
