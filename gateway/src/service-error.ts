// Errors of the operations shared by the REST API and Connect/gRPC (accounts, history). A
// ServiceError is a ConnectError, so Connect handlers can let it through as is; the REST router
// turns it into its HTTP status (rest/errors.ts), where `rest` keeps the answers the original
// DeepSafe gave (400 for a taken username, for example). Its name stays "ConnectError": Connect
// recognises its errors by that name.
import { Code, ConnectError } from "@connectrpc/connect";

export interface ServiceErrorOptions {
  /** Seconds the client should wait: Retry-After over REST and in the Connect/gRPC metadata. */
  retryAfterS?: number;
  /** REST status when it differs from the usual mapping of the code. */
  httpStatus?: number;
  /** REST error code when it differs from the code's snake_case name. */
  httpCode?: string;
}

export class ServiceError extends ConnectError {
  constructor(
    message: string,
    code: Code,
    readonly options: ServiceErrorOptions = {},
  ) {
    super(message, code, options.retryAfterS ? { "retry-after": String(options.retryAfterS) } : undefined);
  }

  // ConnectError's instanceof is structural (any error named "ConnectError" passes) and static
  // methods are inherited: without this, every ConnectError would pass `instanceof ServiceError`.
  static override [Symbol.hasInstance](v: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(ServiceError, v);
  }
}

/** Accounts or history asked for while no MongoDB is configured or reachable. */
export const storeUnavailable = (what: string) =>
  new ServiceError(`${what} is unavailable: MongoDB is not reachable or not configured`, Code.Unavailable, { retryAfterS: 5 });

export const unauthenticated = (message: string) => new ServiceError(message, Code.Unauthenticated);
