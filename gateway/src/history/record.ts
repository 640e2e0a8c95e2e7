// One history record from a finished detection (whatever API it came through), and the typed
// DetectResponse back from a stored record (HistoryService.GetAnalysis).
import { create, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { Prediction, WeightsKind } from "@deepsafe/proto/es/common";
import {
  DetectResponseSchema,
  EnsembleMethod,
  ModelResultSchema,
  Verdict,
  type DetectResponse,
  type ModelResult,
} from "@deepsafe/proto/es/gateway";
import { ENSEMBLE_NAME, predictJson, VERDICT_NAME } from "../rest/convert.js";
import type { PredictResponse } from "../rest/schemas.js";
import { ENSEMBLE_OF, MEDIA_TYPE_OF, mediaName, type MediaName } from "../registry.js";
import type { HistoryRecord } from "./store.js";

export function historyRecord(
  res: DetectResponse,
  info: { user: string | null; method: string; size: number; sha256: string; createdAt: Date },
): HistoryRecord {
  const full = predictJson(res);
  return {
    request_id: res.requestId,
    user: info.user,
    method: info.method,
    media_type: mediaName(res.mediaType) ?? "unknown",
    file_name: res.fileName,
    size: info.size,
    sha256: info.sha256,
    verdict: VERDICT_NAME[res.verdict],
    confidence: res.confidenceInVerdict,
    ensemble_score: res.ensembleScore ?? null,
    ensemble_method: ENSEMBLE_NAME[res.ensembleMethodUsed] ?? "average",
    ensemble_method_requested: ENSEMBLE_NAME[res.ensembleMethodRequested],
    threshold: res.threshold,
    note: res.note,
    model_results: full.model_results,
    timings: {
      total_seconds: res.totalSeconds,
      models: Object.fromEntries(res.modelResults.map((r) => [r.model, r.callSeconds])),
    },
    full_response: full as unknown as Record<string, unknown>,
    detect_response: toJson(DetectResponseSchema, res) as Record<string, unknown>,
    created_at: info.createdAt.toISOString(),
  };
}

export const VERDICT_OF: Record<HistoryRecord["verdict"], Verdict> = {
  fake: Verdict.FAKE,
  real: Verdict.REAL,
  undetermined: Verdict.UNDETERMINED,
};

const ensembleOf = (name: string | null | undefined): EnsembleMethod =>
  name && name in ENSEMBLE_OF ? ENSEMBLE_OF[name as keyof typeof ENSEMBLE_OF] : EnsembleMethod.UNSPECIFIED;

export const mediaTypeOfName = (name: string) => MEDIA_TYPE_OF[name as MediaName] ?? 0;

const WEIGHTS_OF: Record<string, WeightsKind> = {
  official: WeightsKind.OFFICIAL,
  project_trained: WeightsKind.PROJECT_TRAINED,
  random_fixture: WeightsKind.RANDOM_FIXTURE,
};

/**
 * The DetectResponse of a stored record: exactly as returned when the record has it, else rebuilt
 * from the REST shape (older records; per-segment scores and logits were not kept there).
 */
export function detectResponseOf(r: HistoryRecord): DetectResponse {
  if (r.detect_response) return fromJson(DetectResponseSchema, r.detect_response as JsonValue, { ignoreUnknownFields: true });
  const f = r.full_response as Partial<PredictResponse>;
  const modelResults: ModelResult[] = Object.entries(f.model_results ?? {}).map(([model, m]) => {
    if ("error_code" in m) {
      const prefix = `${m.error_code}: `;
      return create(ModelResultSchema, {
        model,
        errorCode: m.error_code,
        errorMessage: m.error.startsWith(prefix) ? m.error.slice(prefix.length) : m.error,
        callSeconds: m.call_seconds,
      });
    }
    const weightsKind = WEIGHTS_OF[m.weights_kind] ?? WeightsKind.UNSPECIFIED;
    return create(ModelResultSchema, {
      model,
      prediction: {
        modelName: model,
        modelVersion: m.model_version,
        probabilityFake: m.probability,
        prediction: m.class === "fake" ? Prediction.FAKE : m.class === "real" ? Prediction.REAL : Prediction.UNDETERMINED,
        threshold: m.threshold,
        timings: {
          queueSeconds: m.timings.queue_seconds,
          receiveSeconds: m.timings.receive_seconds,
          decodeSeconds: m.timings.decode_seconds,
          inferenceSeconds: m.timings.inference_seconds,
          totalSeconds: m.timings.total_seconds,
        },
        weightsKind,
        note: m.note,
      },
      callSeconds: m.call_seconds,
      usedInVerdict: m.used_in_verdict,
      weightsKind,
    });
  });
  return create(DetectResponseSchema, {
    requestId: r.request_id,
    mediaType: mediaTypeOfName(r.media_type),
    verdict: VERDICT_OF[r.verdict] ?? Verdict.UNSPECIFIED,
    confidenceInVerdict: r.confidence,
    ensembleScore: r.ensemble_score ?? undefined,
    ensembleMethodRequested: ensembleOf(r.ensemble_method_requested),
    ensembleMethodUsed: ensembleOf(r.ensemble_method),
    note: r.note ?? "",
    threshold: r.threshold,
    fakeVotes: f.base_model_fake_votes ?? 0,
    realVotes: f.base_model_real_votes ?? 0,
    totalVotes: f.base_model_total_votes ?? 0,
    modelResults,
    totalSeconds: r.timings?.total_seconds ?? f.total_inference_time_seconds ?? 0,
    receivedBytes: BigInt(r.size ?? 0),
    fileName: r.file_name ?? "",
  });
}
