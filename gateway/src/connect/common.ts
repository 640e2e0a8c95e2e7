// What the Connect/gRPC handlers share: who is calling (same headers and rules as REST), the
// client address (for rate limits), and errors as typed Connect codes, never internals.
import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { z } from "zod";
import { AuthError, type Authenticator, type Principal } from "../auth/index.js";
import { isConnectivityError } from "../db.js";
import { storeUnavailable } from "../service-error.js";

/** The TCP peer of the call, set by the server's connectNodeAdapter (contextValues). */
export const REMOTE_ADDRESS = createContextKey<string>("unknown", { description: "client address" });

export const addressOf = (ctx: HandlerContext): string => ctx.values.get(REMOTE_ADDRESS);

const header = (ctx: HandlerContext) => (name: string) => ctx.requestHeader.get(name) ?? undefined;

function authFailure(err: unknown): never {
  if (err instanceof AuthError) throw new ConnectError(err.message, Code.Unauthenticated);
  throw err;
}

/** The caller (authorization: Bearer … or x-api-key), undefined when none was sent; bad credentials are UNAUTHENTICATED. */
export function callerOf(auth: Authenticator, ctx: HandlerContext): Promise<Principal | undefined> {
  return auth.identify(header(ctx)).catch(authFailure);
}

/** The caller, or UNAUTHENTICATED. */
export function requireCaller(auth: Authenticator, ctx: HandlerContext): Promise<Principal> {
  return auth.require(header(ctx)).catch(authFailure);
}

/** A zod failure as INVALID_ARGUMENT naming the fields (proto field names). */
export function invalidArgument(error: z.ZodError): ConnectError {
  return new ConnectError(error.issues.map((i) => `${i.path.map(String).join(".") || "request"}: ${i.message}`).join("; "), Code.InvalidArgument);
}

/**
 * Runs a handler body: ConnectErrors (ServiceError included) pass as they are, MongoDB being away is
 * UNAVAILABLE, anything else is logged and answered INTERNAL without its message.
 */
export async function guard<T>(log: (msg: string) => void, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    if (isConnectivityError(err)) throw storeUnavailable(what);
    log(`connect: ${what} failed: ${(err as Error)?.stack ?? err}`);
    throw new ConnectError("internal error", Code.Internal);
  }
}
