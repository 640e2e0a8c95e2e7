// How results are worded and numbered on screen: pure functions (unit-tested without a browser).
import { MediaType, Prediction, WeightsKind } from "@deepsafe/proto/es/common";
import { EnsembleMethod, ModelHealth, Verdict } from "@deepsafe/proto/es/gateway";

export const VERDICT_LABEL: Record<Verdict, string> = {
  [Verdict.UNSPECIFIED]: "Undetermined",
  [Verdict.FAKE]: "Likely fake",
  [Verdict.REAL]: "Likely real",
  [Verdict.UNDETERMINED]: "Undetermined",
};

export const MEDIA_LABEL: Record<MediaType, string> = {
  [MediaType.UNSPECIFIED]: "unknown",
  [MediaType.IMAGE]: "image",
  [MediaType.VIDEO]: "video",
  [MediaType.AUDIO]: "audio",
};

export const ENSEMBLE_LABEL: Record<EnsembleMethod, string> = {
  [EnsembleMethod.UNSPECIFIED]: "default for the media type",
  [EnsembleMethod.VOTING]: "voting",
  [EnsembleMethod.AVERAGE]: "average",
  [EnsembleMethod.STACKING]: "stacking",
};

/** The REST form value of each method (POST /detect's ensemble_method field). */
export const ENSEMBLE_FORM_VALUE: Record<EnsembleMethod, string> = {
  [EnsembleMethod.UNSPECIFIED]: "",
  [EnsembleMethod.VOTING]: "voting",
  [EnsembleMethod.AVERAGE]: "average",
  [EnsembleMethod.STACKING]: "stacking",
};

export const WEIGHTS_LABEL: Record<WeightsKind, string> = {
  [WeightsKind.UNSPECIFIED]: "weights unknown",
  [WeightsKind.OFFICIAL]: "official weights",
  [WeightsKind.PROJECT_TRAINED]: "project-trained weights",
  [WeightsKind.RANDOM_FIXTURE]: "random test weights: scores are meaningless",
};

export const HEALTH_LABEL: Record<ModelHealth, string> = {
  [ModelHealth.UNSPECIFIED]: "unknown",
  [ModelHealth.SERVING]: "serving",
  [ModelHealth.NOT_SERVING]: "not ready",
  [ModelHealth.UNREACHABLE]: "unreachable",
};

/** 0.1234 → "12%"; one decimal near the ends, and never a rounded 0% or 100% that is not exact. */
export function percent(p: number): string {
  const v = p * 100;
  if (v > 0 && v < 0.1) return "<0.1%";
  if (v > 99.9 && v < 100) return ">99.9%";
  const digits = v > 0 && v < 10 ? 1 : v > 90 && v < 100 ? 1 : 0;
  return `${v.toFixed(digits)}%`;
}

/**
 * How sure one model is of its own call: a "real" at P(fake) = 0.1 is 90% real, a "fake" at 0.8 is
 * 80% fake. Undefined when the model abstained.
 */
export function modelCall(probabilityFake: number, prediction: Prediction): { label: string; confidence: number } | undefined {
  if (prediction === Prediction.FAKE) return { label: "fake", confidence: probabilityFake };
  if (prediction === Prediction.REAL) return { label: "real", confidence: 1 - probabilityFake };
  return undefined;
}

/**
 * The verdict headline: "Likely real · 90% confidence", or the undetermined wording. Under voting the
 * "confidence" is only the share of agreeing votes (1 of 1 would read "100%"), so it says that instead.
 */
export function verdictHeadline(
  verdict: Verdict,
  confidenceInVerdict: number,
  votes?: { method: EnsembleMethod; agreeing: number; total: number },
): string {
  if (verdict !== Verdict.FAKE && verdict !== Verdict.REAL) return VERDICT_LABEL[Verdict.UNDETERMINED];
  if (votes?.method === EnsembleMethod.VOTING && votes.total > 0)
    return `${VERDICT_LABEL[verdict]} · ${votes.agreeing} of ${votes.total} model${votes.total === 1 ? "" : "s"} agree${votes.total === 1 ? "s" : ""}`;
  return `${VERDICT_LABEL[verdict]} · ${percent(confidenceInVerdict)} confidence`;
}

/** The media type a file most likely is, from the browser's MIME type then its extension (the gateway decides from the bytes). */
export function guessMediaType(file: { type: string; name: string }): MediaType {
  const major = file.type.split("/")[0];
  if (major === "image") return MediaType.IMAGE;
  if (major === "video") return MediaType.VIDEO;
  if (major === "audio") return MediaType.AUDIO;
  const ext = file.name.toLowerCase().split(".").pop() ?? "";
  if (["jpg", "jpeg", "png", "gif", "webp", "tif", "tiff", "bmp", "heic", "heif", "avif"].includes(ext)) return MediaType.IMAGE;
  if (["mp4", "mov", "m4v", "mkv", "webm", "avi"].includes(ext)) return MediaType.VIDEO;
  if (["wav", "flac", "ogg", "oga", "mp3", "aac", "m4a", "opus"].includes(ext)) return MediaType.AUDIO;
  return MediaType.UNSPECIFIED;
}

/** 1536 → "1.5 KiB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB"];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** Seconds as "0.42 s" or "1 min 3 s". */
export function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** First 12 hex digits of a digest, for display (the full one goes in a title / the export). */
export const shortDigest = (hex: string): string => (hex.length > 12 ? `${hex.slice(0, 12)}…` : hex);
