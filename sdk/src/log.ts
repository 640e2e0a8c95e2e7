// One JSON object per line on stderr: easy to grep, easy to ship. Never log media bytes or secrets.
export type LogFields = Record<string, string | number | boolean | undefined>;
export type LogLevel = "info" | "warn" | "error";

const rank: Record<LogLevel, number> = { info: 0, warn: 1, error: 2 };
const threshold = rank[(process.env.DEEPSAFE_LOG_LEVEL as LogLevel | undefined) ?? "info"] ?? 0;

export function log(level: LogLevel, msg: string, fields: LogFields = {}): void {
  if (rank[level] < threshold) return;
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}
