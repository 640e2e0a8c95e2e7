// A hostile (or valid-but-odd) input and what the gateway must answer, per transport.
import { Code } from "@connectrpc/connect";

export type MediaName = "image" | "video" | "audio";

/** A verdict must come back (the input is odd but valid: decoding it is the right answer). */
export interface ExpectVerdict {
  verdict: true;
  /** The media type the gateway must have recognised. */
  media: MediaName;
}

/** A typed error: the gRPC/Connect code, the REST status and error code, and what the message says. */
export interface ExpectError {
  verdict: false;
  code: Code;
  http: number;
  /** REST `code` field (snake_case). */
  httpCode: string;
  message: RegExp;
}

export type Expectation = ExpectVerdict | ExpectError;

export interface HostileCase {
  /** Row of the summary table, e.g. "truncated image". */
  kind: string;
  /** Unique, says what this one is. */
  name: string;
  bytes: Buffer;
  /** Client claims, which must never override what the bytes are. */
  fileName?: string;
  mime?: string;
  expect: Expectation;
  /** REST may differ: it sniffs the upload itself (415 for unknown bytes, 400 empty_media). */
  rest?: Expectation;
  /** Only over these transports (default: all four). */
  transports?: Transport[];
}

export type Transport = "connect" | "grpc" | "grpc-web" | "rest";

/** The framed RPC protocols (everything but REST). */
export type RpcTransport = Exclude<Transport, "rest">;
export const RPC_TRANSPORTS: RpcTransport[] = ["connect", "grpc", "grpc-web"];
export const TRANSPORTS: Transport[] = [...RPC_TRANSPORTS, "rest"];

export const verdict = (media: MediaName): ExpectVerdict => ({ verdict: true, media });

/** Every detector refused the media as malformed: INVALID_ARGUMENT / 400. */
export const rejected = (message: RegExp): ExpectError => ({ verdict: false, code: Code.InvalidArgument, http: 400, httpCode: "invalid_argument", message });

/** The gateway cannot tell what the bytes are: INVALID_ARGUMENT over gRPC, 415 over REST. */
export const unrecognised: Pick<HostileCase, "expect" | "rest"> = {
  expect: { verdict: false, code: Code.InvalidArgument, http: 400, httpCode: "invalid_argument", message: /cannot tell the media type from the first bytes/ },
  rest: { verdict: false, code: Code.InvalidArgument, http: 415, httpCode: "unsupported_media_type", message: /not a supported image, video or audio format/ },
};

/** Nothing was sent: INVALID_ARGUMENT, REST 400 empty_media. */
export const empty: Pick<HostileCase, "expect" | "rest"> = {
  expect: { verdict: false, code: Code.InvalidArgument, http: 400, httpCode: "invalid_argument", message: /no media bytes were sent/ },
  rest: { verdict: false, code: Code.InvalidArgument, http: 400, httpCode: "empty_media", message: /the file is empty/ },
};
