// The base classes detector authors extend: decoding is done here, inference in predict().
import { decodeAudio, type DecodedAudio } from "./decode/audio.js";
import { decodeImage, type DecodedImage } from "./decode/image.js";
import { decodeVideo, DEFAULT_VIDEO_FRAMES, type DecodedVideo } from "./decode/video.js";
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

export abstract class VideoModel extends DetectorModel<DecodedVideo> {
  readonly media = "video" as const;
  /** Evenly spaced frames decoded per video (Cross-Efficient-ViT's test script uses 30). */
  framesPerVideo = DEFAULT_VIDEO_FRAMES;
  /** Longest accepted video; longer uploads are rejected with INVALID_ARGUMENT. */
  maxSeconds = 600;
  /** Frames are shrunk so that their longer side is at most this (bounds memory); 0 keeps the size. */
  maxFrameSide = 1280;
  /** Wall-clock limit for probing and decoding one video. */
  decodeTimeoutMs = 120_000;

  decode(bytes: Buffer, ctx: PredictContext): Promise<DecodedVideo> {
    return decodeVideo(bytes, {
      frames: this.framesPerVideo,
      maxSeconds: this.maxSeconds,
      maxSide: this.maxFrameSide,
      maxPixels: this.card.maxPixels ?? DEFAULT_MAX_PIXELS,
      timeoutMs: this.decodeTimeoutMs,
      signal: ctx.signal,
    });
  }
}
