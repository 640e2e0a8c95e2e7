// Image decoding with sharp: a pixel limit checked from the header before any pixel is decoded,
// EXIF orientation applied, alpha dropped (as PIL's convert("RGB") does, which the references use),
// always 8-bit RGB.
import sharp, { type Metadata, type Sharp } from "sharp";
import { InvalidMediaError } from "../errors.js";

export interface DecodedImage {
  /** Interleaved RGB, 8 bits per channel, row-major (HWC). */
  data: Buffer;
  width: number;
  height: number;
  /** Container format as sharp reports it (jpeg, png, webp, gif, tiff, ...). */
  format: string;
}

export interface DecodeImageOptions {
  maxPixels: number;
  /** Smallest accepted side in pixels. */
  minSide?: number;
}

// Only raster formats a detector can meaningfully score; SVG/PDF would let a client make us render.
const ACCEPTED_FORMATS = new Set(["jpeg", "png", "webp", "gif", "tiff", "heif", "avif", "bmp"]);

export async function decodeImage(bytes: Buffer, options: DecodeImageOptions): Promise<DecodedImage> {
  if (bytes.length === 0) throw new InvalidMediaError("empty image");
  const minSide = options.minSide ?? 8;
  let image: Sharp;
  let meta: Metadata;
  try {
    image = sharp(bytes, { limitInputPixels: options.maxPixels, failOn: "error", sequentialRead: true });
    meta = await image.metadata();
  } catch (err) {
    throw new InvalidMediaError(`not a decodable image: ${describe(err)}`);
  }
  if (!meta.format || !ACCEPTED_FORMATS.has(meta.format)) {
    throw new InvalidMediaError(`unsupported image format: ${meta.format ?? "unknown"}`);
  }
  const width = meta.autoOrient?.width ?? meta.width ?? 0;
  const height = meta.autoOrient?.height ?? meta.height ?? 0;
  if (width * height > options.maxPixels) {
    throw new InvalidMediaError(`image is ${width}x${height}, over the limit of ${options.maxPixels} pixels`);
  }
  if (width < minSide || height < minSide) {
    throw new InvalidMediaError(`image is ${width}x${height}, smaller than ${minSide}x${minSide}`);
  }
  try {
    const { data, info } = await image
      .autoOrient()
      .toColourspace("srgb")
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
    return { data, width: info.width, height: info.height, format: meta.format };
  } catch (err) {
    throw new InvalidMediaError(`corrupt image: ${describe(err)}`);
  }
}

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // libvips messages span lines and may name temp paths; keep the first line only.
  return text.split("\n")[0]!.slice(0, 200);
}
