// Account operations shared by the REST API (POST /register, POST /token, GET /users/me) and
// Connect/gRPC (AccountService): the same checks in the same order, the same store, the same
// errors (ServiceError). Field validation stays with each API (REST answers 422 with the fields,
// Connect INVALID_ARGUMENT), both with the zod schemas of rest/schemas.ts.
import { Code } from "@connectrpc/connect";
import type { GatewayMetrics } from "../metrics.js";
import { ServiceError, storeUnavailable, unauthenticated } from "../service-error.js";
import type { Principal } from "./index.js";
import type { PasswordHasher } from "./passwords.js";
import type { LoginLimiter, RateLimiter } from "./rate-limit.js";
import { issueToken, type TokenSettings } from "./tokens.js";
import { UserExistsError, type UserStore } from "./users.js";

export interface TokenGrant {
  access_token: string;
  token_type: "bearer";
  /** Seconds. */
  expires_in: number;
}

export interface Profile {
  /** The username, or "apikey:<name>" for an API key. */
  username: string;
  email: string | null;
  full_name: string | null;
  disabled: boolean;
  kind: Principal["kind"];
}

/** A validated registration (RegisterForm). */
export interface Registration {
  username: string;
  password: string;
  email?: string | undefined;
  full_name?: string | undefined;
}

export interface AccountsDeps {
  /** Absent when no MongoDB is configured: every operation answers UNAVAILABLE. */
  users?: UserStore | undefined;
  hasher: PasswordHasher;
  tokens: TokenSettings;
  registrationOpen: boolean;
  loginLimiter: LoginLimiter;
  registerLimiter: RateLimiter;
  metrics: GatewayMetrics;
}

export class Accounts {
  constructor(private readonly deps: AccountsDeps) {}

  /** Before reading a registration: is it open, and is this address within its budget. */
  admitRegistration(address: string): void {
    if (!this.deps.registrationOpen) throw new ServiceError("registration is closed on this server", Code.PermissionDenied);
    const wait = this.deps.registerLimiter.take(address);
    if (wait > 0) {
      throw new ServiceError("too many registrations from this address; try again later", Code.ResourceExhausted, { retryAfterS: wait, httpCode: "rate_limited" });
    }
  }

  /** Creates the account (after admitRegistration) and logs it in. */
  async register(u: Registration): Promise<{ token: TokenGrant; user: Profile }> {
    const users = this.deps.users;
    if (!users) throw storeUnavailable("accounts");
    const hash = await this.deps.hasher.hash(u.password);
    const email = u.email ?? null;
    const full_name = u.full_name ?? null;
    try {
      await users.create({ username: u.username, email, full_name, password_hash: hash });
    } catch (err) {
      // The original DeepSafe answered 400 here; REST keeps that.
      if (err instanceof UserExistsError) throw new ServiceError("Username already registered", Code.AlreadyExists, { httpStatus: 400 });
      throw err;
    }
    return { token: await this.grant(u.username), user: { username: u.username, email, full_name, disabled: false, kind: "user" } };
  }

  /** Username and password → token, rate-limited per username and client address. */
  async login(username: string, password: string, address: string): Promise<TokenGrant> {
    const { metrics, users, hasher } = this.deps;
    const wait = this.deps.loginLimiter.take(username, address);
    if (wait > 0) {
      metrics.loginAttempts.inc({ outcome: "rate_limited" });
      throw new ServiceError("too many login attempts; try again later", Code.ResourceExhausted, { retryAfterS: wait, httpCode: "rate_limited" });
    }
    if (!users) {
      metrics.loginAttempts.inc({ outcome: "unavailable" });
      throw storeUnavailable("accounts");
    }
    const user = await users.find(username);
    const ok = user ? await hasher.verify(user.password_hash, password) : await hasher.verifyDummy(password);
    if (!user || !ok) {
      metrics.loginAttempts.inc({ outcome: "invalid" });
      throw unauthenticated("Incorrect username or password");
    }
    if (user.disabled) {
      metrics.loginAttempts.inc({ outcome: "disabled" });
      throw inactive();
    }
    if (hasher.needsRehash(user.password_hash)) {
      void hasher.hash(password).then((h) => users.setHash(user.username, h)).catch(() => {});
    }
    metrics.loginAttempts.inc({ outcome: "ok" });
    return this.grant(user.username);
  }

  /** The caller's account; for an API key, a description of the key (no store needed). */
  async profile(p: Principal): Promise<Profile> {
    if (p.kind === "apikey") return { username: p.id, email: null, full_name: `API key ${p.name}`, disabled: false, kind: "apikey" };
    if (!this.deps.users) throw storeUnavailable("accounts");
    const user = await this.deps.users.find(p.name);
    if (!user) throw unauthenticated("the account of this token no longer exists");
    if (user.disabled) throw inactive();
    return { username: user.username, email: user.email ?? null, full_name: user.full_name ?? null, disabled: user.disabled, kind: "user" };
  }

  private async grant(username: string): Promise<TokenGrant> {
    const s = this.deps.tokens;
    return { access_token: await issueToken(s, username), token_type: "bearer", expires_in: s.minutes * 60 };
  }
}

/** The original DeepSafe answered 400 for inactive users; REST keeps that. */
const inactive = () => new ServiceError("Inactive user", Code.PermissionDenied, { httpStatus: 400 });
