// One history record from a finished detection (whatever API it came through).
import type { DetectResponse } from "@deepsafe/proto/es/gateway";
import { ENSEMBLE_NAME, predictJson, VERDICT_NAME } from "../rest/convert.js";
import { mediaName } from "../registry.js";
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
    created_at: info.createdAt.toISOString(),
  };
}
