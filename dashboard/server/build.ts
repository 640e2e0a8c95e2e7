// Build the dashboard (vite) when dist/ is missing or older than its sources, so `npm start` always
// serves what the checkout holds without a separate build step.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const dashboardDir = fileURLToPath(new URL("..", import.meta.url));
export const distDir = join(dashboardDir, "dist");
const protoGenDir = fileURLToPath(new URL("../../proto/gen/es", import.meta.url));

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Why dist/ must be rebuilt, or undefined when it is up to date. */
export function staleReason(): string | undefined {
  const built = join(distDir, "index.html");
  if (!existsSync(built)) return "not built yet";
  const builtAt = statSync(built).mtimeMs;
  const inputs = [join(dashboardDir, "src"), join(dashboardDir, "index.html"), join(dashboardDir, "vite.config.ts"), protoGenDir];
  const changed = inputs.find((p) => newestMtime(p) > builtAt);
  return changed ? `${changed} changed since the last build` : undefined;
}

/** Runs `vite build` when needed; returns what it did. */
export async function ensureDashboardBuilt(log: (msg: string) => void = () => {}): Promise<"built" | "up to date"> {
  const why = staleReason();
  if (!why) return "up to date";
  log(`dashboard: building (${why})…`);
  const { build } = await import("vite");
  await build({ configFile: join(dashboardDir, "vite.config.ts"), logLevel: "warn" });
  return "built";
}
