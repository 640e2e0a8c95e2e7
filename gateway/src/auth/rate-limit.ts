// Token buckets for login attempts, keyed by username + client address (and by address alone, with
// a larger budget, so one client cannot walk through many usernames). In memory: a restart resets
// them, which is acceptable for one gateway; several replicas would share a store.
export interface BucketSettings {
  burst: number;
  perMinute: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly s: BucketSettings,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes one token: 0 when allowed, else the seconds to wait before the next try. */
  take(key: string, now = Date.now()): number {
    const ratePerMs = this.s.perMinute / 60_000;
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.s.burst, b.tokens + (now - b.at) * ratePerMs);
      b.at = now;
    } else {
      if (this.buckets.size >= this.maxKeys) this.prune(now);
      b = { tokens: this.s.burst, at: now };
      this.buckets.set(key, b);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / ratePerMs / 1000));
  }

  /** Drop buckets that have refilled (they equal a fresh one). */
  private prune(now: number): void {
    const ratePerMs = this.s.perMinute / 60_000;
    for (const [k, b] of this.buckets) if (b.tokens + (now - b.at) * ratePerMs >= this.s.burst) this.buckets.delete(k);
    if (this.buckets.size >= this.maxKeys) this.buckets.clear();
  }
}

export class LoginLimiter {
  private readonly perUser: RateLimiter;
  private readonly perAddress: RateLimiter;

  constructor(s: BucketSettings) {
    this.perUser = new RateLimiter(s);
    this.perAddress = new RateLimiter({ burst: s.burst * 4, perMinute: s.perMinute * 4 });
  }

  /** 0 when the attempt may go ahead, else Retry-After seconds. */
  take(username: string, address: string, now = Date.now()): number {
    const a = this.perAddress.take(address, now);
    const u = this.perUser.take(`${username.toLowerCase()}\u0000${address}`, now);
    return Math.max(a, u);
  }
}
