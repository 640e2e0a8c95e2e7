// NPR detector process: gRPC DetectorService on $PORT (default 5001).
import { serveDetector } from "@deepsafe/sdk";
import { NprModel } from "./model.js";

await serveDetector(new NprModel(), { port: Number(process.env.PORT ?? 5001) });
