// Analysis history in MongoDB (mongoose): one record per detection, written by the outbox (never on
// the request path), read per user by GET /history and GET /history/{request_id} and by HistoryService (history/queries.ts).
import { Schema, type Connection, type Model } from "mongoose";
import { Database } from "../db.js";

export interface HistoryRecord {
  request_id: string;
  /** Owner: "user:<name>", "apikey:<name>", or null for anonymous detections. */
  user: string | null;
  /** API method the detection came through (connect_detect, rest_predict, rest_detect). */
  method: string;
  media_type: string;
  file_name: string;
  size: number;
  /** sha256 of the media bytes as received (hex). */
  sha256: string;
  verdict: "fake" | "real" | "undetermined";
  confidence: number;
  ensemble_score: number | null;
  ensemble_method: string;
  ensemble_method_requested: string | null;
  threshold: number;
  note: string;
  model_results: Record<string, unknown>;
  timings: { total_seconds: number; models: Record<string, number> };
  /** The response as the REST API returned it (POST /predict shape). */
  full_response: Record<string, unknown>;
  /**
   * The DetectResponse as Connect/gRPC returned it (protobuf JSON), for HistoryService.GetAnalysis.
   * Absent in records written before it was added (then rebuilt from full_response).
   */
  detect_response?: Record<string, unknown>;
  /** ISO 8601 in the outbox, a Date in MongoDB. */
  created_at: string | Date;
}

const recordSchema = new Schema(
  {
    request_id: { type: String, required: true },
    user: { type: String, default: null },
    method: String,
    media_type: { type: String, required: true },
    file_name: String,
    size: Number,
    sha256: String,
    verdict: String,
    confidence: Number,
    ensemble_score: { type: Number, default: null },
    ensemble_method: String,
    ensemble_method_requested: { type: String, default: null },
    threshold: Number,
    note: String,
    model_results: Schema.Types.Mixed,
    timings: Schema.Types.Mixed,
    full_response: Schema.Types.Mixed,
    detect_response: Schema.Types.Mixed,
    created_at: { type: Date, required: true },
  },
  { versionKey: false, minimize: false, autoIndex: false, autoCreate: false },
);
// Idempotent writes (a record re-sent after a crash is a duplicate, not a second record).
recordSchema.index({ request_id: 1 }, { unique: true });
// GET /history: a user's records newest first, optionally of one media type.
recordSchema.index({ user: 1, created_at: -1 });
recordSchema.index({ user: 1, media_type: 1, created_at: -1 });

export interface HistoryPage {
  total: number;
  records: HistoryRecord[];
}

/** MongoDB's duplicate key error code. */
const DUPLICATE_KEY = 11000;

export class HistoryStore {
  private model: Model<HistoryRecord> | undefined;

  constructor(private readonly db: Database) {
    db.onConnect(async (conn: Connection) => {
      const model = conn.model<HistoryRecord>("Analysis", recordSchema, "analyses");
      await model.createCollection().catch((err: { codeName?: string }) => {
        if (err.codeName !== "NamespaceExists") throw err;
      });
      await model.createIndexes();
      this.model = model;
    });
  }

  private get m(): Model<HistoryRecord> {
    this.db.require();
    if (!this.model) throw new Error("history store not initialised");
    return this.model;
  }

  /** Insert records; ones already stored (same request_id) are skipped, so retries are safe. */
  async insert(records: HistoryRecord[]): Promise<void> {
    if (records.length === 0) return;
    const docs = records.map((r) => ({ ...r, created_at: new Date(r.created_at) }));
    try {
      await this.m.collection.insertMany(docs, { ordered: false });
    } catch (err) {
      type WriteError = { code?: number; err?: { code?: number } };
      const e = err as { code?: number; writeErrors?: WriteError[] | WriteError };
      const writeErrors = Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : [];
      const onlyDuplicates =
        (writeErrors.length > 0 && writeErrors.every((w) => (w.code ?? w.err?.code) === DUPLICATE_KEY)) ||
        (writeErrors.length === 0 && e.code === DUPLICATE_KEY);
      if (!onlyDuplicates) throw err;
    }
  }

  async list(user: string, opts: { limit: number; offset: number; mediaType?: string | undefined }): Promise<HistoryPage> {
    const filter: Record<string, unknown> = { user };
    if (opts.mediaType) filter.media_type = opts.mediaType;
    const [total, records] = await Promise.all([
      this.m.countDocuments(filter),
      this.m
        .find(filter, { full_response: 0, detect_response: 0 })
        .sort({ created_at: -1, _id: -1 })
        .skip(opts.offset)
        .limit(opts.limit)
        .lean<HistoryRecord[]>(),
    ]);
    return { total, records };
  }

  async get(user: string, requestId: string): Promise<(HistoryRecord & { _id: unknown }) | null> {
    return this.m.findOne({ user, request_id: requestId }).lean<HistoryRecord & { _id: unknown }>();
  }

  async count(filter: Record<string, unknown> = {}): Promise<number> {
    return this.m.countDocuments(filter);
  }
}
