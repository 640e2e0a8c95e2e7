// Closed-loop load: N workers each send their next request as soon as the previous one answers.
// Shared by bench/batching.ts and bench/load.ts.

export interface LoopResult {
  requests: number;
  seconds: number;
  /** Successful answers per second. */
  throughput: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Error count by code (gRPC status name, HTTP status, or "other"). */
  errors: Record<string, number>;
  /** How long failed calls took (a shed request should fail fast). */
  errorLatencyMs: { p50: number; max: number };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (xs: readonly number[]): number => percentile([...xs].sort((a, b) => a - b), 50);

/**
 * Run `call(i)` from `concurrency` workers for `seconds`; `errorCode` names a failure's code.
 * Latencies are of successful calls; a failed call counts under its code.
 */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  call: (index: number, worker: number) => Promise<unknown>,
  errorCode: (err: unknown) => string = () => "other",
): Promise<LoopResult> {
  const started = performance.now();
  const end = started + seconds * 1000;
  const latencies: number[] = [];
  const errorLatencies: number[] = [];
  const errors: Record<string, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await call(next++, worker);
          latencies.push(performance.now() - t0);
        } catch (err) {
          errorLatencies.push(performance.now() - t0);
          const code = errorCode(err);
          errors[code] = (errors[code] ?? 0) + 1;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  errorLatencies.sort((a, b) => a - b);
  const failed = Object.values(errors).reduce((a, b) => a + b, 0);
  return {
    requests: latencies.length + failed,
    seconds: elapsed,
    throughput: latencies.length / elapsed,
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? Number.NaN,
    },
    errors,
    errorLatencyMs: { p50: percentile(errorLatencies, 50), max: errorLatencies.at(-1) ?? Number.NaN },
  };
}
