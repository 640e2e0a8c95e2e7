// Small labelled markers: weights provenance and health. Colour is never the only signal (text too).
import { WeightsKind } from "@deepsafe/proto/es/common";
import { ModelHealth } from "@deepsafe/proto/es/gateway";
import { HEALTH_LABEL, WEIGHTS_LABEL } from "../format";

export function WeightsBadge({ kind }: { kind: WeightsKind }) {
  const cls = kind === WeightsKind.OFFICIAL ? "ok" : kind === WeightsKind.RANDOM_FIXTURE ? "bad" : "neutral";
  return <span className={`badge ${cls}`}>{WEIGHTS_LABEL[kind]}</span>;
}

export function HealthBadge({ health }: { health: ModelHealth }) {
  const cls = health === ModelHealth.SERVING ? "ok" : health === ModelHealth.NOT_SERVING ? "warn" : "bad";
  return <span className={`badge ${cls}`}>{HEALTH_LABEL[health]}</span>;
}
