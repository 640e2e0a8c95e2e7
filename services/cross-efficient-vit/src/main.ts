// Cross-Efficient-ViT detector process: gRPC DetectorService on $PORT (default 7001, as the original service).
// Settings: see env.ts and MODEL_CARD.md.
import { serveDetector } from "@deepsafe/sdk";
import { optionsFromEnv } from "./env.js";
import { CrossEfficientViTModel } from "./model.js";

await serveDetector(new CrossEfficientViTModel(optionsFromEnv()), { port: Number(process.env.PORT ?? 7001) });
