// A result as a JSON file: the typed DetectResponse in proto3 JSON, the same shape the API returns.
import { toJsonString } from "@bufbuild/protobuf";
import { DetectResponseSchema, type DetectResponse } from "@deepsafe/proto/es/gateway";

export function resultJson(r: DetectResponse): string {
  return toJsonString(DetectResponseSchema, r, { prettySpaces: 2 });
}

export function downloadResult(r: DetectResponse): void {
  const url = URL.createObjectURL(new Blob([resultJson(r)], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = `deepsafe-${r.requestId}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
