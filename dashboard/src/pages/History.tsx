// The caller's own analyses (HistoryService.ListAnalyses), newest first, a page at a time; each
// opens its stored result.
import { useEffect, useId, useState } from "react";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ListAnalysesResponse } from "@deepsafe/proto/es/history";
import { Verdict } from "@deepsafe/proto/es/gateway";
import { explain } from "../api";
import { bytes, MEDIA_LABEL, percent, VERDICT_LABEL } from "../format";
import { useApp } from "../state";

const PAGE_SIZE = 10;

export function HistoryPage({ page }: { page: number }) {
  const { api, session } = useApp();
  // Tagged with its page: on a page change the first render must not show the previous page's rows
  // under the new page number.
  const [loaded, setState] = useState<{ page?: number; data?: ListAnalysesResponse; error?: string }>({});
  const state = loaded.page === page ? loaded : {};
  const id = useId();

  useEffect(() => {
    if (!session) return;
    let stopped = false;
    api.history
      .listAnalyses({ limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE })
      .then((data) => !stopped && setState({ page, data }))
      .catch((err) => !stopped && setState({ page, error: explain(err) }));
    return () => {
      stopped = true;
    };
  }, [api, session, page]);

  if (!session)
    return (
      <section>
        <h1>History</h1>
        <p className="notice">
          <a href="#/login">Log in</a> to see your analyses.
        </p>
      </section>
    );

  const pages = state.data ? Math.max(1, Math.ceil(state.data.total / PAGE_SIZE)) : 1;
  return (
    <section aria-labelledby={`${id}-title`}>
      <h1 id={`${id}-title`}>History</h1>
      {state.error && (
        <p className="error" role="alert">
          {state.error}
        </p>
      )}
      {!state.data && !state.error && <p aria-live="polite">Loading…</p>}
      {state.data && state.data.total === 0 && (
        <p>
          No analyses yet. <a href="#/analyse">Analyse a file</a>
        </p>
      )}
      {state.data && state.data.records.length > 0 && (
        <>
          <div className="table-wrap" role="region" aria-labelledby={`${id}-title`} tabIndex={0}>
            <table className="history">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">File</th>
                  <th scope="col">Media</th>
                  <th scope="col">Verdict</th>
                  <th scope="col">Confidence</th>
                </tr>
              </thead>
              <tbody>
                {state.data.records.map((a) => {
                  const decided = a.verdict === Verdict.FAKE || a.verdict === Verdict.REAL;
                  return (
                    <tr key={a.requestId}>
                      <td>{a.createdAt ? timestampDate(a.createdAt).toLocaleString() : ""}</td>
                      <td>
                        <a href={`#/result/${encodeURIComponent(a.requestId)}`}>{a.fileName || a.requestId}</a>
                        <span className="hint"> {bytes(Number(a.size))}</span>
                      </td>
                      <td>{MEDIA_LABEL[a.mediaType]}</td>
                      <td className={`verdict-cell ${decided ? (a.verdict === Verdict.FAKE ? "fake" : "real") : "undetermined"}`}>{VERDICT_LABEL[a.verdict]}</td>
                      <td>{decided ? percent(a.confidenceInVerdict) : "—"}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="History pages">
            {page > 1 ? <a href={`#/history?page=${page - 1}`}>Newer</a> : <span aria-hidden="true" />}
            <span>
              Page {page} of {pages} · {state.data.total} analyses
            </span>
            {page < pages ? <a href={`#/history?page=${page + 1}`}>Older</a> : <span aria-hidden="true" />}
          </nav>
        </>
      )}
    </section>
  );
}
