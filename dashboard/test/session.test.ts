// Session handling with tokens the gateway's own issuer signs: kept only when well formed and live,
// dropped when expired or damaged.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { issueToken } from "../../gateway/src/auth/tokens.js";
import { clearSession, credentialProblems, isLive, jwtClaims, loadSession, saveSession, SessionError, sessionFromToken } from "../src/session.js";

/** sessionStorage's interface over a Map (Node has no Web Storage). */
class MemoryStorage implements Storage {
  #m = new Map<string, string>();
  get length() {
    return this.#m.size;
  }
  clear() {
    this.#m.clear();
  }
  getItem(k: string) {
    return this.#m.get(k) ?? null;
  }
  key(i: number) {
    return [...this.#m.keys()][i] ?? null;
  }
  removeItem(k: string) {
    this.#m.delete(k);
  }
  setItem(k: string, v: string) {
    this.#m.set(k, String(v));
  }
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

const settings = { secret: new TextEncoder().encode("session-test-secret-0123456789-abcdefghij"), issuer: "deepsafe", audience: "deepsafe-api", minutes: 30, clockToleranceS: 30 };

test("a gateway token becomes a session expiring at the token's exp", async () => {
  const now = new Date();
  const token = await issueToken(settings, "ada", now);
  assert.is(jwtClaims(token).sub, "ada");
  const s = sessionFromToken(token, "ada", 1800, now.getTime());
  assert.ok(Math.abs(s.expiresAt - (now.getTime() + 30 * 60_000)) < 1000);
  assert.ok(isLive(s, now.getTime()));
  assert.not.ok(isLive(s, s.expiresAt));
});

test("malformed or already expired tokens are refused", async () => {
  assert.throws(() => sessionFromToken("not-a-jwt", "ada", 1800), /malformed/);
  assert.throws(() => sessionFromToken("a.%%%.c", "ada", 1800), /malformed/);
  assert.instance(catchError(() => sessionFromToken("x", "ada", 1)), SessionError);
  const old = await issueToken(settings, "ada", new Date(Date.now() - 31 * 60_000));
  assert.throws(() => sessionFromToken(old, "ada", 1800), /already expired/);
});

test("stored sessions: loaded while live, removed when expired or damaged", async () => {
  const storage = new MemoryStorage();
  const s = sessionFromToken(await issueToken(settings, "ada"), "ada", 1800);
  saveSession(storage, s);
  assert.equal(loadSession(storage), s);
  assert.is(loadSession(storage, s.expiresAt + 1), undefined);
  assert.is(storage.length, 0, "an expired session is removed");
  storage.setItem("deepsafe.session", "{not json");
  assert.is(loadSession(storage), undefined);
  assert.is(storage.length, 0);
  saveSession(storage, s);
  clearSession(storage);
  assert.is(loadSession(storage), undefined);
});

test("registration fields are checked with the gateway's rules", () => {
  assert.equal(credentialProblems("ada", "long enough"), {});
  assert.ok(credentialProblems("ab", "long enough").username);
  assert.ok(credentialProblems(".ada", "long enough").username);
  assert.ok(credentialProblems("ada lovelace", "long enough").username);
  assert.ok(credentialProblems("ada", "short").password);
});

test.run();
