// Every configured detector with live health (ListModels, refreshed every 5 s), version, weights
// provenance, load time and the mean call latency the gateway has measured (GET /metrics).
import { useEffect, useId, useState } from "react";
import { WeightsKind } from "@deepsafe/proto/es/common";
import { HealthBadge, WeightsBadge } from "../components/Badges";
import { meanCallSeconds } from "../latency";
import { MEDIA_LABEL, seconds, shortDigest } from "../format";
import { useModels } from "../models";
import { useApp } from "../state";

/** Mean call time per model; null when the gateway's /metrics cannot be read (undefined until it is). */
function useLatency(gatewayUrl: string, refreshedAt: Date | undefined) {
  const [latency, setLatency] = useState<Map<string, { mean: number; calls: number }> | null>();
  useEffect(() => {
    let stopped = false;
    fetch(`${gatewayUrl}/metrics`)
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then((t) => !stopped && setLatency(meanCallSeconds(t)))
      .catch(() => !stopped && setLatency(null));
    return () => {
      stopped = true;
    };
  }, [gatewayUrl, refreshedAt]);
  return latency;
}

const isUrl = (s: string) => /^https?:\/\//.test(s);

export function ModelsPage() {
  const { api } = useApp();
  const { models, error, refreshedAt } = useModels();
  const latency = useLatency(api.gatewayUrl, refreshedAt);
  const id = useId();
  return (
    <section aria-labelledby={`${id}-title`}>
      <h1 id={`${id}-title`}>Models</h1>
      <p className="hint" aria-live="polite">
        {refreshedAt ? `Live health, checked ${refreshedAt.toLocaleTimeString()}` : "Checking health…"}
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <ul className="model-list">
        {(models ?? []).map((m) => {
          const w = m.info?.weights;
          const lat = latency?.get(m.name);
          return (
            <li key={m.name} className="card" data-model={m.name}>
              <h2>
                {m.name} <span className="hint">{MEDIA_LABEL[m.mediaType]}</span>
              </h2>
              <p className="model-meta">
                <HealthBadge health={m.health} /> <WeightsBadge kind={w?.kind ?? WeightsKind.UNSPECIFIED} />
                {m.default && <span className="badge neutral">default</span>}
                {!m.votes && <span className="badge bad">not counted in verdicts</span>}
              </p>
              {m.healthDetail && <p className="hint">{m.healthDetail}</p>}
              <dl className="facts">
                <dt>Version</dt>
                <dd>{m.info?.version || "—"}</dd>
                {m.info?.paper && (
                  <>
                    <dt>Paper</dt>
                    <dd>{m.info.paper}</dd>
                  </>
                )}
                <dt>Weights from</dt>
                <dd className="wrap">{w?.source ? isUrl(w.source) ? <a href={w.source}>{w.source}</a> : w.source : "—"}</dd>
                {w?.checkpointSha256 && (
                  <>
                    <dt>Checkpoint sha256</dt>
                    <dd className="mono" title={w.checkpointSha256}>
                      {shortDigest(w.checkpointSha256)}
                    </dd>
                  </>
                )}
                {w?.onnxSha256 && (
                  <>
                    <dt>ONNX sha256</dt>
                    <dd className="mono" title={w.onnxSha256}>
                      {shortDigest(w.onnxSha256)}
                    </dd>
                  </>
                )}
                {(w?.license || m.info?.license) && (
                  <>
                    <dt>License</dt>
                    <dd>{w?.license || m.info?.license}</dd>
                  </>
                )}
                <dt>Load time</dt>
                <dd>{m.info?.loadSeconds ? seconds(m.info.loadSeconds) : "—"}</dd>
                <dt>Latency</dt>
                <dd>
                  {lat
                    ? `${seconds(lat.mean)} mean over ${lat.calls} call${lat.calls > 1 ? "s" : ""}`
                    : latency === null
                      ? "not available (the gateway's /metrics cannot be read)"
                      : "no calls yet"}
                </dd>
              </dl>
              {w?.description && (
                <details>
                  <summary>About these weights</summary>
                  <p>{w.description}</p>
                </details>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
