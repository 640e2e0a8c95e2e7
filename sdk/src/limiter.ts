// Admission control in the spirit of Ray Serve's max_ongoing/max_queued: a fixed number of
// inference slots and a bounded number of admitted requests; past that, reject at once.
import { CancelledError, ResourceExhaustedError } from "./errors.js";

export interface LimiterOptions {
  /** Inferences running at once. */
  maxConcurrent: number;
  /** Admitted requests waiting (uploading or queued) beyond the running ones. */
  maxQueued: number;
}

export class InferenceLimiter {
  private admitted = 0;
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly options: LimiterOptions) {}

  get inflight(): number {
    return this.admitted;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Reserve a place for a new request, or throw RESOURCE_EXHAUSTED. Call release() exactly once. */
  admit(): () => void {
    if (this.admitted >= this.options.maxConcurrent + this.options.maxQueued) {
      throw new ResourceExhaustedError(
        `detector is at capacity (${this.options.maxConcurrent} running, ${this.options.maxQueued} queued): retry later`,
      );
    }
    this.admitted++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.admitted--;
    };
  }

  /** Wait for an inference slot. Resolves to the function that frees it. */
  async acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) throw abortError(signal);
    if (this.running < this.options.maxConcurrent) {
      this.running++;
      return this.slotReleaser();
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(grant);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(abortError(signal));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(grant);
    });
    return this.slotReleaser();
  }

  private slotReleaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter so running never dips and rises again.
      if (next) next();
      else this.running--;
    };
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new CancelledError("request cancelled");
}
