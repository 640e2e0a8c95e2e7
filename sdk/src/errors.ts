// Typed errors: each maps to one gRPC status so clients can tell bad input from overload or outage.
import { status } from "@grpc/grpc-js";

export class DetectorError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The media is malformed, of the wrong type, or outside the model's limits (INVALID_ARGUMENT). */
export class InvalidMediaError extends DetectorError {
  constructor(message: string) {
    super(status.INVALID_ARGUMENT, message);
  }
}

/** Too large, or no room in the queue (RESOURCE_EXHAUSTED). */
export class ResourceExhaustedError extends DetectorError {
  constructor(message: string) {
    super(status.RESOURCE_EXHAUSTED, message);
  }
}

/** The model cannot serve now: not loaded, failed to load, or draining (UNAVAILABLE). */
export class UnavailableError extends DetectorError {
  constructor(message: string) {
    super(status.UNAVAILABLE, message);
  }
}

export class DeadlineExceededError extends DetectorError {
  constructor(message: string) {
    super(status.DEADLINE_EXCEEDED, message);
  }
}

export class CancelledError extends DetectorError {
  constructor(message: string) {
    super(status.CANCELLED, message);
  }
}

/** Map anything thrown to a DetectorError; unknown errors become INTERNAL without leaking internals. */
export function toDetectorError(err: unknown): DetectorError {
  if (err instanceof DetectorError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DetectorError(status.INTERNAL, `internal error: ${message.slice(0, 300)}`);
}
