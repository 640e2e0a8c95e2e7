// One result: the verdict with the confidence in that verdict, each model's answer (errors as
// errors, random-weight models labelled and never shown as a call), timelines when the detectors
// gave per-frame or per-window scores, JSON export and a printable report.
import { useEffect, useId, useState } from "react";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { Prediction, SegmentKind, WeightsKind } from "@deepsafe/proto/es/common";
import { EnsembleMethod, Verdict, type DetectResponse, type ModelResult } from "@deepsafe/proto/es/gateway";
import { WeightsBadge } from "../components/Badges";
import { Timeline } from "../components/Timeline";
import { downloadResult } from "../export";
import { bytes, ENSEMBLE_LABEL, MEDIA_LABEL, modelCall, percent, seconds, verdictHeadline } from "../format";
import { explain } from "../api";
import { useApp } from "../state";

export function ResultPage({ requestId }: { requestId: string }) {
  const { api, session, results } = useApp();
  const [state, setState] = useState<{ response?: DetectResponse; createdAt?: Date; error?: string }>(() => {
    const cached = results.get(requestId);
    return cached ? { response: cached } : {};
  });

  useEffect(() => {
    if (state.response) return;
    if (!session) {
      setState({ error: "This result is not in this tab any more. Log in to reopen results from your history." });
      return;
    }
    let stopped = false;
    api.history
      .getAnalysis({ requestId })
      .then((res) => {
        if (stopped) return;
        const a = res.analysis;
        if (!a?.response) return setState({ error: "The record has no stored result." });
        setState({ response: a.response, createdAt: a.createdAt ? timestampDate(a.createdAt) : undefined });
      })
      .catch((err) => {
        if (stopped) return;
        setState({ error: ConnectError.from(err).code === Code.NotFound ? `No result ${requestId} in your history.` : explain(err) });
      });
    return () => {
      stopped = true;
    };
  }, [api, session, requestId, state.response]);

  if (state.error)
    return (
      <section>
        <h1>Result</h1>
        <p className="error" role="alert">
          {state.error}
        </p>
      </section>
    );
  if (!state.response) return <p aria-live="polite">Loading the result…</p>;
  return <ResultView r={state.response} createdAt={state.createdAt} />;
}

function ResultView({ r, createdAt }: { r: DetectResponse; createdAt?: Date | undefined }) {
  const id = useId();
  const decided = r.verdict === Verdict.FAKE || r.verdict === Verdict.REAL;
  const verdictClass = r.verdict === Verdict.FAKE ? "fake" : r.verdict === Verdict.REAL ? "real" : "undetermined";
  return (
    <article className="result" aria-labelledby={`${id}-title`}>
      <p className="print-only hint">DeepSafe analysis report · printed {new Date().toLocaleString()}</p>
      <h1 id={`${id}-title`}>Result{r.fileName ? `: ${r.fileName}` : ""}</h1>
      <div className={`card verdict ${verdictClass}`} data-testid="verdict">
        <p className="headline">{verdictHeadline(r.verdict, r.confidenceInVerdict, {
            method: r.ensembleMethodUsed,
            agreeing: r.verdict === Verdict.FAKE ? r.fakeVotes : r.realVotes,
            total: r.totalVotes,
          })}</p>
        {decided && r.ensembleScore !== undefined && (
          <p>
            {r.ensembleMethodUsed === EnsembleMethod.VOTING ? "Share of models voting fake" : "Ensemble probability of fake"}:{" "}
            <strong>{percent(r.ensembleScore)}</strong> (threshold {percent(r.threshold)})
          </p>
        )}
        {r.note && <p className="note">{r.note}</p>}
        <dl className="facts">
          <dt>Media</dt>
          <dd>
            {MEDIA_LABEL[r.mediaType]} · {bytes(Number(r.receivedBytes))}
          </dd>
          <dt>Method</dt>
          <dd>
            {ENSEMBLE_LABEL[r.ensembleMethodUsed]}
            {r.ensembleMethodRequested !== EnsembleMethod.UNSPECIFIED && r.ensembleMethodRequested !== r.ensembleMethodUsed
              ? ` (asked: ${ENSEMBLE_LABEL[r.ensembleMethodRequested]})`
              : ""}
          </dd>
          {r.totalVotes > 0 && (
            <>
              <dt>Votes</dt>
              <dd>
                {r.fakeVotes} fake · {r.realVotes} real of {r.totalVotes}
              </dd>
            </>
          )}
          <dt>Time</dt>
          <dd>{seconds(r.totalSeconds)}</dd>
          {createdAt && (
            <>
              <dt>Analysed</dt>
              <dd>{createdAt.toLocaleString()}</dd>
            </>
          )}
          <dt>Request</dt>
          <dd className="mono">{r.requestId}</dd>
        </dl>
        <div className="actions no-print">
          <button type="button" onClick={() => downloadResult(r)}>
            Export JSON
          </button>
          <button type="button" onClick={() => window.print()}>
            Print report
          </button>
        </div>
      </div>

      <h2>Models</h2>
      <ul className="model-results">
        {r.modelResults.map((m) => (
          <ModelCard key={m.model} m={m} />
        ))}
      </ul>
    </article>
  );
}

function ModelCard({ m }: { m: ModelResult }) {
  const p = m.prediction;
  const random = m.weightsKind === WeightsKind.RANDOM_FIXTURE;
  const failed = Boolean(m.errorCode) || !p;
  const call = p && !random ? modelCall(p.probabilityFake, p.prediction) : undefined;
  const regions = p?.segments.filter((s) => s.kind === SegmentKind.REGION) ?? [];
  const timelines = [SegmentKind.FRAME, SegmentKind.WINDOW]
    .map((kind) => ({ kind, segments: p?.segments.filter((s) => s.kind === kind) ?? [] }))
    .filter((t) => t.segments.length > 0);
  return (
    <li className={`card model-result${failed ? " failed" : ""}${timelines.length && !random ? " wide" : ""}`} data-model={m.model}>
      <h3>{m.model}</h3>
      <p className="model-meta">
        <WeightsBadge kind={m.weightsKind} />
        {p?.modelVersion && <span className="hint"> version {p.modelVersion}</span>}
      </p>
      {failed ? (
        <p className="error" role="note">
          Error {m.errorCode || "UNKNOWN"}: {m.errorMessage || "no answer"}
        </p>
      ) : random ? (
        <p className="random">
          Score {percent(p!.probabilityFake)} from random test weights: meaningless, not counted in the verdict.
        </p>
      ) : call ? (
        <>
          <p className={`call ${call.label}`}>
            {call.label === "fake" ? "Fake" : "Real"} · {percent(call.confidence)} confidence
          </p>
          <div className="meter" aria-hidden="true">
            <span style={{ width: `${(p!.probabilityFake * 100).toFixed(1)}%` }} />
          </div>
          <p className="hint">
            P(fake) {percent(p!.probabilityFake)}, threshold {percent(p!.threshold)} · {m.usedInVerdict ? "counted in the verdict" : "not counted in the verdict"}
          </p>
        </>
      ) : (
        <p className="undetermined">
          Abstained{p!.prediction === Prediction.UNDETERMINED ? "" : " (no call)"}: {p!.note || "no usable evidence"}
        </p>
      )}
      {p?.note && call && <p className="note">{p.note}</p>}
      {regions.length > 0 && !random && (
        <p className="hint">
          {regions.length} face region{regions.length > 1 ? "s" : ""} scored: {regions.map((s) => percent(s.probabilityFake)).join(", ")} fake
        </p>
      )}
      {!random && timelines.map((t) => <Timeline key={t.kind} model={m.model} kind={t.kind} segments={t.segments} threshold={p!.threshold || 0.5} />)}
      <p className="hint">
        Call {seconds(m.callSeconds)}
        {p?.timings ? ` · decode ${seconds(p.timings.decodeSeconds)} · inference ${seconds(p.timings.inferenceSeconds)}` : ""}
      </p>
    </li>
  );
}
