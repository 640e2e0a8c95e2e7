// Pick or drop a file, preview it, choose the settings, upload with progress, then open the result.
// The model list follows live health: a detector that is not serving cannot be picked.
import { useEffect, useId, useMemo, useRef, useState, type DragEvent, type FormEvent } from "react";
import { MediaType, WeightsKind } from "@deepsafe/proto/es/common";
import { EnsembleMethod, ModelHealth } from "@deepsafe/proto/es/gateway";
import { HealthBadge, WeightsBadge } from "../components/Badges";
import { bytes, ENSEMBLE_FORM_VALUE, ENSEMBLE_LABEL, guessMediaType, MEDIA_LABEL } from "../format";
import { useModels } from "../models";
import { navigate } from "../router";
import { useApp } from "../state";
import { UploadError, uploadForDetection } from "../upload";

const METHODS = [EnsembleMethod.UNSPECIFIED, EnsembleMethod.VOTING, EnsembleMethod.AVERAGE, EnsembleMethod.STACKING];

type Phase = { kind: "idle" } | { kind: "uploading"; sent: number; total: number } | { kind: "analysing" };

export function AnalysePage() {
  const { api, session, results } = useApp();
  const { models, error: modelsError } = useModels();
  const [file, setFile] = useState<File>();
  const [preview, setPreview] = useState<string>();
  const [previewFailed, setPreviewFailed] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [method, setMethod] = useState(EnsembleMethod.UNSPECIFIED);
  const [threshold, setThreshold] = useState("");
  const [chosen, setChosen] = useState<Set<string>>();
  const [phase, setPhase] = useState<Phase>({ kind: "idle" });
  const [error, setError] = useState<string>();
  const abort = useRef<AbortController | undefined>(undefined);
  const id = useId();

  const media = file ? guessMediaType(file) : MediaType.UNSPECIFIED;
  const forMedia = useMemo(() => (models ?? []).filter((m) => media !== MediaType.UNSPECIFIED && m.mediaType === media), [models, media]);
  const serving = (name: string) => forMedia.some((m) => m.name === name && m.health === ModelHealth.SERVING);
  // Until the user picks, the media type's default set (minus what is down).
  const selected = chosen ?? new Set(forMedia.filter((m) => m.default && m.health === ModelHealth.SERVING).map((m) => m.name));

  useEffect(() => {
    if (!file) return;
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  function pick(f: File | undefined) {
    setError(undefined);
    setChosen(undefined);
    setPreviewFailed(false);
    setFile(f);
  }

  function onDrop(e: DragEvent) {
    e.preventDefault();
    setDragging(false);
    pick(e.dataTransfer.files[0]);
  }

  function toggle(name: string, on: boolean) {
    const next = new Set(selected);
    if (on) next.add(name);
    else next.delete(name);
    setChosen(next);
  }

  const thresholdValue = threshold === "" ? undefined : Number(threshold);
  const thresholdInvalid = thresholdValue !== undefined && !(thresholdValue >= 0 && thresholdValue <= 1);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!file) return setError("Choose a file first.");
    if (thresholdInvalid) return setError("The threshold must be a number between 0 and 1.");
    // Send what the form shows: the ticked models that serve (a default that is down is not called).
    // With no model list for the file's type, the gateway picks from the bytes.
    const models = [...selected].filter(serving);
    if (forMedia.length > 0 && models.length === 0) return setError(`Select at least one ${MEDIA_LABEL[media]} model that is serving.`);
    setError(undefined);
    abort.current = new AbortController();
    setPhase({ kind: "uploading", sent: 0, total: file.size });
    try {
      const res = await uploadForDetection({
        gatewayUrl: api.gatewayUrl,
        file,
        token: session?.token,
        threshold: thresholdValue,
        ensembleMethod: ENSEMBLE_FORM_VALUE[method],
        models,
        onProgress: (sent, total) => setPhase({ kind: "uploading", sent, total }),
        onUploaded: () => setPhase({ kind: "analysing" }),
        signal: abort.current.signal,
      });
      results.set(res.requestId, res);
      navigate(`/result/${encodeURIComponent(res.requestId)}`);
    } catch (err) {
      const u = err instanceof UploadError ? err : undefined;
      setError(u ? `${u.message}${u.requestId ? ` (request ${u.requestId})` : ""}` : String(err));
      setPhase({ kind: "idle" });
    }
  }

  const busy = phase.kind !== "idle";
  return (
    <section aria-labelledby={`${id}-title`}>
      <h1 id={`${id}-title`}>Analyse a file</h1>
      {!session && (
        <p className="notice">
          You are not logged in: the analysis works, but it is not kept in a history. <a href="#/login">Log in</a>
        </p>
      )}
      <form className="analyse" onSubmit={submit} noValidate>
        <div className="card">
          <input
            id={`${id}-file`}
            className="visually-hidden"
            type="file"
            accept="image/*,video/*,audio/*"
            onChange={(e) => pick(e.target.files?.[0])}
            disabled={busy}
          />
          <label
            htmlFor={`${id}-file`}
            className={`dropzone${dragging ? " dragging" : ""}`}
            onDragOver={(e) => (e.preventDefault(), setDragging(true))}
            onDragLeave={() => setDragging(false)}
            onDrop={onDrop}
          >
            <strong>Drop an image, video or audio file here</strong>
            <span>or press to choose one</span>
          </label>
          {file && (
            <div className="preview">
              <p>
                <strong>{file.name}</strong> · {bytes(file.size)} · {media === MediaType.UNSPECIFIED ? "type decided by the server" : MEDIA_LABEL[media]}
              </p>
              {previewFailed && <p className="hint">No preview: this browser cannot display the file (the server will still check it).</p>}
              {preview && !previewFailed && media === MediaType.IMAGE && <img src={preview} alt={`Preview of ${file.name}`} onError={() => setPreviewFailed(true)} />}
              {preview && !previewFailed && media === MediaType.VIDEO && (
                <video src={preview} controls muted preload="metadata" aria-label={`Preview of ${file.name}`} onError={() => setPreviewFailed(true)} />
              )}
              {preview && !previewFailed && media === MediaType.AUDIO && (
                <audio src={preview} controls preload="metadata" aria-label={`Preview of ${file.name}`} onError={() => setPreviewFailed(true)} />
              )}
            </div>
          )}
        </div>

        <fieldset className="card" disabled={busy}>
          <legend>Settings</legend>
          <label htmlFor={`${id}-method`}>Ensemble method</label>
          <select id={`${id}-method`} value={method} onChange={(e) => setMethod(Number(e.target.value) as EnsembleMethod)}>
            {METHODS.map((m) => (
              <option key={m} value={m}>
                {ENSEMBLE_LABEL[m]}
              </option>
            ))}
          </select>
          <label htmlFor={`${id}-threshold`}>
            Threshold <span className="hint">(0–1, on P(fake); empty: the default)</span>
          </label>
          <input
            id={`${id}-threshold`}
            type="number"
            inputMode="decimal"
            min={0}
            max={1}
            step={0.01}
            placeholder="0.5"
            value={threshold}
            onChange={(e) => setThreshold(e.target.value)}
            aria-invalid={thresholdInvalid || undefined}
          />
          <fieldset className="models">
            <legend>Models {media !== MediaType.UNSPECIFIED && <span className="hint">for {MEDIA_LABEL[media]}</span>}</legend>
            {modelsError && <p className="error">Model list unavailable: {modelsError}</p>}
            {!file && <p className="hint">Choose a file to see the models that analyse it.</p>}
            {file && media === MediaType.UNSPECIFIED && <p className="hint">The server picks the models once it has seen the bytes.</p>}
            {forMedia.map((m) => {
              const up = m.health === ModelHealth.SERVING;
              const kind = m.info?.weights?.kind ?? WeightsKind.UNSPECIFIED;
              return (
                <div key={m.name} className={`model-choice${up ? "" : " down"}`}>
                  <input
                    type="checkbox"
                    id={`${id}-m-${m.name}`}
                    checked={up && selected.has(m.name)}
                    disabled={!up}
                    onChange={(e) => toggle(m.name, e.target.checked)}
                    aria-describedby={`${id}-m-${m.name}-d`}
                  />
                  <label htmlFor={`${id}-m-${m.name}`}>{m.name}</label>
                  <span id={`${id}-m-${m.name}-d`} className="model-meta">
                    <HealthBadge health={m.health} /> <WeightsBadge kind={kind} />
                    {!m.votes && <span className="hint"> not counted in the verdict</span>}
                    {!up && m.healthDetail && <span className="hint"> {m.healthDetail}</span>}
                  </span>
                </div>
              );
            })}
          </fieldset>
        </fieldset>

        <div className="actions">
          <button type="submit" className="primary" disabled={busy || !file}>
            Analyse
          </button>
          {busy && (
            <button type="button" onClick={() => abort.current?.abort()}>
              Cancel
            </button>
          )}
        </div>
        <div aria-live="polite" className="progress">
          {phase.kind === "uploading" && (
            <>
              <label htmlFor={`${id}-progress`}>Uploading… {Math.round((phase.sent / Math.max(1, phase.total)) * 100)}%</label>
              <progress id={`${id}-progress`} max={phase.total} value={phase.sent} />
            </>
          )}
          {phase.kind === "analysing" && (
            <>
              <label htmlFor={`${id}-progress`}>Uploaded. The detectors are analysing…</label>
              <progress id={`${id}-progress`} />
            </>
          )}
        </div>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
