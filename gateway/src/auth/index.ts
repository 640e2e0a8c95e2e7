// Who is calling: a bearer token (from POST /token), an API key (X-API-Key, for services), or
// nobody (anonymous detection, when allowed). Used by REST and by Connect/gRPC (same headers).
import { createHash, timingSafeEqual } from "node:crypto";
import type { AuthSettings } from "../registry.js";
import { TokenError, verifyToken, type TokenSettings } from "./tokens.js";

export interface Principal {
  /** "user:<name>" or "apikey:<name>": the owner of history records. */
  id: string;
  kind: "user" | "apikey";
  name: string;
}

export class AuthError extends Error {
  override name = "AuthError";
}

/** API keys: the registry's (sha256 only) plus DEEPSAFE_API_KEYS="name=key,name2=key2". */
export function apiKeyTable(settings: AuthSettings, env: NodeJS.ProcessEnv = process.env): Map<string, Buffer> {
  const table = new Map<string, Buffer>();
  for (const k of settings.api_keys) table.set(k.name, Buffer.from(k.sha256, "hex"));
  for (const pair of (env.DEEPSAFE_API_KEYS ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0 || eq === pair.length - 1) throw new AuthError("DEEPSAFE_API_KEYS must be name=key pairs separated by commas");
    const key = pair.slice(eq + 1);
    if (key.length < 24) throw new AuthError(`API key "${pair.slice(0, eq)}" is too short (at least 24 characters)`);
    table.set(pair.slice(0, eq), createHash("sha256").update(key).digest());
  }
  return table;
}

export class Authenticator {
  constructor(
    readonly tokens: TokenSettings,
    private readonly apiKeys: Map<string, Buffer>,
  ) {}

  /**
   * The caller from request headers: undefined when no credentials were sent; AuthError when
   * credentials were sent but are wrong (never silently anonymous).
   */
  async identify(header: (name: string) => string | undefined): Promise<Principal | undefined> {
    const key = header("x-api-key");
    if (key !== undefined) return this.byApiKey(key);
    const authz = header("authorization");
    if (authz === undefined) return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
    if (!m) throw new AuthError("Authorization must be 'Bearer <token>'");
    try {
      const sub = await verifyToken(this.tokens, m[1]!);
      return { id: `user:${sub}`, kind: "user", name: sub };
    } catch (err) {
      throw new AuthError(err instanceof TokenError ? err.message : "invalid token");
    }
  }

  /** Like identify, but a call without credentials is an AuthError too. */
  async require(header: (name: string) => string | undefined): Promise<Principal> {
    const p = await this.identify(header);
    if (!p) throw new AuthError("Not authenticated");
    return p;
  }

  private byApiKey(key: string): Principal {
    const digest = createHash("sha256").update(key).digest();
    let found: string | undefined;
    for (const [name, want] of this.apiKeys) if (timingSafeEqual(digest, want)) found = name;
    if (!found) throw new AuthError("invalid API key");
    return { id: `apikey:${found}`, kind: "apikey", name: found };
  }
}
