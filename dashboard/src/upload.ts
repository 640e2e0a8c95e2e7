// Upload for detection. Browsers cannot client-stream (Connect-Web has no client streaming: fetch
// upload streams need HTTP/2 and exist in Chromium only), so the file goes as one multipart POST
// /detect, which the gateway streams on to the detectors as it arrives. XMLHttpRequest, because
// fetch still reports no upload progress. The answer is asked for as the typed
// deepsafe.v1.DetectResponse (proto3 JSON), the same message Connect clients get.
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { DetectResponseSchema, type DetectResponse } from "@deepsafe/proto/es/gateway";

export const TYPED_DETECT_RESPONSE = "application/vnd.deepsafe.v1.detect-response+json";

export interface UploadRequest {
  gatewayUrl: string;
  file: File;
  token?: string | undefined;
  threshold?: number | undefined;
  /** REST form value: voting | average | stacking, or "" for the media type's default. */
  ensembleMethod: string;
  /** Empty: the media type's default set. */
  models: string[];
  onProgress?: (sent: number, total: number) => void;
  /** Called once every byte is sent: the detectors are working. */
  onUploaded?: () => void;
  signal?: AbortSignal;
}

/** A refused or failed upload, with the gateway's reason, code and request id when it gave them. */
export class UploadError extends Error {
  override name = "UploadError";
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

interface ErrorBody {
  detail?: string | Array<{ loc?: unknown[]; msg?: string }>;
  code?: string;
  request_id?: string;
}

/** The gateway's error body as one sentence. */
export function errorFromBody(status: number, text: string, headerRequestId: string | null): UploadError {
  let body: ErrorBody = {};
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    // not JSON (a proxy's page): the status alone
  }
  const detail = Array.isArray(body.detail)
    ? body.detail.map((i) => `${(i.loc ?? []).filter((l) => l !== "form").join(".")}: ${i.msg ?? "invalid"}`).join("; ")
    : body.detail;
  const lead: Record<number, string> = {
    401: "Please log in again",
    413: "The file is too large",
    415: "This file is not a supported image, video or audio file",
    422: "Some settings are invalid",
    429: "Too many requests, try again shortly",
    503: "The service is unavailable",
  };
  const message = [lead[status], detail].filter(Boolean).join(": ") || `The gateway answered HTTP ${status}`;
  return new UploadError(message, status, body.code ?? `http_${status}`, body.request_id ?? headerRequestId ?? undefined);
}

export function uploadForDetection(r: UploadRequest): Promise<DetectResponse> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    if (r.threshold !== undefined) form.append("threshold", String(r.threshold));
    if (r.ensembleMethod) form.append("ensemble_method", r.ensembleMethod);
    if (r.models.length) form.append("models", r.models.join(","));
    form.append("file", r.file, r.file.name); // last: the gateway reads the fields before the bytes
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${r.gatewayUrl}/detect`);
    xhr.setRequestHeader("Accept", `${TYPED_DETECT_RESPONSE}, application/json;q=0.5`);
    if (r.token) xhr.setRequestHeader("Authorization", `Bearer ${r.token}`);
    xhr.upload.onprogress = (e) => r.onProgress?.(e.loaded, e.lengthComputable ? e.total : r.file.size);
    xhr.upload.onload = () => r.onUploaded?.();
    xhr.onload = () => {
      if (xhr.status !== 200) return reject(errorFromBody(xhr.status, xhr.responseText, xhr.getResponseHeader("X-Request-ID")));
      try {
        resolve(fromJson(DetectResponseSchema, JSON.parse(xhr.responseText) as JsonValue, { ignoreUnknownFields: true }));
      } catch (err) {
        reject(new UploadError(`The gateway's answer could not be read: ${(err as Error).message}`, xhr.status, "bad_response"));
      }
    };
    xhr.onerror = () => reject(new UploadError("The gateway cannot be reached (network error or blocked by CORS).", 0, "network"));
    xhr.onabort = () => reject(new UploadError("Upload cancelled.", 0, "cancelled"));
    r.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}
