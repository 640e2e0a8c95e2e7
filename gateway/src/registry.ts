// The registry: one YAML file listing the detectors and the fusion defaults. The gateway reads
// it to route and fuse; the launcher reads the same file to spawn detectors.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { MediaType } from "@deepsafe/proto/es/common";
import { EnsembleMethod } from "@deepsafe/proto/es/gateway";

export const DEFAULT_REGISTRY_PATH = fileURLToPath(new URL("../config/registry.yaml", import.meta.url));

export const MEDIA_NAMES = ["image", "video", "audio"] as const;
export type MediaName = (typeof MEDIA_NAMES)[number];

const MediaNameSchema = z.enum(MEDIA_NAMES);
const Probability = z.number().min(0).max(1);

const AddressSchema = z.string().superRefine((a, ctx) => {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(a);
  if (!m) ctx.addIssue({ code: "custom", message: "expected host:port, for example 127.0.0.1:5001" });
  else if (Number(m[2]) > 65535) ctx.addIssue({ code: "custom", message: "port must be at most 65535" });
});

export const MediaDefaultsSchema = z.strictObject({
  ensemble: z.enum(["voting", "average", "stacking"]).default("voting"),
  threshold: Probability.default(0.5),
  max_upload_bytes: z.number().int().positive().default(50 * 1024 * 1024),
});

export const DetectorConfigSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "lowercase letters, digits, '-' and '_' only"),
  /** Workspace package whose `start` runs this detector (used by the launcher). */
  package: z.string().min(1),
  media_type: MediaNameSchema,
  address: AddressSchema,
  default: z.boolean().default(true),
  enabled: z.boolean().default(true),
  deadline_ms: z.number().int().positive().default(30_000),
  /** Overrides the model's own default threshold when the request sets none. */
  threshold: Probability.optional(),
  /** Set by the launcher when it does not run this detector (e.g. no real weights): why, for health. */
  unavailable: z.string().min(1).optional(),
  /** Extra environment for the detector process (used by the launcher only). */
  env: z.record(z.string(), z.string()).optional(),
});

/** A service-to-service API key: only its sha256 is stored (hex). Clients send the key in X-API-Key. */
export const ApiKeySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "letters, digits, '.', '-' and '_' only"),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits (sha256 of the key)"),
});

export const AuthSettingsSchema = z
  .strictObject({
    /** Detection without a token or API key (the original allowed it). */
    anonymous_detect: z.boolean().default(true),
    /** POST /register open to anyone. */
    registration: z.boolean().default(true),
    token_minutes: z.number().int().positive().max(24 * 60).default(30),
    issuer: z.string().min(1).default("deepsafe"),
    audience: z.string().min(1).default("deepsafe-api"),
    clock_tolerance_s: z.number().int().nonnegative().max(300).default(30),
    /** Login attempts per username+client address: a token bucket. */
    login_rate: z
      .strictObject({
        burst: z.number().int().positive().default(5),
        per_minute: z.number().positive().default(5),
      })
      .prefault({}),
    api_keys: z.array(ApiKeySchema).default([]),
  })
  .prefault({});

export const HistorySettingsSchema = z
  .strictObject({
    /** false: no records are written (detection is unaffected). */
    enabled: z.boolean().default(true),
    /** MongoDB URI; MONGODB_URI or DEEPSAFE_MONGODB_URI override it. Unset: history and accounts are off. */
    mongodb_uri: z.string().optional(),
    /** Largest page GET /history returns. */
    max_page: z.number().int().positive().max(1000).default(100),
  })
  .prefault({});

export const RestSettingsSchema = z
  .strictObject({
    /** Largest POST /predict JSON body (base64 media inside); bigger uploads go to /detect (streamed). */
    max_json_bytes: z.number().int().positive().default(150 * 1024 * 1024),
    /** Browser origins allowed to call the REST API (CORS); empty: none. */
    cors_origins: z.array(z.string()).default([]),
  })
  .prefault({});

/** Trained stacking meta-learners (`npm run retrain`): where the gateway finds and follows them. */
export const StackingSettingsSchema = z
  .strictObject({
    /** Artifact root: <dir>/<media>/current -> the deployed artifact. Relative paths are from the repository root; DEEPSAFE_ENSEMBLES_DIR overrides. */
    dir: z.string().min(1).default(".deepsafe/ensembles"),
    /** Periodic re-check of the `current` pointers, beside the file watcher. */
    reload_interval_ms: z.number().int().positive().default(5000),
  })
  .prefault({});

export const RegistrySchema = z
  .strictObject({
    gateway: z
      .strictObject({
        port: z.number().int().min(0).max(65535).default(8000),
        host: z.string().min(1).default("0.0.0.0"),
        /** How often each detector's grpc.health.v1 status is polled. */
        health_interval_ms: z.number().int().positive().default(2000),
        /** How long in-flight Detect calls may run after SIGTERM before the process exits. */
        shutdown_grace_ms: z.number().int().nonnegative().default(30_000),
        /** An upload (Detect stream or multipart file) that sends nothing for this long is ended: 408 / DEADLINE_EXCEEDED. */
        upload_idle_timeout_ms: z.number().int().positive().default(60_000),
      })
      .prefault({}),
    media: z
      .strictObject({
        image: MediaDefaultsSchema.prefault({}),
        video: MediaDefaultsSchema.prefault({}),
        audio: MediaDefaultsSchema.prefault({}),
      })
      .prefault({}),
    detectors: z.array(DetectorConfigSchema),
    auth: AuthSettingsSchema,
    history: HistorySettingsSchema,
    rest: RestSettingsSchema,
    stacking: StackingSettingsSchema,
  })
  .superRefine((reg, ctx) => {
    const names = new Map<string, number>();
    const addresses = new Map<string, number>();
    reg.detectors.forEach((d, i) => {
      const n = names.get(d.name);
      if (n !== undefined) ctx.addIssue({ code: "custom", path: ["detectors", i, "name"], message: `duplicate name "${d.name}" (also detectors[${n}])` });
      names.set(d.name, i);
      const a = addresses.get(d.address);
      if (a !== undefined) ctx.addIssue({ code: "custom", path: ["detectors", i, "address"], message: `address ${d.address} is also used by detectors[${a}]` });
      addresses.set(d.address, i);
    });
  });

export type Registry = z.infer<typeof RegistrySchema>;
export type DetectorConfig = z.infer<typeof DetectorConfigSchema>;
export type MediaDefaults = z.infer<typeof MediaDefaultsSchema>;
export type AuthSettings = z.infer<typeof AuthSettingsSchema>;
export type HistorySettings = z.infer<typeof HistorySettingsSchema>;
export type RestSettings = z.infer<typeof RestSettingsSchema>;
export type StackingSettings = z.infer<typeof StackingSettingsSchema>;

/** A registry file that cannot be used; the message names the file, the field and the problem. */
export class RegistryError extends Error {
  override name = "RegistryError";
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "(root)";
}

/** Validate an already parsed registry object; `source` names it in errors. */
export function parseRegistry(data: unknown, source = "registry"): Registry {
  const result = RegistrySchema.safeParse(data);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`);
  throw new RegistryError(`invalid registry ${source}:\n${lines.join("\n")}`);
}

/** Read and validate a registry file. Throws RegistryError with a readable message. */
export function loadRegistry(path: string = process.env.DEEPSAFE_REGISTRY || DEFAULT_REGISTRY_PATH): Registry {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new RegistryError(`cannot read registry ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new RegistryError(`invalid YAML in registry ${path}: ${(err as Error).message}`);
  }
  return parseRegistry(data, path);
}

export const MEDIA_TYPE_OF: Record<MediaName, MediaType> = {
  image: MediaType.IMAGE,
  video: MediaType.VIDEO,
  audio: MediaType.AUDIO,
};

export function mediaName(t: MediaType): MediaName | undefined {
  return MEDIA_NAMES.find((n) => MEDIA_TYPE_OF[n] === t);
}

export const ENSEMBLE_OF: Record<MediaDefaults["ensemble"], EnsembleMethod> = {
  voting: EnsembleMethod.VOTING,
  average: EnsembleMethod.AVERAGE,
  stacking: EnsembleMethod.STACKING,
};
