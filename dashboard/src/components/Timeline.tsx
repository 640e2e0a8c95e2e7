// Per-frame (video) or per-window (audio) P(fake) over time: one bar per segment, the threshold as
// a line, and the same numbers in a table for screen readers and for copying.
import { useId } from "react";
import { SegmentKind, type SegmentScore } from "@deepsafe/proto/es/common";
import { percent } from "../format";

const W = 600;
const H = 120;

export function Timeline({ model, kind, segments, threshold }: { model: string; kind: SegmentKind; segments: SegmentScore[]; threshold: number }) {
  const id = useId();
  const noun = kind === SegmentKind.FRAME ? "frame" : "window";
  const end = Math.max(...segments.map((s) => s.endSeconds || s.startSeconds), 1e-6);
  const sorted = [...segments].sort((a, b) => a.startSeconds - b.startSeconds || a.index - b.index);
  const slot = W / sorted.length;
  return (
    <figure className="timeline">
      <figcaption id={`${id}-cap`}>
        {model}: P(fake) per {noun}, 0–{end.toFixed(1)} s
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-cap`} preserveAspectRatio="none">
        <rect x={0} y={0} width={W} height={H} className="bg" />
        {sorted.map((s, i) => {
          const h = Math.max(1, s.probabilityFake * H);
          return (
            <rect key={i} x={i * slot + 1} y={H - h} width={Math.max(1, slot - 2)} height={h} className={s.probabilityFake >= threshold ? "fake" : "real"}>
              <title>
                {noun} {s.index} at {s.startSeconds.toFixed(2)} s: {percent(s.probabilityFake)} fake
              </title>
            </rect>
          );
        })}
        <line x1={0} x2={W} y1={H - threshold * H} y2={H - threshold * H} className="threshold" />
      </svg>
      <p className="legend">
        One bar per {noun}, height = P(fake); red at or above the threshold ({percent(threshold)}, dashed line), green below.
      </p>
      <details>
        <summary>Values</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">{noun}</th>
              <th scope="col">from (s)</th>
              <th scope="col">to (s)</th>
              <th scope="col">P(fake)</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((s, i) => (
              <tr key={i}>
                <td>{s.index}</td>
                <td>{s.startSeconds.toFixed(2)}</td>
                <td>{s.endSeconds.toFixed(2)}</td>
                <td>{percent(s.probabilityFake)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
