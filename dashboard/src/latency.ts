// Mean detector call time seen by the gateway, per model, from its Prometheus text (GET /metrics):
// deepsafe_gateway_detector_call_duration_seconds_{sum,count}{model, outcome}.
const LINE = /^deepsafe_gateway_detector_call_duration_seconds_(sum|count)\{([^}]*)\}\s+([0-9.eE+-]+)$/;

export function meanCallSeconds(metricsText: string): Map<string, { mean: number; calls: number }> {
  const acc = new Map<string, { sum: number; count: number }>();
  for (const line of metricsText.split("\n")) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const model = /(?:^|,)model="([^"]*)"/.exec(m[2]!)?.[1];
    if (!model) continue;
    const a = acc.get(model) ?? { sum: 0, count: 0 };
    if (m[1] === "sum") a.sum += Number(m[3]);
    else a.count += Number(m[3]);
    acc.set(model, a);
  }
  const out = new Map<string, { mean: number; calls: number }>();
  for (const [model, a] of acc) if (a.count > 0) out.set(model, { mean: a.sum / a.count, calls: a.count });
  return out;
}
