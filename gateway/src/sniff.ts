// The gateway's view of sniffing (shared with the SDK's decoders): the media type as the contract's enum,
// and whether bytes contradict a client's declared type.
import { MediaType } from "@deepsafe/proto/es/common";
import { type Sniffed, sniffMedia, SNIFF_BYTES } from "@deepsafe/sdk/sniff";
import { MEDIA_TYPE_OF, mediaName } from "./registry.js";

export { SNIFF_BYTES, type Sniffed };

export function sniff(b: Uint8Array): (Sniffed & { mediaType: MediaType }) | undefined {
  const found = sniffMedia(b);
  return found && { ...found, mediaType: MEDIA_TYPE_OF[found.media] };
}

/** True when the bytes may hold the declared media type (unknown formats are not contradicted). */
export function compatible(s: Sniffed | undefined, declared: MediaType): boolean {
  const name = mediaName(declared);
  return !s || s.media === name || (name !== undefined && s.alsoPossible.includes(name));
}
