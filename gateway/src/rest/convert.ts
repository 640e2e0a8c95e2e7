// The typed DetectResponse (what Connect/gRPC clients get) in the original DeepSafe's JSON shapes.
import { Prediction, WeightsKind } from "@deepsafe/proto/es/common";
import { EnsembleMethod, Verdict, type DetectResponse, type ModelResult as PbModelResult } from "@deepsafe/proto/es/gateway";
import { mediaName } from "../registry.js";
import type { z } from "zod";
import type { DetectResult, ModelResult, PredictResponse } from "./schemas.js";

type ModelResultJson = z.infer<typeof ModelResult>;

export const VERDICT_NAME: Record<Verdict, "fake" | "real" | "undetermined"> = {
  [Verdict.UNSPECIFIED]: "undetermined",
  [Verdict.FAKE]: "fake",
  [Verdict.REAL]: "real",
  [Verdict.UNDETERMINED]: "undetermined",
};

export const ENSEMBLE_NAME: Record<EnsembleMethod, "voting" | "average" | "stacking" | null> = {
  [EnsembleMethod.UNSPECIFIED]: null,
  [EnsembleMethod.VOTING]: "voting",
  [EnsembleMethod.AVERAGE]: "average",
  [EnsembleMethod.STACKING]: "stacking",
};

const WEIGHTS_NAME: Record<WeightsKind, "unspecified" | "official" | "project_trained" | "random_fixture"> = {
  [WeightsKind.UNSPECIFIED]: "unspecified",
  [WeightsKind.OFFICIAL]: "official",
  [WeightsKind.PROJECT_TRAINED]: "project_trained",
  [WeightsKind.RANDOM_FIXTURE]: "random_fixture",
};

export function modelResultJson(r: PbModelResult): ModelResultJson {
  const p = r.prediction;
  if (r.errorCode || !p) {
    return {
      error: `${r.errorCode || "UNKNOWN"}: ${r.errorMessage || "no answer"}`,
      error_code: r.errorCode || "UNKNOWN",
      call_seconds: r.callSeconds,
      used_in_verdict: false,
    };
  }
  const cls = p.prediction === Prediction.FAKE ? "fake" : p.prediction === Prediction.REAL ? "real" : "undetermined";
  const t = p.timings;
  return {
    probability: p.probabilityFake,
    prediction: cls === "fake" ? 1 : cls === "real" ? 0 : null,
    class: cls,
    inference_time: t?.inferenceSeconds ?? 0,
    threshold: p.threshold,
    model_version: p.modelVersion,
    weights_kind: WEIGHTS_NAME[r.weightsKind] ?? "unspecified",
    used_in_verdict: r.usedInVerdict,
    note: p.note,
    call_seconds: r.callSeconds,
    timings: {
      queue_seconds: t?.queueSeconds ?? 0,
      receive_seconds: t?.receiveSeconds ?? 0,
      decode_seconds: t?.decodeSeconds ?? 0,
      inference_seconds: t?.inferenceSeconds ?? 0,
      total_seconds: t?.totalSeconds ?? 0,
    },
  };
}

export function modelResultsJson(res: DetectResponse): Record<string, ModelResultJson> {
  return Object.fromEntries(res.modelResults.map((r) => [r.model, modelResultJson(r)]));
}

/** POST /predict's response. */
export function predictJson(res: DetectResponse): PredictResponse {
  return {
    request_id: res.requestId,
    media_type_processed: mediaName(res.mediaType) ?? "image",
    verdict: VERDICT_NAME[res.verdict],
    confidence_in_verdict: res.confidenceInVerdict,
    ensemble_score_is_fake: res.ensembleScore ?? null,
    base_model_fake_votes: res.fakeVotes,
    base_model_real_votes: res.realVotes,
    base_model_total_votes: res.totalVotes,
    total_inference_time_seconds: res.totalSeconds,
    ensemble_method_requested: ENSEMBLE_NAME[res.ensembleMethodRequested],
    ensemble_method_used: ENSEMBLE_NAME[res.ensembleMethodUsed] ?? "average",
    threshold: res.threshold,
    note: res.note,
    model_results: modelResultsJson(res),
  };
}

/** POST /detect's response. */
export function detectJson(res: DetectResponse, extra: { size: number; sha256: string }): DetectResult {
  return {
    request_id: res.requestId,
    is_likely_deepfake: res.verdict === Verdict.FAKE,
    deepfake_probability: res.ensembleScore ?? null,
    verdict: VERDICT_NAME[res.verdict],
    confidence_in_verdict: res.confidenceInVerdict,
    model_count: res.modelResults.length,
    fake_votes: res.fakeVotes,
    real_votes: res.realVotes,
    response_time: res.totalSeconds,
    ensemble_method_used: ENSEMBLE_NAME[res.ensembleMethodUsed] ?? "average",
    threshold: res.threshold,
    note: res.note,
    model_results: modelResultsJson(res),
    media_type_processed: mediaName(res.mediaType) ?? "image",
    filename: res.fileName,
    size: extra.size,
    sha256: extra.sha256,
  };
}
