// Dynamic batching in the spirit of Triton's dynamic batcher: callers submit one item each; a
// per-model queue runs them as ONE model call once `maxBatchSize` items wait or the oldest has
// waited `maxQueueDelayMs`, and resolves every caller with its own output. One batch runs at a
// time (the model already spreads one call over every intra-op thread); the next batch forms
// while it runs. Off unless configured (DEEPSAFE_BATCH_MAX_SIZE > 1).
import { CancelledError, ResourceExhaustedError } from "./errors.js";

export interface BatchingOptions {
  /** Most items in one model call (≥ 2: a size of 1 is no batching). */
  maxBatchSize: number;
  /** Longest an item waits for others while the model is idle before a partial batch runs. */
  maxQueueDelayMs: number;
  /** Items waiting beyond which submit() rejects with RESOURCE_EXHAUSTED (default 4 × maxBatchSize). */
  maxQueueSize?: number;
}

/** One model call: its size, and how long each of its items waited in the queue. */
export interface BatchObservation {
  size: number;
  queueSeconds: number[];
  runSeconds: number;
}

/** Runs a batch; must return exactly one output per item, in order. */
export type BatchRunner<I, O> = (items: readonly I[]) => Promise<readonly O[]>;

interface Pending<I, O> {
  item: I;
  enqueuedAt: number;
  resolve: (output: O) => void;
  reject: (err: unknown) => void;
  /** Detaches the abort listener once the item has left the queue. */
  detach: () => void;
}

export class DynamicBatcher<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  readonly maxQueueSize: number;

  constructor(
    private readonly run: BatchRunner<I, O>,
    readonly options: BatchingOptions,
    private readonly observe?: (observation: BatchObservation) => void,
  ) {
    const { maxBatchSize, maxQueueDelayMs } = options;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 2) {
      throw new RangeError(`maxBatchSize must be an integer >= 2, got ${maxBatchSize}`);
    }
    if (!(maxQueueDelayMs >= 0) || !Number.isFinite(maxQueueDelayMs)) {
      throw new RangeError(`maxQueueDelayMs must be a finite number >= 0, got ${maxQueueDelayMs}`);
    }
    this.maxQueueSize = options.maxQueueSize ?? 4 * maxBatchSize;
    if (!Number.isInteger(this.maxQueueSize) || this.maxQueueSize < 1) {
      throw new RangeError(`maxQueueSize must be an integer >= 1, got ${this.maxQueueSize}`);
    }
  }

  /** Items waiting for a batch (not counting the one running). */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * The output for `item`, computed in a batch with other callers' items. Aborting `signal` while the
   * item still waits removes it from the queue and rejects with the abort reason; once its batch
   * runs, the call completes (the caller checks its signal afterwards, as for an unbatched call).
   */
  submit(item: I, signal?: AbortSignal): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      if (this.queue.length >= this.maxQueueSize) {
        return reject(new ResourceExhaustedError(`batch queue is full (${this.maxQueueSize} waiting): retry later`));
      }
      const pending: Pending<I, O> = { item, enqueuedAt: performance.now(), resolve, reject, detach: () => {} };
      if (signal) {
        const onAbort = () => {
          const at = this.queue.indexOf(pending);
          if (at < 0) return;
          this.queue.splice(at, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        pending.detach = () => signal.removeEventListener("abort", onAbort);
      }
      this.queue.push(pending);
      this.schedule();
    });
  }

  /** Run a batch now if one is due, else arm the timer for the oldest item's deadline. */
  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    const waited = performance.now() - this.queue[0]!.enqueuedAt;
    if (this.queue.length >= this.options.maxBatchSize || waited >= this.options.maxQueueDelayMs) {
      void this.dispatch();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, this.options.maxQueueDelayMs - waited);
  }

  private async dispatch(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue.splice(0, this.options.maxBatchSize);
    for (const p of batch) p.detach();
    this.running = true;
    try {
      await this.runIsolated(batch);
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  /** Run the batch; if it fails as a whole, run its items one by one so one bad item fails alone. */
  private async runIsolated(batch: Pending<I, O>[]): Promise<void> {
    try {
      const outputs = await this.timedRun(batch);
      batch.forEach((p, i) => p.resolve(outputs[i]!));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      for (const p of batch) {
        try {
          p.resolve((await this.timedRun([p]))[0]!);
        } catch (itemErr) {
          p.reject(itemErr);
        }
      }
    }
  }

  private async timedRun(batch: Pending<I, O>[]): Promise<readonly O[]> {
    const started = performance.now();
    const outputs = await this.run(batch.map((p) => p.item));
    if (outputs.length !== batch.length) {
      throw new Error(`batch runner returned ${outputs.length} outputs for ${batch.length} items`);
    }
    this.observe?.({
      size: batch.length,
      queueSeconds: batch.map((p) => (started - p.enqueuedAt) / 1000),
      runSeconds: (performance.now() - started) / 1000,
    });
    return outputs;
  }
}

/** Batching settings from DEEPSAFE_BATCH_MAX_SIZE / DEEPSAFE_BATCH_MAX_DELAY_MS / DEEPSAFE_BATCH_MAX_QUEUE; undefined = off. */
export function batchingFromEnv(env: NodeJS.ProcessEnv = process.env): BatchingOptions | undefined {
  const number = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a number >= 0, got "${raw}"`);
    return value;
  };
  const maxBatchSize = number("DEEPSAFE_BATCH_MAX_SIZE") ?? 1;
  if (maxBatchSize <= 1) return undefined;
  return {
    maxBatchSize,
    maxQueueDelayMs: number("DEEPSAFE_BATCH_MAX_DELAY_MS") ?? 5,
    maxQueueSize: number("DEEPSAFE_BATCH_MAX_QUEUE"),
  };
}

/** The caller's typed reason (deadline, cancel); a bare abort() becomes CANCELLED. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error && reason.name !== "AbortError" ? reason : new CancelledError("request cancelled");
}
