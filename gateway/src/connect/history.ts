// deepsafe.v1.HistoryService over Connect, gRPC and gRPC-Web: the caller's own records, through
// the same queries as REST's GET /history and GET /history/{request_id} (history/queries.ts).
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { MediaType } from "@deepsafe/proto/es/common";
import { Verdict } from "@deepsafe/proto/es/gateway";
import {
  AnalysisSchema,
  GetAnalysisResponseSchema,
  HistoryService,
  ListAnalysesResponseSchema,
  type Analysis,
} from "@deepsafe/proto/es/history";
import type { Authenticator } from "../auth/index.js";
import { detectResponseOf, mediaTypeOfName, VERDICT_OF } from "../history/record.js";
import type { HistoryQueries } from "../history/queries.js";
import type { HistoryRecord } from "../history/store.js";
import { ENSEMBLE_OF, mediaName } from "../registry.js";
import * as S from "../rest/schemas.js";
import { guard, invalidArgument, requireCaller } from "./common.js";

export interface HistoryRoutesDeps {
  history: HistoryQueries;
  auth: Authenticator;
  log: (msg: string) => void;
}

function analysisOf(r: HistoryRecord, withResponse: boolean): Analysis {
  return create(AnalysisSchema, {
    requestId: r.request_id,
    mediaType: mediaTypeOfName(r.media_type),
    verdict: VERDICT_OF[r.verdict] ?? Verdict.UNSPECIFIED,
    confidenceInVerdict: r.confidence,
    ensembleScore: r.ensemble_score ?? undefined,
    fileName: r.file_name ?? "",
    size: BigInt(r.size ?? 0),
    sha256: r.sha256 ?? "",
    createdAt: timestampFromDate(new Date(r.created_at)),
    ensembleMethodUsed: ENSEMBLE_OF[r.ensemble_method as keyof typeof ENSEMBLE_OF] ?? 0,
    threshold: r.threshold,
    method: r.method ?? "",
    response: withResponse ? detectResponseOf(r) : undefined,
  });
}

export function historyRoutes(router: ConnectRouter, deps: HistoryRoutesDeps): ConnectRouter {
  const { history, auth, log } = deps;
  return router.service(HistoryService, {
    listAnalyses: (req, ctx) =>
      guard(log, "history", async () => {
        const owner = await requireCaller(auth, ctx);
        const media = req.mediaType === MediaType.UNSPECIFIED ? undefined : mediaName(req.mediaType);
        if (req.mediaType !== MediaType.UNSPECIFIED && !media) {
          throw new ConnectError(`media_type: unknown value ${req.mediaType}`, Code.InvalidArgument);
        }
        const q = S.HistoryQuery.safeParse({ limit: req.limit === 0 ? undefined : req.limit, offset: req.offset, media_type: media });
        if (!q.success) throw invalidArgument(q.error);
        const page = await history.list(owner, { limit: q.data.limit, offset: q.data.offset, mediaType: q.data.media_type });
        return create(ListAnalysesResponseSchema, {
          total: page.total,
          limit: page.limit,
          offset: page.offset,
          records: page.records.map((r) => analysisOf(r, false)),
        });
      }),
    getAnalysis: (req, ctx) =>
      guard(log, "history", async () => {
        const owner = await requireCaller(auth, ctx);
        if (!req.requestId) throw new ConnectError("request_id: required", Code.InvalidArgument);
        return create(GetAnalysisResponseSchema, { analysis: analysisOf(await history.get(owner, req.requestId), true) });
      }),
  });
}
