// Uploads that stop sending: a client that opens a Detect stream (or a multipart body) and then goes
// silent would otherwise hold its connection, its detector calls and its memory for as long as it
// likes (slow-loris). Every wait for the next piece of an upload is bounded; a slow but steady
// client is fine, since the clock restarts with each piece.
import { Code } from "@connectrpc/connect";
import { ServiceError } from "./service-error.js";

/** DEADLINE_EXCEEDED over Connect/gRPC, 408 request_timeout over REST. */
export function uploadStalled(idleMs: number): ServiceError {
  return new ServiceError(`no upload data for ${idleMs / 1000} s: the upload stalled and was ended`, Code.DeadlineExceeded, {
    httpStatus: 408,
    httpCode: "request_timeout",
  });
}

/** `next` (the wait for the next piece), failing with uploadStalled() when nothing comes within idleMs. */
export function nextWithin<T>(next: Promise<T>, idleMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(uploadStalled(idleMs)), idleMs);
  });
  next.catch(() => {}); // it may still settle (or fail) after we gave up on it
  return Promise.race([next, stalled]).finally(() => clearTimeout(timer));
}
