// Watching the mesh's processes: memory from /proc/<pid>/status, and everything they print.
import { readFileSync } from "node:fs";
import type { MeshProcess } from "../../../deploy/local/mesh.js";

export interface Memory {
  /** Resident set now, and its high-water mark, in MiB. */
  rssMiB: number;
  hwmMiB: number;
}

export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rssMiB: kb("VmRSS") / 1024, hwmMiB: kb("VmHWM") / 1024 };
}

/** Collects the stdout and stderr of mesh processes started with output "pipe" (and keeps the pipes drained). */
export class LogCapture {
  private readonly parts = new Map<string, string[]>();

  attach(p: MeshProcess): void {
    const lines = this.parts.get(p.name) ?? [];
    this.parts.set(p.name, lines);
    p.child.stdout?.on("data", (d: Buffer) => lines.push(d.toString("latin1")));
    p.child.stderr?.on("data", (d: Buffer) => lines.push(d.toString("latin1")));
  }

  text(name?: string): string {
    return [...this.parts.entries()].filter(([n]) => !name || n === name).map(([, l]) => l.join("")).join("");
  }

  /** Names of the secrets (label → value) that appear anywhere in the captured output. */
  leaks(secrets: Record<string, string>): string[] {
    const all = this.text();
    return Object.entries(secrets).filter(([, v]) => v.length >= 8 && all.includes(v)).map(([k]) => k);
  }
}

/** Byte patterns of a media file as they could appear in a log: raw, hex, base64 at every alignment. */
export function mediaPatterns(label: string, bytes: Buffer): Record<string, string> {
  const mid = Math.floor(bytes.length / 2);
  const piece = bytes.subarray(mid, mid + 48);
  const out: Record<string, string> = { [`${label} (hex)`]: piece.toString("hex"), [`${label} (raw)`]: piece.subarray(0, 24).toString("latin1") };
  for (let shift = 0; shift < 3; shift++) out[`${label} (base64+${shift})`] = bytes.subarray(mid + shift, mid + shift + 45).toString("base64").slice(4, 56);
  return out;
}
