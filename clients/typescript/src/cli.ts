// deepsafe detect <file> [--gateway URL] [--models a,b] [--ensemble average] [--threshold 0.5]
//                        [--protocol connect|grpc|grpc-web] [--json] [--include-random-weights]
// Exit status: 0 answered, 1 the gateway refused or failed (gRPC code printed), 2 bad usage.
import { parseArgs } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { createDeepSafeClient, type Protocol } from "./client.js";
import { ENSEMBLE_METHODS, detectFile, type EnsembleName } from "./detect.js";
import { toJson, toText } from "./format.js";

export const USAGE = `usage: deepsafe detect <file> [options]

  --gateway URL        gateway base URL (default $DEEPSAFE_GATEWAY or http://localhost:8000)
  --models a,b         detectors to ask (default: the media type's defaults)
  --ensemble METHOD    voting | average | stacking (default: the gateway's for the media type)
  --threshold X        threshold on the ensemble score, 0..1
  --protocol P         connect | grpc | grpc-web (default connect)
  --token T            bearer token (or $DEEPSAFE_TOKEN); --api-key K (or $DEEPSAFE_API_KEY)
  --json               print the whole response as JSON
  --include-random-weights   count detectors running random test weights (testing only)`;

class UsageError extends Error {}

/** Node's error code (ENOENT, ERR_PARSE_ARGS_…), when the error has a string one. */
function nodeCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : "";
}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: Io = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        gateway: { type: "string" },
        models: { type: "string" },
        ensemble: { type: "string" },
        threshold: { type: "string" },
        protocol: { type: "string" },
        token: { type: "string" },
        "api-key": { type: "string" },
        json: { type: "boolean", default: false },
        "include-random-weights": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    const [command, file, ...rest] = positionals;
    if (command !== "detect" || !file || rest.length) throw new UsageError(command === "detect" ? "give exactly one file" : `unknown command ${command ?? "(none)"}`);
    if (values.ensemble !== undefined && !(values.ensemble in ENSEMBLE_METHODS)) throw new UsageError(`--ensemble must be one of ${Object.keys(ENSEMBLE_METHODS).join(", ")}`);
    const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
    if (threshold !== undefined && !(threshold >= 0 && threshold <= 1)) throw new UsageError("--threshold must be a number from 0 to 1");
    const protocol = (values.protocol ?? "connect") as Protocol;
    if (!["connect", "grpc", "grpc-web"].includes(protocol)) throw new UsageError("--protocol must be connect, grpc or grpc-web");

    const client = createDeepSafeClient({
      baseUrl: values.gateway ?? process.env.DEEPSAFE_GATEWAY ?? "http://localhost:8000",
      protocol,
      token: values.token ?? process.env.DEEPSAFE_TOKEN,
      apiKey: values["api-key"] ?? process.env.DEEPSAFE_API_KEY,
    });
    const res = await detectFile(client, file, {
      models: values.models?.split(",").map((m) => m.trim()).filter(Boolean),
      ensemble: values.ensemble as EnsembleName | undefined,
      threshold,
      includeRandomWeights: values["include-random-weights"],
    });
    io.out(values.json ? toJson(res) : toText(res));
    return 0;
  } catch (err) {
    if (err instanceof UsageError || nodeCode(err).startsWith("ERR_PARSE_ARGS")) {
      io.err(`deepsafe: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (["ENOENT", "EISDIR", "EACCES"].includes(nodeCode(err)) || (err as Error).message?.endsWith("is not a file")) {
      io.err(`deepsafe: ${(err as Error).message}`);
      return 2;
    }
    const e = ConnectError.from(err);
    // gRPC's own spelling of the code (INVALID_ARGUMENT), as the other clients print it.
    const name = (Code[e.code] ?? String(e.code)).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
    io.err(`deepsafe: ${name}: ${e.rawMessage}`);
    return 1;
  }
}
