// REST errors: every error body is {detail, code, request_id}; validation errors list the fields
// (FastAPI style: [{loc, msg, type}]) so scripts written for the original keep working.
import { Code, ConnectError } from "@connectrpc/connect";
import type { z } from "zod";
import { DatabaseUnavailableError, isConnectivityError } from "../db.js";
import { ServiceError } from "../service-error.js";

export type Issue = { loc: (string | number)[]; msg: string; type: string };

export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string | Issue[],
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof detail === "string" ? detail : detail.map((i) => `${i.loc.join(".")}: ${i.msg}`).join("; "));
  }
}

export const badRequest = (detail: string, code = "bad_request") => new HttpError(400, code, detail);
export const unauthorized = (detail: string) => new HttpError(401, "unauthenticated", detail, { "WWW-Authenticate": "Bearer" });
export const notFound = (detail: string) => new HttpError(404, "not_found", detail);
export const tooLarge = (detail: string) => new HttpError(413, "payload_too_large", detail);
export const unsupportedMedia = (detail: string) => new HttpError(415, "unsupported_media_type", detail);
export const invalidField = (loc: (string | number)[], msg: string) => new HttpError(422, "validation_error", [{ loc, msg, type: "value_error" }]);
export const historyUnavailable = (what = "history") =>
  new HttpError(503, "unavailable", `${what} is unavailable: MongoDB is not reachable or not configured`, { "Retry-After": "5" });

/** A zod failure as a 422 with FastAPI-style locations (body / query / form). */
export function fromZod(error: z.ZodError, where: "body" | "query" | "form"): HttpError {
  return new HttpError(
    422,
    "validation_error",
    error.issues.map((i) => ({ loc: [where, ...i.path.map((p) => (typeof p === "symbol" ? String(p) : p))], msg: i.message, type: i.code })),
  );
}

/** Connect ↔ HTTP (serving conventions), with the gateway's own meaning of some codes. */
const STATUS_OF: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400, // bad media (the fields were validated before: those are 422)
  [Code.FailedPrecondition]: 400,
  [Code.OutOfRange]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.Aborted]: 409,
  [Code.ResourceExhausted]: 429,
  [Code.Canceled]: 499,
  [Code.Unimplemented]: 501,
  [Code.Unavailable]: 503,
  [Code.DeadlineExceeded]: 504,
};

function snake(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** Any error thrown while handling a request, as an HttpError (never leaking internals for 500s). */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ServiceError) {
    // Accounts and history: the status and headers REST has always given for these answers.
    const status = err.options.httpStatus ?? STATUS_OF[err.code] ?? 500;
    const headers: Record<string, string> = {};
    if (err.options.retryAfterS) headers["Retry-After"] = String(err.options.retryAfterS);
    if (status === 401) headers["WWW-Authenticate"] = "Bearer";
    return new HttpError(status, err.options.httpCode ?? snake(err.code), err.rawMessage, headers);
  }
  if (err instanceof DatabaseUnavailableError || isConnectivityError(err)) return historyUnavailable("this endpoint");
  if (err instanceof ConnectError) {
    const status = STATUS_OF[err.code] ?? 500;
    const headers: Record<string, string> = status === 429 || status === 503 ? { "Retry-After": "1" } : {};
    return new HttpError(status, snake(err.code), status === 500 ? "internal error" : err.rawMessage, headers);
  }
  return new HttpError(500, "internal", "internal error");
}

/** The outcome label used in metrics for an error. */
export function outcomeOf(err: unknown): string {
  if (err instanceof HttpError) return err.code;
  if (err instanceof ConnectError) return snake(err.code);
  return "internal";
}
