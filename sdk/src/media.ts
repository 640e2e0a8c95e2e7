// The base classes detector authors extend: decoding is done here, inference in predict().
import { decodeAudio, type DecodedAudio } from "./decode/audio.js";
import { decodeImage, type DecodedImage } from "./decode/image.js";
import { DetectorModel, type PredictContext } from "./model.js";

export const DEFAULT_MAX_PIXELS = 40_000_000;

export abstract class ImageModel extends DetectorModel<DecodedImage> {
  readonly media = "image" as const;

  decode(bytes: Buffer): Promise<DecodedImage> {
    return decodeImage(bytes, { maxPixels: this.card.maxPixels ?? DEFAULT_MAX_PIXELS });
  }
}

export abstract class AudioModel extends DetectorModel<DecodedAudio> {
  readonly media = "audio" as const;
  /** Longest accepted clip; longer uploads are rejected with INVALID_ARGUMENT. */
  maxSeconds = 600;

  decode(bytes: Buffer, ctx: PredictContext): Promise<DecodedAudio> {
    return decodeAudio(bytes, { maxSeconds: this.maxSeconds, signal: ctx.signal });
  }
}
