// The JWT signing secret. Production (NODE_ENV or DEEPSAFE_ENV = production) must set
// DEEPSAFE_JWT_SECRET to a strong value: the gateway refuses to start otherwise (the original
// shipped a hard-coded default). In development a random secret is generated once and kept in the
// data folder, so tokens survive restarts.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Secrets that must never sign production tokens (copied from tutorials and sample configs). */
const KNOWN_DEFAULTS = new Set([
  "secret",
  "changeme",
  "change-me",
  "changeit",
  "password",
  "your-secret-key",
  "your_secret_key",
  "your-secret-key-here",
  "supersecret",
  "super-secret",
  "mysecret",
  "jwt-secret",
  "jwt_secret",
  "deepsafe",
  "deepsafe-secret",
  "dev-secret",
  "development",
  "test",
  "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7", // FastAPI's docs example
]);

export const MIN_SECRET_BYTES = 32;

export class SecretError extends Error {
  override name = "SecretError";
}

export function isProduction(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NODE_ENV === "production" || env.DEEPSAFE_ENV === "production";
}

/** Why a secret is unacceptable, or undefined when it is fine. */
export function weakSecretReason(secret: string): string | undefined {
  if (KNOWN_DEFAULTS.has(secret.trim().toLowerCase())) return "it is a well-known default";
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) return `it is shorter than ${MIN_SECRET_BYTES} bytes`;
  if (new Set(secret).size < 8) return "it has too few distinct characters";
  return undefined;
}

export interface SecretSource {
  secret: Uint8Array;
  source: "env" | "file" | "generated";
}

/**
 * Production: DEEPSAFE_JWT_SECRET, strong, or SecretError. Development: the variable when set,
 * else `<dataDir>/jwt-secret` (created with 48 random bytes, mode 0600, on first use).
 */
export function resolveJwtSecret(dataDir: string, env: NodeJS.ProcessEnv = process.env): SecretSource {
  const fromEnv = env.DEEPSAFE_JWT_SECRET;
  if (isProduction(env)) {
    if (!fromEnv) throw new SecretError("production mode needs DEEPSAFE_JWT_SECRET (at least 32 random bytes, e.g. `openssl rand -base64 48`)");
    const weak = weakSecretReason(fromEnv);
    if (weak) throw new SecretError(`DEEPSAFE_JWT_SECRET is refused in production: ${weak}`);
    return { secret: new TextEncoder().encode(fromEnv), source: "env" };
  }
  if (fromEnv) return { secret: new TextEncoder().encode(fromEnv), source: "env" };
  const file = join(dataDir, "jwt-secret");
  try {
    const text = readFileSync(file, "utf8").trim();
    if (text.length >= MIN_SECRET_BYTES) return { secret: new TextEncoder().encode(text), source: "file" };
  } catch {
    // not there yet
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString("base64url");
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { secret: new TextEncoder().encode(secret), source: "generated" };
}
