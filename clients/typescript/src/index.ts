// @deepsafe/client: the gateway's public API for Node (Connect, gRPC or gRPC-Web), with a streaming
// detectFile() helper. The `deepsafe` command is src/cli.ts.
export { createDeepSafeClient, type ClientOptions, type DeepSafeClient, type Protocol } from "./client.js";
export { detectFile, detectBytes, ENSEMBLE_METHODS, DEFAULT_CHUNK_BYTES, type DetectOptions, type EnsembleName } from "./detect.js";
export { toJson, toText } from "./format.js";
export { DeepSafeService, Verdict, EnsembleMethod, type DetectResponse } from "@deepsafe/proto/es/gateway";
