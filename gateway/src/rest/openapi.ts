// The OpenAPI 3.1 document, generated from the zod schemas that validate the requests (schemas.ts),
// and Swagger UI served offline from the swagger-ui-dist package.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { z } from "zod";
import * as S from "./schemas.js";

type Json = Record<string, unknown>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string) => ({ "application/json": { schema: ref(id) } });
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      {
        description:
          {
            400: "Bad request (bad base64, corrupt media)",
            401: "Missing or invalid credentials",
            403: "Forbidden",
            404: "Not found",
            408: "The upload stalled (nothing received for gateway.upload_idle_timeout_ms)",
            413: "Too large (answered as soon as the limit is crossed)",
            415: "Unsupported media type (decided from the bytes)",
            422: "Invalid fields",
            429: "Too many requests (Retry-After)",
            503: "Unavailable (no detector serving, or MongoDB unreachable)",
          }[c] ?? "Error",
        content: json("Error"),
      },
    ]),
  );
const requestIdHeader = { "X-Request-ID": { description: "Echoes a valid incoming X-Request-ID, else a new UUID.", schema: { type: "string" } } };
const ok = (id: string, description = "OK") => ({ "200": { description, headers: requestIdHeader, content: json(id) } });
const secured = [{ OAuth2PasswordBearer: [] }, { ApiKey: [] }];
const optionalAuth = [...secured, {}];

function componentSchemas(): Json {
  const out = z.toJSONSchema(z.globalRegistry, {
    uri: (id) => `#/components/schemas/${id}`,
    io: "input",
    unrepresentable: "any",
    target: "draft-2020-12",
  }) as { schemas: Record<string, Json> };
  for (const s of Object.values(out.schemas)) {
    delete s.$schema;
    delete s.$id;
  }
  return out.schemas;
}

export function openApiDocument(version: string): Json {
  // Touch the module so every schema with an id is registered before generation.
  void S.ErrorBody;
  return {
    openapi: "3.1.0",
    info: {
      title: "DeepSafe API",
      version,
      description:
        "Deepfake detection for images, video and audio. The same API is available typed over Connect, gRPC and gRPC-Web " +
        "(`deepsafe.v1.DeepSafeService` on the same port). Paths and field names follow the original DeepSafe, " +
        "so its scripts keep working; every response carries `X-Request-ID`, and every error `{detail, code, request_id}`.",
      license: { name: "see repository" },
    },
    servers: [{ url: "/" }],
    tags: [{ name: "detection" }, { name: "accounts" }, { name: "history" }, { name: "service" }],
    paths: {
      "/": { get: { tags: ["service"], summary: "Service information", operationId: "root", responses: ok("RootInfo") } },
      "/health": {
        get: {
          tags: ["service"],
          summary: "Health per media type and model (cached grpc.health.v1 checks; never waits on an inference)",
          operationId: "health",
          responses: { ...ok("Health"), "503": { description: "No detector is serving", content: json("Health") } },
        },
      },
      "/predict": {
        post: {
          tags: ["detection"],
          summary: "Detect from base64 media in JSON (the original's /predict)",
          operationId: "predict",
          security: optionalAuth,
          requestBody: { required: true, content: json("PredictRequest") },
          responses: { ...ok("PredictResponse"), ...errors(400, 401, 413, 415, 422, 429, 503) },
        },
      },
      "/detect": {
        post: {
          tags: ["detection"],
          summary: "Detect from an uploaded file (multipart), streamed to the detectors as it arrives",
          description:
            "With `Accept: application/vnd.deepsafe.v1.detect-response+json` the answer is the typed deepsafe.v1.DetectResponse " +
            "in proto3 JSON (what Connect's Detect returns, with per-frame and per-window scores) instead of DetectResult: " +
            "browsers cannot client-stream Detect, so the dashboard uploads here.",
          operationId: "detect",
          security: optionalAuth,
          parameters: [
            { name: "threshold", in: "query", required: false, schema: { type: "number", minimum: 0, maximum: 1 } },
            { name: "ensemble_method", in: "query", required: false, schema: ref("EnsembleMethod") },
            { name: "models", in: "query", required: false, schema: { type: "string" }, description: "Comma-separated model names." },
          ],
          requestBody: { required: true, content: { "multipart/form-data": { schema: ref("DetectForm") } } },
          responses: { ...ok("DetectResult"), ...errors(400, 401, 408, 413, 415, 422, 429, 503) },
        },
      },
      "/register": {
        post: {
          tags: ["accounts"],
          summary: "Create an account; returns a token",
          operationId: "register",
          requestBody: {
            required: true,
            content: { "application/x-www-form-urlencoded": { schema: ref("RegisterForm") }, "application/json": { schema: ref("RegisterForm") } },
          },
          responses: { ...ok("Token"), ...errors(400, 403, 422, 429, 503) },
        },
      },
      "/token": {
        post: {
          tags: ["accounts"],
          summary: "Log in (OAuth2 password form); rate-limited per username and client",
          operationId: "token",
          requestBody: { required: true, content: { "application/x-www-form-urlencoded": { schema: ref("TokenForm") } } },
          responses: { ...ok("Token"), ...errors(401, 422, 429, 503) },
        },
      },
      "/users/me": {
        get: { tags: ["accounts"], summary: "The current user", operationId: "me", security: secured, responses: { ...ok("User"), ...errors(401, 503) } },
      },
      "/history": {
        get: {
          tags: ["history"],
          summary: "Your analyses, newest first",
          operationId: "history",
          security: secured,
          parameters: [
            { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1 }, description: "Capped at the configured maximum page size." },
            { name: "offset", in: "query", required: false, schema: { type: "integer", minimum: 0, default: 0 } },
            { name: "media_type", in: "query", required: false, schema: ref("MediaType") },
          ],
          responses: { ...ok("HistoryPage"), ...errors(401, 422, 503) },
        },
      },
      "/history/{request_id}": {
        get: {
          tags: ["history"],
          summary: "One of your analyses, with the full response",
          operationId: "historyRecord",
          security: secured,
          parameters: [{ name: "request_id", in: "path", required: true, schema: { type: "string" } }],
          responses: { ...ok("HistoryDetail"), ...errors(401, 404, 503) },
        },
      },
      "/metrics": {
        get: {
          tags: ["service"],
          summary: "Prometheus metrics",
          operationId: "metrics",
          responses: { "200": { description: "Prometheus text format", content: { "text/plain": { schema: { type: "string" } } } } },
        },
      },
    },
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        OAuth2PasswordBearer: { type: "oauth2", flows: { password: { tokenUrl: "/token", scopes: {} } } },
        ApiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
      },
    },
  };
}

// ---------- Swagger UI ----------

const uiDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/** Files of swagger-ui-dist that /docs serves, with their content types. */
const UI_FILES: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "index.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
  "oauth2-redirect.html": "text/html; charset=utf-8",
  "oauth2-redirect.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
  "favicon-16x16.png": "image/png",
};

const DOCS_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<title>DeepSafe API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="stylesheet" href="/docs/index.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT_JS = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    oauth2RedirectUrl: window.location.origin + "/docs/oauth2-redirect.html",
  });
};
`;

const cache = new Map<string, Buffer>();

/** A /docs asset: [content type, bytes], or undefined when unknown. */
export function docsAsset(path: string): [string, Buffer] | undefined {
  if (path === "/docs" || path === "/docs/" || path === "/docs/index.html") return ["text/html; charset=utf-8", Buffer.from(DOCS_HTML)];
  if (path === "/docs/init.js") return ["text/javascript; charset=utf-8", Buffer.from(INIT_JS)];
  const name = path.startsWith("/docs/") ? path.slice("/docs/".length) : "";
  const type = UI_FILES[name];
  if (!type) return undefined;
  let bytes = cache.get(name);
  if (!bytes) {
    bytes = readFileSync(join(uiDir, name));
    cache.set(name, bytes);
  }
  return [type, bytes];
}
