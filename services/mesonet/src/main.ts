// MesoNet detector service: MESONET_MEDIA = image (default, model "mesonet", PORT default 5002) or video
// (model "mesonet-video", PORT default 7002, MESONET_MAX_FACES defaults to 3 per frame).
// MESONET_WEIGHTS = MesoInception_DF (default), MesoInception_F2F, Meso4_DF or Meso4_F2F;
// MESONET_MIN_FACE_PX (smallest crop scored, default 64), MESONET_MAX_FACES (default 8),
// MESONET_FACE_SCORE (YuNet threshold, default 0.6), MESONET_CROP_SCALE (crop side multiplier,
// default 1 = the authors' pipeline; see MODEL_CARD.md), MESONET_FACE_DETECTOR_DIR.
import { serveDetector } from "@deepsafe/sdk";
import { optionsFromEnv } from "./env.js";
import { MesoNetModel } from "./model.js";
import { parseWeights } from "./onnx.js";
import { MesoNetVideoModel } from "./video.js";

const media = process.env.MESONET_MEDIA ?? "image";
if (media !== "image" && media !== "video") throw new Error(`MESONET_MEDIA must be image or video, got "${media}"`);
const weights = parseWeights(process.env.MESONET_WEIGHTS);
const model = media === "video" ? new MesoNetVideoModel(weights, optionsFromEnv()) : new MesoNetModel(weights, optionsFromEnv());
await serveDetector(model, { port: Number(process.env.PORT ?? (media === "video" ? 7002 : 5002)) });
