// Child process of round-robin.test.ts. A DNS server on loopback answers one name with the addresses
// of the "pods" (as a headless Service does with its ready pods), and grpc-js' own DNS resolver
// (GRPC_NODE_USE_ALTERNATIVE_RESOLVER=true, set by the test) is pointed at it, as /etc/resolv.conf
// points a pod at the cluster's DNS. The gateway's DetectorPool then calls the name:
//   1. two pods: calls alternate (round_robin);
//   2. a third pod added to DNS: after the pool's DNS refresh it gets calls too (autoscaling);
//   3. the same name with grpc-js' default pick_first: every call pinned to one pod.
// Prints how many calls each pod answered in each phase, as JSON.
import dns from "node:dns";
import { createSocket } from "node:dgram";
import * as dnsPacket from "dns-packet";
import * as grpc from "@grpc/grpc-js";
import { DetectorServiceClient } from "@deepsafe/proto/grpc/detector";
import { ImageModel, makeResult, predictBytes, serveDetector, type DetectorHandle, type ModelCard, type Provenance } from "@deepsafe/sdk";
import { CHANNEL_OPTIONS, DetectorPool, detectorTarget } from "../../gateway/src/detectors.js";
import { DetectorConfigSchema } from "../../gateway/src/registry.js";
import { freePort } from "../local/mesh.js";
import { photoPng } from "./media.js";

const NAME = "detector.deepsafe.test";
const POD_IPS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
const answered: string[] = [];

/** Each pod answers with its own probability, so the caller can tell which one served a call. */
class PodModel extends ImageModel {
  readonly card: ModelCard = {
    name: "pod", version: "0", description: "transport probe", paper: "-", license: "-",
    defaultThreshold: 0.5, preprocessing: "none", tensors: [],
  };
  constructor(private readonly index: number) {
    super();
  }
  async load(): Promise<Provenance> {
    return { kind: "random-fixture", source: "round-robin probe: a constant per pod" };
  }
  async predict(_image: unknown, ctx: { threshold: number }) {
    return makeResult((this.index + 1) / 10, ctx.threshold);
  }
}

function startDns(): Promise<{ address: string; close: () => void }> {
  const socket = createSocket("udp4");
  socket.on("message", (msg, peer) => {
    const query = dnsPacket.decode(msg);
    const question = query.questions?.[0];
    const answers = question?.type === "A" && question.name === NAME
      ? answered.map((ip) => ({ type: "A" as const, name: NAME, ttl: 1, class: "IN" as const, data: ip }))
      : [];
    socket.send(dnsPacket.encode({ type: "response", id: query.id, flags: dnsPacket.RECURSION_DESIRED, questions: query.questions, answers }), peer.port, peer.address);
  });
  return new Promise((resolve) => socket.bind(0, "127.0.0.1", () => resolve({ address: `127.0.0.1:${socket.address().port}`, close: () => socket.close() })));
}

const server = await startDns();
// Every resolver grpc-js creates asks our server, as a pod's resolv.conf would send it to the cluster DNS.
const SystemResolver = dns.promises.Resolver;
dns.promises.Resolver = class extends SystemResolver {
  constructor(options?: ConstructorParameters<typeof SystemResolver>[0]) {
    super(options);
    this.setServers([server.address]);
  }
};

const port = await freePort();
const address = `${NAME}:${port}`;
const png = photoPng();
const pods: DetectorHandle[] = [];
async function addPod(i: number): Promise<void> {
  pods.push(await serveDetector(new PodModel(i), { host: POD_IPS[i]!, port, metricsPort: -1 }));
  answered.push(POD_IPS[i]!);
}

async function count(client: () => DetectorServiceClient, calls: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(answered.map((ip) => [ip, 0]));
  for (let i = 0; i < calls; i++) {
    const res = await predictBytes(client(), { header: { fileName: "p.png" }, bytes: png, deadlineMs: 10_000 });
    const ip = POD_IPS[Math.round(res.probabilityFake * 10) - 1]!;
    counts[ip] = (counts[ip] ?? 0) + 1;
  }
  return counts;
}

const until = async (ok: () => boolean, ms: number) => {
  for (const end = Date.now() + ms; !ok() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 100));
};

try {
  await addPod(0);
  await addPod(1);
  const config = DetectorConfigSchema.parse({ name: "pod", package: "-", media_type: "image", address, deadline_ms: 5000 });
  const pool = new DetectorPool([config], { intervalMs: 200, dnsRefreshMs: 1500 });
  await pool.start();
  const ready = (c: DetectorServiceClient) => c.getChannel().getConnectivityState(true) === grpc.connectivityState.READY;
  await until(() => ready(pool.client("pod")), 10_000);
  await new Promise((r) => setTimeout(r, 500)); // round_robin: let the second subchannel connect too
  const twoPods = await count(() => pool.client("pod"), 20);

  await addPod(2);
  const before = pool.client("pod");
  await until(() => pool.client("pod") !== before && ready(pool.client("pod")), 10_000);
  await new Promise((r) => setTimeout(r, 500));
  const threePods = await count(() => pool.client("pod"), 30);
  pool.close();

  const { "grpc.service_config": _roundRobin, ...defaults } = CHANNEL_OPTIONS;
  const pinned = new DetectorServiceClient(detectorTarget(address), grpc.credentials.createInsecure(), defaults);
  const pickFirst = await count(() => pinned, 20);
  pinned.close();
  process.stdout.write(`${JSON.stringify({ twoPods, threePods, pickFirst })}\n`);
} finally {
  await Promise.all(pods.map((p) => p.drain()));
  server.close();
}
