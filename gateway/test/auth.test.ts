// Units of the accounts layer: tokens (jose), secrets, login rate limit, strict base64.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT, UnsecuredJWT } from "jose";
import { issueToken, TokenError, verifyToken, type TokenSettings } from "../src/auth/tokens.js";
import { resolveJwtSecret, SecretError, weakSecretReason } from "../src/auth/secret.js";
import { LoginLimiter, RateLimiter } from "../src/auth/rate-limit.js";
import { PasswordHasher } from "../src/auth/passwords.js";
import { apiKeyTable, AuthError, Authenticator } from "../src/auth/index.js";
import { decodeBase64Strict } from "../src/rest/router.js";
import { parseRegistry } from "../src/registry.js";

const settings: TokenSettings = {
  secret: new TextEncoder().encode("unit-test-secret-0123456789-abcdefghijklmnop"),
  issuer: "deepsafe",
  audience: "deepsafe-api",
  minutes: 30,
  clockToleranceS: 30,
};

async function rejects(token: string, pattern: RegExp): Promise<void> {
  try {
    await verifyToken(settings, token);
  } catch (err) {
    assert.instance(err, TokenError);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`accepted: ${token}`);
}

test("tokens: issued ones verify; 30-minute expiry with clock tolerance", async () => {
  const t = await issueToken(settings, "alice");
  assert.is(await verifyToken(settings, t), "alice");
  const [, payload] = t.split(".");
  const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as { exp: number; iat: number; iss: string; aud: string; jti: string };
  assert.is(claims.exp - claims.iat, 30 * 60);
  assert.is(claims.iss, "deepsafe");
  assert.is(claims.aud, "deepsafe-api");
  assert.ok(claims.jti);
  // Issued 31 minutes ago: expired one minute ago, beyond the 30 s tolerance.
  await rejects(await issueToken(settings, "alice", new Date(Date.now() - 31 * 60_000)), /expired/);
  // Expired 10 s ago: within tolerance.
  assert.is(await verifyToken(settings, await issueToken(settings, "alice", new Date(Date.now() - 30 * 60_000 - 10_000))), "alice");
});

test("tokens: alg none, another algorithm, wrong key, audience, issuer, missing claims are refused", async () => {
  const now = Math.floor(Date.now() / 1000);
  const base = (alg = "HS256") => new SignJWT({}).setProtectedHeader({ alg }).setSubject("alice").setIssuedAt(now).setExpirationTime(now + 600);
  await rejects(new UnsecuredJWT({ sub: "alice" }).setIssuer("deepsafe").setAudience("deepsafe-api").setIssuedAt().setExpirationTime("5m").encode(), /algorithm|malformed/);
  await rejects(await base("HS512").setIssuer("deepsafe").setAudience("deepsafe-api").sign(settings.secret), /algorithm/);
  await rejects(await base().setIssuer("deepsafe").setAudience("deepsafe-api").sign(new TextEncoder().encode("x".repeat(40) + "other")), /signature/);
  await rejects(await base().setIssuer("deepsafe").setAudience("other").sign(settings.secret), /aud/);
  await rejects(await base().setIssuer("other").setAudience("deepsafe-api").sign(settings.secret), /iss/);
  await rejects(await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setIssuer("deepsafe").setAudience("deepsafe-api").setSubject("a").sign(settings.secret), /exp|iat/);
  await rejects("not-a-jwt", /malformed/);
  // A token too old by its iat (maxTokenAge) even with a far exp.
  await rejects(await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("a").setIssuer("deepsafe").setAudience("deepsafe-api").setIssuedAt(now - 7200).setExpirationTime(now + 7200).sign(settings.secret), /iat|expired|age/);
});

test("secrets: production needs a strong DEEPSAFE_JWT_SECRET; development generates and keeps one", () => {
  const dir = mkdtempSync(join(tmpdir(), "deepsafe-secret-"));
  assert.throws(() => resolveJwtSecret(dir, { NODE_ENV: "production" }), (e: Error) => e instanceof SecretError);
  assert.throws(() => resolveJwtSecret(dir, { DEEPSAFE_ENV: "production", DEEPSAFE_JWT_SECRET: "your-secret-key" }), (e: Error) => /well-known/.test(e.message));
  assert.throws(() => resolveJwtSecret(dir, { NODE_ENV: "production", DEEPSAFE_JWT_SECRET: "a".repeat(64) }), (e: Error) => /distinct/.test(e.message));
  assert.is(resolveJwtSecret(dir, { NODE_ENV: "production", DEEPSAFE_JWT_SECRET: "Zx9!".repeat(3) + "q8Wm3Lp0Rt7Yv2Bn6Hs1Kd5Fg4Jc0Xa" }).source, "env");
  assert.ok(weakSecretReason("changeme"));
  const first = resolveJwtSecret(dir, {});
  assert.is(first.source, "generated");
  assert.is(statSync(join(dir, "jwt-secret")).mode & 0o777, 0o600);
  const again = resolveJwtSecret(dir, {});
  assert.is(again.source, "file");
  assert.equal(Buffer.from(again.secret), Buffer.from(first.secret));
  assert.ok(readFileSync(join(dir, "jwt-secret"), "utf8").trim().length >= 32);
});

test("login rate limit: a token bucket per username + address, and a wider one per address", () => {
  const l = new LoginLimiter({ burst: 3, perMinute: 6 });
  const t0 = 1_000_000;
  for (let i = 0; i < 3; i++) assert.is(l.take("Alice", "10.0.0.1", t0), 0);
  const wait = l.take("alice", "10.0.0.1", t0);
  assert.ok(wait >= 1 && wait <= 10, `retry after ${wait}`);
  assert.is(l.take("alice", "10.0.0.2", t0), 0, "another address is not blocked");
  assert.is(l.take("bob", "10.0.0.1", t0), 0, "another user from the same address is not blocked");
  assert.is(l.take("alice", "10.0.0.1", t0 + 10_000), 0, "refilled after 10 s (6 per minute)");
  const r = new RateLimiter({ burst: 2, perMinute: 60 });
  assert.is(r.take("k", 0), 0);
  assert.is(r.take("k", 0), 0);
  assert.is(r.take("k", 0), 1);
});

test("passwords: argon2id hashes, verification, malformed hashes never match", async () => {
  const h = new PasswordHasher({ memoryCost: 8192, timeCost: 2, parallelism: 1 });
  const hash = await h.hash("correct horse battery");
  assert.match(hash, /^\$argon2id\$v=19\$m=8192,p=1,t=2\$/);
  assert.ok(await h.verify(hash, "correct horse battery"));
  assert.not.ok(await h.verify(hash, "wrong"));
  assert.not.ok(await h.verify("not a hash", "x"));
  assert.is(await h.verifyDummy("x"), false);
});

test("API keys: registry sha256 entries and DEEPSAFE_API_KEYS; identify() refuses bad credentials", async () => {
  const reg = parseRegistry({ detectors: [], auth: { api_keys: [{ name: "batch", sha256: "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b" }] } });
  const table = apiKeyTable(reg.auth, { DEEPSAFE_API_KEYS: "ci=ci-key-0123456789abcdefgh" });
  const a = new Authenticator(settings, table);
  const h = (headers: Record<string, string>) => (name: string) => headers[name];
  assert.equal(await a.identify(h({ "x-api-key": "secret" })), { id: "apikey:batch", kind: "apikey", name: "batch" });
  assert.equal(await a.identify(h({ "x-api-key": "ci-key-0123456789abcdefgh" })), { id: "apikey:ci", kind: "apikey", name: "ci" });
  assert.is(await a.identify(h({})), undefined);
  const bads: Record<string, string>[] = [{ "x-api-key": "nope" }, { authorization: "Basic abc" }, { authorization: "Bearer x.y.z" }];
  for (const bad of bads) {
    try {
      await a.identify(h(bad));
      assert.unreachable(JSON.stringify(bad));
    } catch (err) {
      assert.instance(err, AuthError);
    }
  }
  assert.equal(await a.identify(h({ authorization: `Bearer ${await issueToken(settings, "bob")}` })), { id: "user:bob", kind: "user", name: "bob" });
  assert.throws(() => apiKeyTable(reg.auth, { DEEPSAFE_API_KEYS: "short=abc" }), /too short/);
  assert.throws(() => apiKeyTable(reg.auth, { DEEPSAFE_API_KEYS: "novalue" }), /name=key/);
});

test("strict base64: standard, URL-safe, unpadded, data: URLs, line breaks; junk refused", () => {
  const bytes = Buffer.from([0xff, 0xd8, 0xff, 0xfe, 0x00, 0x10, 0x3f]);
  const std = bytes.toString("base64");
  assert.equal(decodeBase64Strict(std), bytes);
  assert.equal(decodeBase64Strict(bytes.toString("base64url")), bytes);
  assert.equal(decodeBase64Strict(std.replace(/=+$/, "")), bytes);
  assert.equal(decodeBase64Strict(`data:image/jpeg;base64,${std}`), bytes);
  assert.equal(decodeBase64Strict(`${std.slice(0, 4)}\r\n${std.slice(4)}`), bytes);
  for (const bad of ["abc$", "ab=c", "a", "abcde", "QUJD=A", "ab+_", "data:image/jpeg,abcd", "===="]) {
    assert.is(decodeBase64Strict(bad), undefined, bad);
  }
});

test.run();
