// A mesh of one media type's detectors for the measuring commands (`npm run evaluate`, `npm run
// retrain`): prepare the weights of every enabled detector of that media type, start those that are
// ready on free ports with a gateway in front, and wait until they serve.
import { type Mesh, loadRegistry, startMesh, withFreePorts } from "../../deploy/local/mesh.js";
import { prepareModels } from "../../deploy/local/prepare-models.js";
import type { Registry } from "../../gateway/src/registry.js";
import type { MediaName } from "./dataset.js";

export interface MediaMesh {
  mesh: Mesh;
  /** Detectors of the media type that were not started, with why (weights not ready). */
  notStarted: Array<{ name: string; reason: string }>;
}

export async function startMediaMesh(
  media: MediaName,
  options: {
    requested?: string[] | undefined;
    log: (line: string) => void;
    registry?: Partial<Registry>;
    /** Called as soon as the processes exist (before they are ready), so a Ctrl-C handler can stop them. */
    onStarted?: (mesh: Mesh) => void;
  },
): Promise<MediaMesh> {
  const base = { ...loadRegistry(), ...options.registry };
  const { requested } = options;
  const ofMedia = base.detectors.filter((d) => d.media_type === media && d.enabled && (!requested || requested.includes(d.name)));
  if (ofMedia.length === 0) throw new Error(`the registry has no enabled ${media} detector${requested ? ` named ${requested.join(", ")}` : ""}`);
  const registry = await withFreePorts({ ...base, detectors: ofMedia });
  options.log(`preparing ${ofMedia.map((d) => d.name).join(", ")} …\n`);
  const { ready, unavailable } = await prepareModels(registry, { names: ofMedia.map((d) => d.name) });
  const notStarted = [...unavailable].map(([name, why]) => ({ name, reason: `not started: ${why}` }));
  if (ready.length === 0) throw new Error(`no ${media} detector has its weights ready: ${[...unavailable].map(([n, w]) => `${n}: ${w}`).join("; ")}`);
  options.log(`starting a mesh of ${ready.join(", ")} …\n`);
  const mesh = await startMesh({ registry: { ...registry, detectors: registry.detectors.filter((d) => ready.includes(d.name)) }, output: "ignore" });
  options.onStarted?.(mesh);
  try {
    await mesh.waitReady(300_000);
  } catch (err) {
    await mesh.stop();
    throw err;
  }
  return { mesh, notStarted };
}
