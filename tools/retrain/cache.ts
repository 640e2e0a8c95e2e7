// The feature cache: one detector's answer for one media file, keyed by what determines it — the
// media's sha256, the detector's name and version, and its weights (checkpoint and ONNX digests) —
// so a rerun calls detectors only for new files or changed detectors. An append-only JSON-lines file;
// a later line for the same key wins. Errors are never cached (they are retried next time).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

/** What identifies a detector's weights and code (a feature column). */
export interface DetectorIdentity {
  model: string;
  version: string;
  checkpointSha256: string;
  onnxSha256: string;
}

export interface CachedAnswer {
  status: "scored" | "abstained";
  /** P(fake), when scored. */
  pFake?: number;
  note?: string;
}

interface Line extends DetectorIdentity, CachedAnswer {
  sha256: string;
  at: string;
}

function keyOf(sha256: string, d: DetectorIdentity): string {
  return [sha256, d.model, d.version, d.checkpointSha256, d.onnxSha256].join("|");
}

export class FeatureCache {
  private readonly entries = new Map<string, CachedAnswer>();
  /** Lines that could not be parsed (a torn last line after a crash): skipped, counted. */
  readonly badLines: number;

  constructor(readonly path: string) {
    let bad = 0;
    if (existsSync(path)) {
      for (const text of readFileSync(path, "utf8").split("\n")) {
        if (!text.trim()) continue;
        try {
          const l = JSON.parse(text) as Line;
          this.entries.set(keyOf(l.sha256, l), { status: l.status, ...(l.pFake !== undefined ? { pFake: l.pFake } : {}), ...(l.note ? { note: l.note } : {}) });
        } catch {
          bad++;
        }
      }
    }
    this.badLines = bad;
  }

  get size(): number {
    return this.entries.size;
  }

  get(sha256: string, d: DetectorIdentity): CachedAnswer | undefined {
    return this.entries.get(keyOf(sha256, d));
  }

  /** Record and persist at once (one line), so an interrupted run keeps what it computed. */
  put(sha256: string, d: DetectorIdentity, answer: CachedAnswer): void {
    this.entries.set(keyOf(sha256, d), answer);
    mkdirSync(dirname(this.path), { recursive: true });
    const line: Line = { sha256, model: d.model, version: d.version, checkpointSha256: d.checkpointSha256, onnxSha256: d.onnxSha256, ...answer, at: new Date().toISOString() };
    appendFileSync(this.path, `${JSON.stringify(line)}\n`);
  }
}
