// The history outbox on its own: order, retry with backoff, survival across restarts, torn lines.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { appendFileSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Outbox } from "../src/history/outbox.js";

type Rec = { id: number };

function sink(fail: { on: boolean }) {
  const written: number[] = [];
  return {
    written,
    fn: async (batch: Rec[]) => {
      if (fail.on) throw new Error("database down");
      written.push(...batch.map((r) => r.id));
    },
  };
}

test("records are written in order; the file is emptied once everything is written", async () => {
  const dir = mkdtempSync(join(tmpdir(), "deepsafe-outbox-"));
  const s = sink({ on: false });
  const o = new Outbox<Rec>({ dir, sink: s.fn, log: () => {}, batchSize: 3 });
  await o.open();
  for (let i = 0; i < 10; i++) o.add({ id: i });
  assert.ok(await o.drained(5000));
  assert.equal(s.written, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await o.close();
  assert.is(statSync(join(dir, "outbox.jsonl")).size, 0);
});

test("while the sink fails, add() never waits; records are kept and written once it works again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "deepsafe-outbox-"));
  const fail = { on: true };
  const s = sink(fail);
  const depths: number[] = [];
  const o = new Outbox<Rec>({ dir, sink: s.fn, log: () => {}, minRetryMs: 20, maxRetryMs: 100, onDepth: (d) => depths.push(d) });
  await o.open();
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) o.add({ id: i });
  assert.ok(performance.now() - t0 < 50, "add() is synchronous");
  await new Promise((r) => setTimeout(r, 300));
  assert.is(o.depth, 50);
  assert.equal(s.written, []);
  fail.on = false;
  assert.ok(await o.drained(5000));
  assert.equal(s.written, Array.from({ length: 50 }, (_, i) => i));
  assert.is(depths.at(-1), 0);
  await o.close();
});

test("what was not written survives a restart (and a torn last line is dropped)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "deepsafe-outbox-"));
  const fail = { on: false };
  const s1 = sink(fail);
  const o1 = new Outbox<Rec>({ dir, sink: s1.fn, log: () => {}, minRetryMs: 20, maxRetryMs: 50 });
  await o1.open();
  o1.add({ id: 1 });
  o1.add({ id: 2 });
  assert.ok(await o1.drained(2000));
  fail.on = true;
  o1.add({ id: 3 });
  o1.add({ id: 4 });
  await new Promise((r) => setTimeout(r, 100));
  await o1.close(0);
  appendFileSync(join(dir, "outbox.jsonl"), '{"id": 5'); // a crash in the middle of a write
  const s2 = sink({ on: false });
  const o2 = new Outbox<Rec>({ dir, sink: s2.fn, log: () => {} });
  await o2.open();
  assert.ok(await o2.drained(2000));
  assert.equal(s2.written, [3, 4], "only the unwritten records, once each");
  o2.add({ id: 6 });
  assert.ok(await o2.drained(2000));
  assert.equal(s2.written, [3, 4, 6]);
  await o2.close();
  assert.is(readFileSync(join(dir, "outbox.jsonl"), "utf8"), "");
});

test.run();
