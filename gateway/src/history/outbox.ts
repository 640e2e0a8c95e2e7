// A small durable outbox between detection and MongoDB. A detection only appends one JSON line to a
// local file (never waiting on MongoDB); a background writer inserts the records in order, in
// batches, with backoff while MongoDB is away. Written records are marked by a byte offset (saved
// atomically); once everything is written the file is truncated. A crash between an insert and the
// offset update re-sends those records, which the store skips as duplicates (unique request_id).
//
// Files in `dir`: outbox.jsonl (append-only records), outbox.offset (bytes already written).
import { mkdirSync } from "node:fs";
import { open, readFile, rename, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";

export interface OutboxOptions<T> {
  dir: string;
  /** Writes a batch; throws to retry the same batch later. */
  sink: (batch: T[]) => Promise<void>;
  log: (msg: string) => void;
  batchSize?: number;
  /** Backoff bounds after a failed write. */
  minRetryMs?: number;
  maxRetryMs?: number;
  /** Called after every change of the queue length. */
  onDepth?: (depth: number) => void;
  onWrite?: (ok: boolean) => void;
}

interface Entry<T> {
  record: T;
  bytes: number;
}

export class Outbox<T> {
  private readonly file: string;
  private readonly offsetFile: string;
  private fh: FileHandle | undefined;
  private readonly pending: Entry<T>[] = [];
  /** Bytes of the file already written to the sink. */
  private offset = 0;
  /** Serialises every file operation (append, offset, truncate). */
  private io: Promise<void> = Promise.resolve();
  private flushing = false;
  private closed = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryWake: (() => void) | undefined;
  private drainedWaiters: Array<() => void> = [];

  constructor(private readonly opts: OutboxOptions<T>) {
    mkdirSync(opts.dir, { recursive: true });
    this.file = join(opts.dir, "outbox.jsonl");
    this.offsetFile = join(opts.dir, "outbox.offset");
  }

  /** Load what an earlier run left unwritten, then start writing in the background. */
  async open(): Promise<void> {
    const text = await readFile(this.file).catch(() => Buffer.alloc(0));
    this.offset = Number((await readFile(this.offsetFile, "utf8").catch(() => "0")).trim()) || 0;
    if (this.offset > text.length) this.offset = 0;
    let pos = this.offset;
    let torn = 0;
    while (pos < text.length) {
      const nl = text.indexOf(0x0a, pos);
      if (nl < 0) {
        torn = text.length - pos; // a line cut short by a crash: dropped below
        break;
      }
      const line = text.subarray(pos, nl);
      try {
        this.pending.push({ record: JSON.parse(line.toString("utf8")) as T, bytes: nl + 1 - pos });
      } catch {
        this.opts.log(`history outbox: skipping an unreadable line at byte ${pos}`);
        this.pending.push({ record: undefined as T, bytes: nl + 1 - pos }); // keeps the offsets right
      }
      pos = nl + 1;
    }
    this.fh = await open(this.file, "a");
    if (torn > 0) {
      // Rewrite without the torn tail so later appends start on a fresh line.
      await this.fh.truncate(text.length - torn);
    }
    if (this.pending.length > 0) this.opts.log(`history outbox: ${this.pending.length} record(s) from an earlier run to write`);
    this.depthChanged();
    this.kick();
  }

  /** Queue a record: one appended line; never waits on the sink. Never throws. */
  add(record: T): void {
    if (this.closed) return;
    const line = `${JSON.stringify(record)}\n`;
    const bytes = Buffer.byteLength(line);
    this.pending.push({ record, bytes });
    this.depthChanged();
    this.enqueueIo(async () => {
      await this.fh?.appendFile(line);
    });
    this.kick();
  }

  get depth(): number {
    return this.pending.length;
  }

  /** Resolves when the queue is empty (or after timeoutMs). Returns whether it emptied. */
  async drained(timeoutMs: number): Promise<boolean> {
    if (this.pending.length === 0) return true;
    this.wakeRetry();
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      new Promise<boolean>((resolve) => this.drainedWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return ok;
  }

  /** Retry now instead of waiting for the backoff (e.g. MongoDB just came back). */
  wakeRetry(): void {
    this.failures = 0;
    this.retryWake?.();
  }

  /** Try to write what is queued for up to graceMs, then stop. Unwritten records stay in the file. */
  async close(graceMs = 2000): Promise<void> {
    if (this.pending.length > 0 && graceMs > 0) await this.drained(graceMs);
    this.closed = true;
    this.retryWake?.();
    await this.io;
    await this.fh?.close();
    this.fh = undefined;
  }

  private enqueueIo(op: () => Promise<void>): Promise<void> {
    const next = this.io.then(op).catch((err: Error) => this.opts.log(`history outbox: file error: ${err.message}`));
    this.io = next;
    return next;
  }

  private depthChanged(): void {
    this.opts.onDepth?.(this.pending.length);
  }

  private kick(): void {
    if (this.flushing || this.closed || this.pending.length === 0) return;
    this.flushing = true;
    void this.flushLoop().finally(() => {
      this.flushing = false;
      if (this.pending.length > 0 && !this.closed) this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    const size = this.opts.batchSize ?? 100;
    while (this.pending.length > 0 && !this.closed) {
      const batch = this.pending.slice(0, size);
      try {
        await this.opts.sink(batch.map((e) => e.record).filter((r) => r !== undefined));
      } catch (err) {
        this.opts.onWrite?.(false);
        this.failures++;
        if (this.failures === 1 || this.failures % 20 === 0) {
          this.opts.log(`history outbox: write failed (${(err as Error).message}); ${this.pending.length} record(s) kept, retrying`);
        }
        const min = this.opts.minRetryMs ?? 250;
        const max = this.opts.maxRetryMs ?? 10_000;
        const delay = Math.min(max, min * 2 ** Math.min(this.failures - 1, 10)) * (0.75 + Math.random() * 0.5);
        await new Promise<void>((resolve) => {
          this.retryWake = resolve;
          this.retryTimer = setTimeout(resolve, delay);
        });
        clearTimeout(this.retryTimer);
        this.retryWake = undefined;
        continue;
      }
      if (this.failures > 0) this.opts.log(`history outbox: writing again after ${this.failures} failed attempt(s)`);
      this.failures = 0;
      this.opts.onWrite?.(true);
      this.pending.splice(0, batch.length);
      this.offset += batch.reduce((n, e) => n + e.bytes, 0);
      const offset = this.offset;
      this.depthChanged();
      if (this.pending.length === 0) {
        // Everything written: start the file afresh (queued after any append still in flight; a
        // record added meanwhile keeps the file as it is).
        void this.enqueueIo(async () => {
          if (this.pending.length > 0 || !this.fh) return this.saveOffset(offset);
          await this.fh.truncate(0);
          this.offset = 0;
          await this.saveOffset(0);
        });
        for (const w of this.drainedWaiters.splice(0)) w();
      } else {
        void this.enqueueIo(() => this.saveOffset(offset));
      }
    }
  }

  private async saveOffset(offset: number): Promise<void> {
    const tmp = `${this.offsetFile}.tmp`;
    await writeFile(tmp, String(offset));
    await rename(tmp, this.offsetFile);
  }
}
