// Password hashing with argon2id (the argon2 package: libargon2 bindings, prebuilt binaries shipped
// inside the npm package). Parameters: argon2's defaults (64 MiB, 3 passes, 4 lanes), above
// OWASP's minimum; the encoded hash carries them, so they can be raised later without breaking
// existing accounts (needsRehash).
import argon2 from "argon2";

export interface HashOptions {
  memoryCost?: number;
  timeCost?: number;
  parallelism?: number;
}

export class PasswordHasher {
  private dummy: Promise<string> | undefined;

  constructor(private readonly opts: HashOptions = {}) {}

  hash(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id, ...this.opts });
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false; // malformed stored hash: never a match
    }
  }

  /** Same work as a real check, for unknown usernames (no timing difference to probe names with). */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash("dummy password for timing");
    await this.verify(await this.dummy, password);
    return false;
  }

  needsRehash(hash: string): boolean {
    try {
      return argon2.needsRehash(hash, this.opts);
    } catch {
      return false;
    }
  }
}
