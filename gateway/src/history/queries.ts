// Reading history, shared by the REST API (GET /history, GET /history/{request_id}) and
// Connect/gRPC (HistoryService): always scoped to the caller, so nobody reads another's records.
import { Code } from "@connectrpc/connect";
import type { Principal } from "../auth/index.js";
import type { MediaName } from "../registry.js";
import { ServiceError, storeUnavailable } from "../service-error.js";
import type { HistoryRecord, HistoryStore } from "./store.js";

/** A validated page request (HistoryQuery): limit absent means the largest page. */
export interface PageQuery {
  limit?: number | undefined;
  offset: number;
  mediaType?: MediaName | undefined;
}

export interface AnalysisPage {
  total: number;
  /** The page size used (capped at history.max_page). */
  limit: number;
  offset: number;
  /** Newest first, without full_response / detect_response. */
  records: HistoryRecord[];
}

export type StoredAnalysis = HistoryRecord & { _id: unknown };

export class HistoryQueries {
  constructor(
    /** Absent when history is off: every call answers UNAVAILABLE. */
    private readonly store: HistoryStore | undefined,
    private readonly maxPage: number,
  ) {}

  private get s(): HistoryStore {
    if (!this.store) throw storeUnavailable("history");
    return this.store;
  }

  async list(owner: Principal, q: PageQuery): Promise<AnalysisPage> {
    const store = this.s;
    const limit = Math.min(q.limit ?? this.maxPage, this.maxPage);
    const page = await store.list(owner.id, { limit, offset: q.offset, mediaType: q.mediaType });
    return { total: page.total, limit, offset: q.offset, records: page.records };
  }

  /** The caller's record, or NOT_FOUND (also for another caller's record: its existence is not revealed). */
  async get(owner: Principal, requestId: string): Promise<StoredAnalysis> {
    const r = await this.s.get(owner.id, requestId);
    if (!r) throw new ServiceError("Analysis not found", Code.NotFound);
    return r;
  }
}
