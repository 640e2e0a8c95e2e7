// DynamicBatcher semantics: batch formation (full batch at once, partial batch after the delay,
// next batch forms while one runs), per-caller results, error isolation, cancellation, the queue
// bound, and the environment switch. The runner here is the unit's own seam (a batch function);
// services/npr/test/batching.test.ts runs the same batcher on the real NPR ONNX graph over gRPC.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { status } from "@grpc/grpc-js";
import { type BatchObservation, CancelledError, DetectorError, DynamicBatcher, batchingFromEnv } from "../src/index.js";

/** A runner that records every batch and answers item × 10, optionally held until released. */
function recorder(options: { hold?: boolean; failOn?: number } = {}) {
  const calls: number[][] = [];
  const releases: Array<() => void> = [];
  const run = async (items: readonly number[]): Promise<number[]> => {
    calls.push([...items]);
    if (options.hold) await new Promise<void>((resolve) => releases.push(resolve));
    if (options.failOn !== undefined && items.includes(options.failOn)) throw new Error(`bad item ${options.failOn}`);
    return items.map((x) => x * 10);
  };
  return { calls, releases, run };
}

test("a full batch runs at once, as one call, and every caller gets its own output", async () => {
  const r = recorder();
  const observed: BatchObservation[] = [];
  const batcher = new DynamicBatcher(r.run, { maxBatchSize: 4, maxQueueDelayMs: 60_000 }, (o) => observed.push(o));
  const results = [1, 2, 3, 4].map((x) => batcher.submit(x));
  // The fourth submit filled the batch: the call started synchronously, no timer involved.
  assert.equal(r.calls, [[1, 2, 3, 4]]);
  assert.equal(await Promise.all(results), [10, 20, 30, 40]);
  assert.is(observed.length, 1);
  assert.is(observed[0]!.size, 4);
  assert.is(observed[0]!.queueSeconds.length, 4);
});

test("a partial batch waits for the queue delay, then runs with what has arrived", async () => {
  const r = recorder();
  const observed: BatchObservation[] = [];
  const batcher = new DynamicBatcher(r.run, { maxBatchSize: 8, maxQueueDelayMs: 30 }, (o) => observed.push(o));
  const results = [batcher.submit(1), batcher.submit(2)];
  assert.equal(r.calls, [], "nothing runs before the delay while the batch is not full");
  assert.is(batcher.queued, 2);
  assert.equal(await Promise.all(results), [10, 20]);
  assert.equal(r.calls, [[1, 2]]);
  // Timers never fire early; 2 ms of slack for the clock granularity of the event loop.
  assert.ok(observed[0]!.queueSeconds[0]! >= 0.028, `oldest item waited ${observed[0]!.queueSeconds[0]} s`);
});

test("while one batch runs the next one forms, and runs as soon as the model is free", async () => {
  const r = recorder({ hold: true });
  const batcher = new DynamicBatcher(r.run, { maxBatchSize: 8, maxQueueDelayMs: 0 });
  const first = batcher.submit(1);
  assert.equal(r.calls, [[1]], "delay 0: a lone item runs at once");
  const rest = [2, 3, 4].map((x) => batcher.submit(x));
  assert.equal(r.calls.length, 1, "one batch at a time");
  assert.is(batcher.queued, 3);
  r.releases.shift()!();
  assert.is(await first, 10);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(r.calls, [[1], [2, 3, 4]]);
  r.releases.shift()!();
  assert.equal(await Promise.all(rest), [20, 30, 40]);
});

test("one failing item fails alone: the batch is retried item by item", async () => {
  const r = recorder({ failOn: 2 });
  const batcher = new DynamicBatcher(r.run, { maxBatchSize: 3, maxQueueDelayMs: 60_000 });
  const settled = await Promise.allSettled([1, 2, 3].map((x) => batcher.submit(x)));
  assert.equal(settled[0], { status: "fulfilled", value: 10 });
  assert.is(settled[1]!.status, "rejected");
  assert.match(((settled[1] as PromiseRejectedResult).reason as Error).message, /bad item 2/);
  assert.equal(settled[2], { status: "fulfilled", value: 30 });
  assert.equal(r.calls, [[1, 2, 3], [1], [2], [3]]);
});

test("a runner that returns the wrong number of outputs is an error for every caller, never a shifted result", async () => {
  const batcher = new DynamicBatcher(async (items: readonly number[]) => items.slice(1), { maxBatchSize: 2, maxQueueDelayMs: 60_000 });
  const settled = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
  for (const s of settled) {
    assert.is(s.status, "rejected");
    assert.match(((s as PromiseRejectedResult).reason as Error).message, /returned 0 outputs for 1 items/);
  }
});

test("cancelling a queued item drops it from the queue; the others still run", async () => {
  const r = recorder({ hold: true });
  const batcher = new DynamicBatcher(r.run, { maxBatchSize: 8, maxQueueDelayMs: 0 });
  const first = batcher.submit(1);
  const controller = new AbortController();
  const cancelled = batcher.submit(2, controller.signal);
  const kept = batcher.submit(3);
  assert.is(batcher.queued, 2);
  controller.abort(new CancelledError("client cancelled the call"));
  try {
    await cancelled;
    assert.unreachable("cancelled item must reject");
  } catch (err) {
    assert.instance(err, CancelledError);
  }
  assert.is(batcher.queued, 1);
  r.releases.shift()!();
  await first;
  await new Promise((resolve) => setImmediate(resolve));
  r.releases.shift()!();
  assert.is(await kept, 30);
  assert.equal(r.calls, [[1], [3]], "the cancelled item never reached the model");
});

test("an already-aborted signal rejects without queueing", async () => {
  const r = recorder();
  const batcher = new DynamicBatcher(r.run, { maxBatchSize: 2, maxQueueDelayMs: 0 });
  const controller = new AbortController();
  controller.abort();
  try {
    await batcher.submit(1, controller.signal);
    assert.unreachable("must reject");
  } catch (err) {
    assert.instance(err, DetectorError);
    assert.is((err as DetectorError).code, status.CANCELLED);
  }
  assert.is(batcher.queued, 0);
  assert.equal(r.calls, []);
});

test("the queue is bounded: past maxQueueSize, RESOURCE_EXHAUSTED at once", async () => {
  const r = recorder({ hold: true });
  const batcher = new DynamicBatcher(r.run, { maxBatchSize: 2, maxQueueDelayMs: 0, maxQueueSize: 2 });
  const running = batcher.submit(1);
  const waiting = [batcher.submit(2), batcher.submit(3)];
  try {
    await batcher.submit(4);
    assert.unreachable("must be refused");
  } catch (err) {
    assert.instance(err, DetectorError);
    assert.is((err as DetectorError).code, status.RESOURCE_EXHAUSTED);
  }
  r.releases.shift()!();
  await running;
  await new Promise((resolve) => setImmediate(resolve));
  r.releases.shift()!();
  assert.equal(await Promise.all(waiting), [20, 30]);
});

test("batching is off unless DEEPSAFE_BATCH_MAX_SIZE > 1; bad settings are refused", () => {
  assert.is(batchingFromEnv({}), undefined);
  assert.is(batchingFromEnv({ DEEPSAFE_BATCH_MAX_SIZE: "1" }), undefined);
  assert.equal(batchingFromEnv({ DEEPSAFE_BATCH_MAX_SIZE: "8" }), { maxBatchSize: 8, maxQueueDelayMs: 5, maxQueueSize: undefined });
  assert.equal(batchingFromEnv({ DEEPSAFE_BATCH_MAX_SIZE: "4", DEEPSAFE_BATCH_MAX_DELAY_MS: "2.5", DEEPSAFE_BATCH_MAX_QUEUE: "16" }), {
    maxBatchSize: 4,
    maxQueueDelayMs: 2.5,
    maxQueueSize: 16,
  });
  assert.throws(() => batchingFromEnv({ DEEPSAFE_BATCH_MAX_SIZE: "many" }), /DEEPSAFE_BATCH_MAX_SIZE must be a number/);
  assert.throws(() => new DynamicBatcher(async () => [], { maxBatchSize: 2.5, maxQueueDelayMs: 1 }), /maxBatchSize must be an integer/);
  assert.throws(() => new DynamicBatcher(async () => [], { maxBatchSize: 4, maxQueueDelayMs: Number.NaN }), /maxQueueDelayMs/);
});

test.run();
