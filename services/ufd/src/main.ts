// UniversalFakeDetect detector process: gRPC DetectorService on $PORT (default 5004).
import { serveDetector } from "@deepsafe/sdk";
import { UfdModel } from "./model.js";

await serveDetector(new UfdModel(), { port: Number(process.env.PORT ?? 5004) });
