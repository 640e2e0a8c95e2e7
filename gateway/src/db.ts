// The gateway's MongoDB connection (mongoose), shared by accounts and history. It never blocks the
// gateway: start() returns at once and keeps trying in the background; operations fail fast while
// the database is away (no command buffering), and the driver reconnects by itself once it is back.
import mongoose, { type Connection } from "mongoose";

export interface DatabaseOptions {
  uri: string;
  log: (msg: string) => void;
  /** How long an operation waits for a server before failing (the caller retries later). */
  serverSelectionTimeoutMS?: number;
}

/** Thrown when an operation needs MongoDB and it is not reachable. */
export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
}

/** The URI with any password masked, for logs. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/([^:/@]+):[^@/]*@/, "//$1:***@");
}

export class Database {
  readonly conn: Connection;
  private connected = false;
  private closed = false;
  private readonly setup: Array<(conn: Connection) => Promise<void>> = [];
  private readyWaiters: Array<() => void> = [];
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly opts: DatabaseOptions) {
    this.conn = mongoose.createConnection();
    this.conn.on("error", () => {}); // reported through the connect loop and the operations
    this.conn.on("disconnected", () => {
      if (this.connected && !this.closed) opts.log(`history: MongoDB ${redactUri(opts.uri)} disconnected; the driver reconnects when it is back`);
    });
    this.conn.on("reconnected", () => opts.log(`history: MongoDB reconnected`));
  }

  /** Run once after the first successful connection (index creation); retried until it succeeds. */
  onConnect(fn: (conn: Connection) => Promise<void>): void {
    this.setup.push(fn);
  }

  /** Start connecting in the background. */
  start(): void {
    void this.connectLoop(0);
  }

  get ready(): boolean {
    return this.connected && this.conn.readyState === 1;
  }

  /** Resolves once connected and set up (or never, when closed first). */
  whenReady(): Promise<void> {
    return this.connected ? Promise.resolve() : new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Throws DatabaseUnavailableError unless the first connection was made. */
  require(): Connection {
    if (!this.connected) throw new DatabaseUnavailableError("MongoDB is not reachable");
    return this.conn;
  }

  private async connectLoop(attempt: number): Promise<void> {
    if (this.closed) return;
    try {
      if (this.conn.readyState !== 1) {
        await this.conn.openUri(this.opts.uri, {
          serverSelectionTimeoutMS: this.opts.serverSelectionTimeoutMS ?? 2000,
          connectTimeoutMS: 2000,
          heartbeatFrequencyMS: 2000,
          bufferCommands: false,
          autoIndex: false,
          autoCreate: false,
          maxPoolSize: 10,
        });
      }
      for (const fn of this.setup) await fn(this.conn);
      this.connected = true;
      this.opts.log(`history: connected to MongoDB ${redactUri(this.opts.uri)}`);
      for (const w of this.readyWaiters.splice(0)) w();
    } catch (err) {
      if (this.closed) return;
      if (attempt === 0 || attempt % 10 === 0) {
        this.opts.log(`history: MongoDB ${redactUri(this.opts.uri)} not reachable (${(err as Error).message}); retrying in the background`);
      }
      const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
      this.retry = setTimeout(() => void this.connectLoop(attempt + 1), delay);
      this.retry.unref();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.conn.close(true).catch(() => {});
  }
}

/** True for errors that mean "MongoDB is not reachable right now" rather than "bad request". */
export function isConnectivityError(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  const name = (err as { name?: string })?.name ?? "";
  return /MongoServerSelectionError|MongoNetworkError|MongoNetworkTimeoutError|MongoNotConnectedError|MongoTopologyClosedError|PoolClearedError|MongooseServerSelectionError/.test(name);
}
