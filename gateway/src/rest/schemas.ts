// The REST API's schemas (zod 4): the same objects validate requests, type the handlers, and
// generate the OpenAPI 3.1 document (openapi.ts). Paths and field names follow the original DeepSafe.
import { z } from "zod";
import { MEDIA_NAMES } from "../registry.js";

export const MediaTypeName = z.enum(MEDIA_NAMES).meta({ id: "MediaType", description: "Kind of media." });
export const EnsembleName = z
  .enum(["voting", "average", "stacking"])
  .meta({ id: "EnsembleMethod", description: "voting: share of models voting fake; average: mean P(fake); stacking: the deployed meta-learner trained by `npm run retrain` (falls back to average, and says so, when none fits the detectors)." });
export const VerdictName = z
  .enum(["fake", "real", "undetermined"])
  .meta({ id: "Verdict", description: "undetermined: no usable model result, or an exact tie with the threshold." });

const Probability = z.number().min(0).max(1);

/** Models as a list or one comma-separated string (the original's form field). */
const ModelList = z
  .union([z.array(z.string().min(1).max(64)).max(32), z.string().max(2048)])
  .transform((v) => (Array.isArray(v) ? v : v.split(",")).map((s) => s.trim()).filter(Boolean))
  .meta({ description: "Model names; empty = the media type's default models." });

// ---------- POST /predict (JSON, base64 media) ----------

export const PredictRequest = z
  .object({
    media_type: MediaTypeName,
    image_data: z.string().optional().meta({ description: "Base64 image (standard or URL-safe alphabet; a data: URL prefix is accepted)." }),
    video_data: z.string().optional().meta({ description: "Base64 video." }),
    audio_data: z.string().optional().meta({ description: "Base64 audio." }),
    models: ModelList.optional(),
    threshold: Probability.optional().meta({ description: "Threshold on the ensemble score (default: the media type's, 0.5)." }),
    ensemble_method: EnsembleName.optional(),
    include_random_weights: z.boolean().optional().meta({ description: "Let detectors running random test weights vote (tests only)." }),
  })
  .superRefine((body, ctx) => {
    const given = MEDIA_NAMES.filter((m) => body[`${m}_data`] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: "custom", path: [`${body.media_type}_data`], message: "exactly one of image_data, video_data, audio_data is required" });
    } else if (given[0] !== body.media_type) {
      ctx.addIssue({ code: "custom", path: [`${given[0]}_data`], message: `media_type is ${body.media_type}, so send ${body.media_type}_data` });
    }
  })
  .meta({ id: "PredictRequest" });
export type PredictRequest = z.infer<typeof PredictRequest>;

// ---------- POST /detect (multipart, streamed) ----------

/** Form fields of /detect (also accepted as query parameters); the file part is streamed. */
export const DetectFields = z.object({
  threshold: z
    .string()
    .trim()
    .regex(/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/, "a number between 0 and 1")
    .transform(Number)
    .optional(),
  ensemble_method: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(EnsembleName)
    .optional(),
  models: ModelList.optional(),
  include_random_weights: z
    .enum(["true", "false", "1", "0"])
    .transform((v) => v === "true" || v === "1")
    .optional(),
});
export type DetectFields = z.infer<typeof DetectFields>;

/** For the OpenAPI document only: what a client sends to /detect. */
export const DetectForm = z
  .object({
    file: z.file().meta({ description: "The media file. Its type is taken from its bytes (magic numbers), not its name." }),
    threshold: z.number().min(0).max(1).optional(),
    ensemble_method: EnsembleName.optional(),
    models: z.string().optional().meta({ description: "Comma-separated model names." }),
    include_random_weights: z.boolean().optional(),
  })
  .meta({ id: "DetectForm", description: "Send the form fields before the file part (or as query parameters): the file is streamed to the detectors as it arrives." });

// ---------- responses of /predict and /detect ----------

export const ModelResult = z
  .union([
    z.object({
      probability: Probability.meta({ description: "P(fake) from this model." }),
      prediction: z.union([z.literal(0), z.literal(1)]).nullable().meta({ description: "1 fake, 0 real, null when the model abstained." }),
      class: VerdictName,
      inference_time: z.number().meta({ description: "Seconds of model compute." }),
      threshold: z.number(),
      model_version: z.string(),
      weights_kind: z.enum(["unspecified", "official", "project_trained", "random_fixture"]),
      used_in_verdict: z.boolean(),
      note: z.string(),
      call_seconds: z.number().meta({ description: "Seconds the gateway spent on this model (upload forwarding + answer)." }),
      timings: z.object({
        queue_seconds: z.number(),
        receive_seconds: z.number(),
        decode_seconds: z.number(),
        inference_seconds: z.number(),
        total_seconds: z.number(),
      }),
    }),
    z.object({
      error: z.string(),
      error_code: z.string().meta({ description: "gRPC status name, e.g. UNAVAILABLE." }),
      call_seconds: z.number(),
      used_in_verdict: z.literal(false),
    }),
  ])
  .meta({ id: "ModelResult" });

export const PredictResponse = z
  .object({
    request_id: z.string(),
    media_type_processed: MediaTypeName,
    verdict: VerdictName,
    confidence_in_verdict: Probability,
    ensemble_score_is_fake: Probability.nullable(),
    base_model_fake_votes: z.number().int(),
    base_model_real_votes: z.number().int(),
    base_model_total_votes: z.number().int(),
    total_inference_time_seconds: z.number(),
    ensemble_method_requested: EnsembleName.nullable(),
    ensemble_method_used: EnsembleName,
    threshold: Probability,
    note: z.string(),
    model_results: z.record(z.string(), ModelResult),
  })
  .meta({ id: "PredictResponse" });
export type PredictResponse = z.infer<typeof PredictResponse>;

export const DetectResult = z
  .object({
    request_id: z.string(),
    is_likely_deepfake: z.boolean().meta({ description: "verdict == fake." }),
    deepfake_probability: Probability.nullable().meta({ description: "The ensemble score; null when no model gave a usable score." }),
    verdict: VerdictName,
    confidence_in_verdict: Probability,
    model_count: z.number().int(),
    fake_votes: z.number().int(),
    real_votes: z.number().int(),
    response_time: z.number().meta({ description: "Seconds." }),
    ensemble_method_used: EnsembleName,
    threshold: Probability,
    note: z.string(),
    model_results: z.record(z.string(), ModelResult),
    media_type_processed: MediaTypeName,
    filename: z.string(),
    size: z.number().int(),
    sha256: z.string(),
  })
  .meta({ id: "DetectResult" });
export type DetectResult = z.infer<typeof DetectResult>;

// ---------- accounts ----------

export const Username = z
  .string()
  .trim()
  .min(3)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.@+-]*$/, "letters, digits and . _ @ + - only");
export const Password = z.string().min(8, "at least 8 characters").max(256);

export const RegisterForm = z
  .object({
    username: Username,
    password: Password,
    email: z.string().trim().max(254).pipe(z.email()).optional().or(z.literal("").transform(() => undefined)),
    full_name: z.string().trim().max(200).optional(),
  })
  .meta({ id: "RegisterForm" });

export const TokenForm = z
  .object({
    username: z.string().min(1).max(256),
    password: z.string().min(1).max(256),
    grant_type: z.string().optional(),
    scope: z.string().optional(),
  })
  .meta({ id: "TokenForm" });

export const Token = z
  .object({ access_token: z.string(), token_type: z.literal("bearer"), expires_in: z.number().int() })
  .meta({ id: "Token" });

export const User = z
  .object({ username: z.string(), email: z.string().nullable(), full_name: z.string().nullable(), disabled: z.boolean() })
  .meta({ id: "User" });

// ---------- history ----------

export const HistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).optional(),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  media_type: MediaTypeName.optional(),
});

export const HistoryItem = z
  .object({
    id: z.string(),
    request_id: z.string(),
    media_type: MediaTypeName,
    verdict: VerdictName,
    confidence: z.number(),
    ensemble_score: z.number().nullable(),
    file_name: z.string(),
    size: z.number().int(),
    timestamp: z.string().meta({ description: "ISO 8601, UTC." }),
  })
  .meta({ id: "HistoryItem" });

export const HistoryPage = z
  .object({ total: z.number().int(), limit: z.number().int(), offset: z.number().int(), records: z.array(HistoryItem) })
  .meta({ id: "HistoryPage" });

export const HistoryDetail = HistoryItem.extend({
  ensemble_method: EnsembleName,
  sha256: z.string(),
  threshold: z.number(),
  model_results: z.record(z.string(), z.unknown()),
  timings: z.object({ total_seconds: z.number(), models: z.record(z.string(), z.number()) }),
  full_response: z.record(z.string(), z.unknown()),
}).meta({ id: "HistoryDetail" });

// ---------- service info ----------

export const RootInfo = z
  .object({
    name: z.string(),
    version: z.string(),
    message: z.string(),
    configured_media_types: z.array(MediaTypeName),
    model_endpoints_summary: z.record(z.string(), z.array(z.string())),
    stacking_ensemble_loaded_status: z.record(z.string(), z.boolean()),
    documentation_urls: z.record(z.string(), z.string()),
    protocols: z.array(z.string()),
  })
  .meta({ id: "RootInfo" });

export const ModelHealthInfo = z
  .object({
    status: z.enum(["healthy", "not_serving", "unreachable", "unknown"]),
    detail: z.string(),
    address: z.string(),
    default: z.boolean(),
    votes: z.boolean(),
    version: z.string().nullable(),
    weights_kind: z.string().nullable(),
  })
  .meta({ id: "ModelHealth" });

export const HealthInfo = z
  .object({
    overall_api_status: z.enum(["healthy", "degraded", "unavailable"]),
    version: z.string(),
    media_type_details: z.record(
      z.string(),
      z.object({
        status: z.enum(["healthy", "degraded_models", "unavailable", "no_models_configured"]),
        serving: z.number().int(),
        configured: z.number().int(),
        models: z.record(z.string(), ModelHealthInfo),
        stacking_ensemble_loaded: z.boolean(),
      }),
    ),
    history: z.enum(["connected", "unreachable", "disabled"]),
    request_id: z.string(),
  })
  .meta({ id: "Health" });

// ---------- errors ----------

export const ValidationIssue = z.object({ loc: z.array(z.union([z.string(), z.number()])), msg: z.string(), type: z.string() });

export const ErrorBody = z
  .object({
    detail: z.union([z.string(), z.array(ValidationIssue)]).meta({ description: "A message, or the list of invalid fields (422)." }),
    code: z.string().meta({ description: "Machine-readable: invalid_argument, validation_error, unsupported_media_type, payload_too_large, …" }),
    request_id: z.string(),
  })
  .meta({ id: "Error" });

export type RootInfoT = z.infer<typeof RootInfo>;
export type HealthInfoT = z.infer<typeof HealthInfo>;
export type TokenT = z.infer<typeof Token>;
export type UserT = z.infer<typeof User>;
