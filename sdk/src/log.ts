// One JSON object per line on stderr: easy to grep, easy to ship. Never log media bytes or secrets.
export type LogFields = Record<string, string | number | boolean | undefined>;

export function log(level: "info" | "warn" | "error", msg: string, fields: LogFields = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}
