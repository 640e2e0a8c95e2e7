// Command-line plumbing shared by `npm run evaluate` and `npm run retrain` (and `npm run eval`):
// strict option parsing with the usage text, validated numbers, paths taken relative to the caller,
// the dataset summary, and a mesh of detectors that is stopped however the command ends.
import { resolve } from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { Mesh } from "../../deploy/local/mesh.js";
import type { Dataset, MediaName } from "./dataset.js";
import { MEDIA_TYPE } from "./evaluate.js";
import { startMediaMesh } from "./local-mesh.js";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ options: O; strict: true }>>["values"];

/** One command's option handling; a bad option ends the process with status 2 and says why. */
export class CommandLine {
  constructor(
    readonly tool: string,
    readonly usage: string,
  ) {}

  fail(message: string): never {
    process.stderr.write(`${this.tool}: ${message}\n`);
    process.exit(2);
  }

  /** Parses argv strictly; -h/--help prints the usage and exits 0. */
  parse<const O extends Options>(options: O): Values<O> {
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({ options: { ...options, help: { type: "boolean", short: "h" } }, strict: true });
    } catch (err) {
      this.fail(`${(err as Error).message}\n${this.usage}`);
    }
    if (parsed.values.help) {
      process.stdout.write(this.usage);
      process.exit(0);
    }
    return parsed.values as Values<O>;
  }

  media(value: string | undefined): MediaName {
    if (!value || !(value in MEDIA_TYPE)) this.fail(`--media must be audio, image or video\n${this.usage}`);
    return value as MediaName;
  }

  integer(name: string, value: string, lo: number, hi: number): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < lo || n > hi) this.fail(`--${name} must be an integer from ${lo} to ${hi}`);
    return n;
  }

  threshold(value: number): number {
    if (!(value >= 0 && value <= 1)) this.fail("--threshold must be in [0, 1]");
    return value;
  }
}

/** A comma-separated list of names; undefined when absent or empty. */
export function nameList(value: string | undefined): string[] | undefined {
  const names = value?.split(",").map((s) => s.trim()).filter(Boolean);
  return names && names.length ? names : undefined;
}

/** `npm run` changes into the repository root; paths on the command line are the caller's. */
export function callerPath(path: string): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), path);
}

/** Logs what the dataset holds and which files were skipped (never labelled); returns the count of reals. */
export function logDataset(dataset: Dataset, path: string, media: MediaName, log: (line: string) => void): number {
  const nReal = dataset.items.filter((i) => i.label === 0).length;
  log(`dataset ${path}: ${dataset.items.length} ${media} files (${nReal} real, ${dataset.items.length - nReal} fake)`);
  if (dataset.skipped.length) {
    log(`skipped ${dataset.skipped.length} file(s), never labelled:`);
    for (const s of dataset.skipped.slice(0, 20)) log(`  ${s.path}: ${s.reason}`);
    if (dataset.skipped.length > 20) log(`  … and ${dataset.skipped.length - 20} more (all listed in report.json)`);
  }
  return nReal;
}

/** A metric for the console tables: three decimals, or n/a in the same width. */
export const fixed3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : "  n/a");

/**
 * The gateway a command talks to: the one `--gateway` names, or a mesh of the media type's detectors
 * started for the command. That mesh is stopped by stop(), and on SIGINT or SIGTERM (exit 130).
 */
export class CommandMesh {
  private mesh: Mesh | undefined;

  constructor() {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => {
        process.stderr.write(`\n${signal}: stopping\n`);
        void this.stop().finally(() => process.exit(130));
      });
    }
  }

  /** Whether this command started a mesh that is still running. */
  get started(): boolean {
    return this.mesh !== undefined;
  }

  /** The gateway URL, and the detectors of the media type a started mesh left out (weights not ready). */
  async gateway(
    gateway: string | undefined,
    media: MediaName,
    requested: string[] | undefined,
  ): Promise<{ url: string; notStarted: Array<{ name: string; reason: string }> }> {
    if (gateway) return { url: gateway, notStarted: [] };
    const started = await startMediaMesh(media, { requested, log: (line) => process.stdout.write(line), onStarted: (m) => (this.mesh = m) });
    this.mesh = started.mesh;
    return { url: started.mesh.gatewayUrl, notStarted: started.notStarted };
  }

  async stop(): Promise<void> {
    const m = this.mesh;
    this.mesh = undefined;
    await m?.stop();
  }
}
