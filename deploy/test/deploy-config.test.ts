// The deployment files, validated for real without a Docker engine or a cluster:
//  - the Helm chart rendered by helm itself (built from the Go module proxy), every object checked
//    against the Kubernetes OpenAPI JSON schemas (compiled validators shipped in the npm package
//    kubernetes-models, Kubernetes 1.3x) and decoded strictly into its k8s.io/api Go type (unknown
//    fields refused: deploy/helm/strict), its registry ConfigMap parsed by the gateway's own parser;
//  - compose.yaml against the Compose Specification JSON schema (compose-go's embedded copy);
//  - the Dockerfile through dockerfile-utils' validator (parser + instruction/flag checks);
//  - every detector of gateway/config/registry.yaml present in compose, Prometheus and Helm values.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import Ajv2020 from "ajv/dist/2020.js";
import { validate as lintDockerfile } from "dockerfile-utils";
import { parse, parseAllDocuments } from "yaml";
import { loadRegistry, parseRegistry } from "../../gateway/src/registry.js";
import { withDetectorHosts } from "../compose/entrypoint.js";
import { repoRoot } from "../local/mesh.js";
import { composeSchemaPath, helmLint, helmTemplate, strictDecode } from "../helm/tools.js";

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

type Model = new (data: any) => { validate(): void };

/** apiVersion/kind → the model whose validate() applies the Kubernetes schema (ESM-only package: imported dynamically). */
async function kubernetesModels(): Promise<Record<string, Model>> {
  const [core, apps, batch, autoscaling, policy, networking] = await Promise.all([
    import("kubernetes-models/v1"),
    import("kubernetes-models/apps/v1"),
    import("kubernetes-models/batch/v1"),
    import("kubernetes-models/autoscaling/v2"),
    import("kubernetes-models/policy/v1"),
    import("kubernetes-models/networking.k8s.io/v1"),
  ]);
  return {
    "v1/ConfigMap": core.ConfigMap,
    "v1/Secret": core.Secret,
    "v1/Service": core.Service,
    "v1/PersistentVolumeClaim": core.PersistentVolumeClaim,
    "apps/v1/Deployment": apps.Deployment,
    "batch/v1/Job": batch.Job,
    "autoscaling/v2/HorizontalPodAutoscaler": autoscaling.HorizontalPodAutoscaler,
    "policy/v1/PodDisruptionBudget": policy.PodDisruptionBudget,
    "networking.k8s.io/v1/NetworkPolicy": networking.NetworkPolicy,
  };
}

const JWT = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
const registry = loadRegistry(join(repoRoot, "gateway/config/registry.yaml"));
const portOf = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1));
const k8sName = (name: string) => `deepsafe-deepsafe-${name.replaceAll("_", "-")}`;

async function render(set: Record<string, string> = { "jwt.secret": JWT }): Promise<K8sObject[]> {
  const docs = parseAllDocuments(await helmTemplate(set));
  return docs.map((d) => d.toJS() as K8sObject | null).filter((o): o is K8sObject => o !== null);
}

let objects: K8sObject[];
let MODELS: Record<string, Model>;
test.before(async () => {
  MODELS = await kubernetesModels();
  objects = await render({ "jwt.secret": JWT, "mongodb.uri": "mongodb://db:27017/deepsafe" });
});

const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

test("every rendered object is valid against its Kubernetes schema", () => {
  assert.ok(objects.length > 20, `only ${objects.length} objects`);
  for (const o of objects) {
    const Model = MODELS[`${o.apiVersion}/${o.kind}`];
    assert.ok(Model, `no schema mapped for ${o.apiVersion} ${o.kind}`);
    try {
      new Model(o).validate();
    } catch (err) {
      assert.unreachable(`${o.kind} ${o.metadata.name}: ${(err as Error).message}`);
    }
  }
});

test("every rendered object decodes strictly into its Kubernetes API type (no unknown or misplaced field)", async () => {
  const yaml = await helmTemplate({ "jwt.secret": JWT, "mongodb.uri": "mongodb://db:27017/deepsafe", "mesh.enabled": "true" });
  assert.equal(await strictDecode(yaml), []);
  const typo = yaml.replace("terminationGracePeriodSeconds:", "terminationGracePeriod:");
  assert.match((await strictDecode(typo)).join("\n"), /unknown field "terminationGracePeriod"/);
});

test("the schema check is not a formality: a broken Deployment is refused", () => {
  const deployment = structuredClone(objects.find((o) => o.kind === "Deployment")!);
  deployment.spec.template.spec.containers[0].ports[0].containerPort = "five thousand";
  assert.throws(() => new MODELS["apps/v1/Deployment"]!(deployment).validate(), /containerPort/);
});

test("helm lint --strict passes", async () => {
  assert.match(await helmLint({ "jwt.secret": JWT }), /0 chart\(s\) failed/);
});

test("rendering without a JWT secret fails: there is no default secret", async () => {
  try {
    await render({});
    assert.unreachable("rendered without a secret");
  } catch (err) {
    assert.match((err as { stderr?: string }).stderr ?? String(err), /jwt\.secret/);
  }
});

test("the registry ConfigMap parses as a gateway registry and names every registry detector at its headless Service", () => {
  const cm = find("ConfigMap", "deepsafe-deepsafe-registry");
  assert.ok(cm?.data?.["registry.yaml"]);
  const rendered = parseRegistry(parse(cm.data["registry.yaml"]), "rendered ConfigMap");
  for (const d of registry.detectors) {
    const r = rendered.detectors.find((x) => x.name === d.name);
    assert.ok(r, `${d.name} missing from the Helm values`);
    assert.is(r.address, `${k8sName(d.name)}:${portOf(d.address)}`);
    assert.equal({ ...r, address: "" }, { ...d, address: "" }, `${d.name}: Helm values differ from the registry`);
    const service = find("Service", k8sName(d.name));
    assert.is(service?.spec.clusterIP, "None", `${d.name}: the Service must be headless for per-call round_robin`);
    assert.is(service?.spec.ports[0].port, portOf(d.address));
  }
  assert.is(rendered.detectors.length, registry.detectors.length, "Helm values list a detector the registry does not");
});

test("each detector: gRPC startup/readiness/liveness probes, resources, an HPA on queue time, a PDB", () => {
  for (const d of registry.detectors) {
    const name = k8sName(d.name);
    const pod = find("Deployment", name)?.spec.template.spec;
    assert.ok(pod, `no Deployment ${name}`);
    const c = pod.containers[0];
    assert.equal(c.args, ["detector", d.name]);
    assert.equal(c.startupProbe.grpc, { port: portOf(d.address), service: "deepsafe.v1.DetectorService" });
    assert.ok(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold >= 300, "start-up must allow for model warm-up");
    assert.equal(c.readinessProbe.grpc, { port: portOf(d.address), service: "deepsafe.v1.DetectorService" });
    assert.equal(c.livenessProbe.grpc, { port: portOf(d.address), service: "liveness" });
    assert.ok(c.resources.requests.cpu && c.resources.limits.memory);
    assert.is(pod.securityContext.runAsNonRoot, true);
    const hpa = find("HorizontalPodAutoscaler", name);
    assert.is(hpa?.spec.metrics[0].type, "Pods");
    assert.is(hpa?.spec.metrics[0].pods.metric.name, "deepsafe_detector_queue_seconds");
    assert.ok(find("PodDisruptionBudget", name), `no PDB for ${name}`);
  }
  const jwt = find("Deployment", "deepsafe-deepsafe-gateway")?.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "DEEPSAFE_JWT_SECRET");
  assert.is(jwt?.valueFrom.secretKeyRef.name, "deepsafe-deepsafe-secrets");
  assert.is(find("Secret", "deepsafe-deepsafe-secrets")?.spec, undefined);
  assert.ok(objects.some((o) => o.kind === "NetworkPolicy"));
});

test("mesh.enabled puts the mTLS sidecar annotation on every pod", async () => {
  const withMesh = await render({ "jwt.secret": JWT, "mesh.enabled": "true" });
  const pods = withMesh.filter((o) => o.kind === "Deployment").map((o) => o.spec.template.metadata.annotations ?? {});
  assert.ok(pods.length > 0 && pods.every((a) => a["linkerd.io/inject"] === "enabled"));
  assert.not.ok(objects.filter((o) => o.kind === "Deployment").some((o) => o.spec.template.metadata.annotations?.["linkerd.io/inject"]));
});

const composeText = readFileSync(join(repoRoot, "deploy/compose/compose.yaml"), "utf8");
const compose = parse(composeText, { merge: true }) as { services: Record<string, any> };

test("compose.yaml is valid against the Compose Specification schema", async () => {
  const schema = JSON.parse(readFileSync(await composeSchemaPath(), "utf8"));
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  const check = ajv.compile(schema);
  assert.ok(check(compose), JSON.stringify(check.errors?.slice(0, 5)));
  assert.not.ok(check({ services: { x: { image: 1, restart: "sometimes" } } }), "the schema must refuse a broken file");
});

test("compose: every registry detector is a service on its registry port, scraped by Prometheus", () => {
  const prometheus = readFileSync(join(repoRoot, "deploy/compose/prometheus.yml"), "utf8");
  const runtime = compose.services.gateway.image;
  for (const d of registry.detectors) {
    const s = compose.services[d.name];
    assert.ok(s, `no compose service for ${d.name}`);
    assert.equal(s.command, ["detector", d.name]);
    assert.is(s.environment.PORT, String(portOf(d.address)));
    assert.is(s.image, runtime);
    assert.match(s.healthcheck.test[1], /grpc_health_probe .*-service=deepsafe\.v1\.DetectorService/);
    assert.ok(prometheus.includes(`"${d.name}:${portOf(d.address) + 10000}"`), `Prometheus does not scrape ${d.name}`);
  }
  for (const name of ["gateway", "dashboard", "mongodb", "prometheus", "grafana", "weights"]) assert.ok(compose.services[name], name);
});

test("compose: no secret has a default value", () => {
  const secrets = [...composeText.matchAll(/^\s+(\w*(?:SECRET|PASSWORD)\w*):\s*(.+)$/gm)];
  assert.ok(secrets.length >= 3);
  for (const [, key, value] of secrets) assert.match(value!, /^\$\{\w+:\?/, `${key} must be required (\${VAR:?message}), not defaulted`);
  assert.match(compose.services.gateway.environment.MONGODB_URI, /\$\{MONGO_PASSWORD:\?/);
});

test("Grafana's dashboard and the HPA's adapter rule use metrics the services really export", () => {
  const exported = new Set(
    ["sdk/src/metrics.ts", "gateway/src/metrics.ts"].flatMap((f) => [...readFileSync(join(repoRoot, f), "utf8").matchAll(/name: "(deepsafe_\w+)"/g)].map((m) => m[1]!)),
  );
  const base = (name: string) => name.replace(/_(bucket|sum|count)$/, "");
  const dashboard = JSON.parse(readFileSync(join(repoRoot, "deploy/compose/grafana/dashboards/deepsafe.json"), "utf8")) as { panels: Array<{ targets: Array<{ expr: string }> }> };
  const used = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/deepsafe_\w+/g)].map((m) => base(m[0]))));
  assert.ok(used.length >= 6);
  for (const name of used) assert.ok(exported.has(name), `${name} is not exported by the SDK or the gateway`);
  const adapterRule = readFileSync(join(repoRoot, "deploy/helm/README.md"), "utf8");
  const ruleMetrics = [...adapterRule.matchAll(/deepsafe_detector_queue_duration_seconds_(?:sum|count)/g)].map((m) => m[0]);
  assert.ok(ruleMetrics.length >= 2, "the prometheus-adapter rule is documented");
  for (const name of ruleMetrics) assert.ok(exported.has(base(name)), name);
});

test("the gateway in compose reaches each detector by its service name", () => {
  const rewritten = withDetectorHosts(registry, "{name}");
  for (const d of rewritten.detectors) assert.is(d.address, `${d.name}:${portOf(registry.detectors.find((x) => x.name === d.name)!.address)}`);
});

test("the Dockerfile passes dockerfile-utils' validator; stages pinned, runtime non-root", () => {
  const text = readFileSync(join(repoRoot, "deploy/compose/Dockerfile"), "utf8");
  const problems = lintDockerfile(text);
  assert.equal(problems.map((p) => `${p.range.start.line + 1}: ${p.message}`), []);
  assert.ok(lintDockerfile("FROM node:20\nRUNN true\n").length > 0, "the validator must catch a broken file");
  const stages = new Set([...text.matchAll(/ AS ([\w-]+)$/gm)].map((m) => m[1]));
  for (const [, image] of text.matchAll(/^FROM (\S+)/gm)) assert.ok(image === "${NODE_IMAGE}" || stages.has(image) || /:[\w.-]+$/.test(image!), `unpinned ${image}`);
  const runtime = text.slice(text.indexOf("AS runtime"), text.indexOf("AS weights"));
  assert.match(runtime, /^USER 10001:10001$/m);
  for (const stage of ["probe", "build", "dashboard-build", "prod", "runtime", "weights", "dashboard"]) assert.match(text, new RegExp(`AS ${stage}$`, "m"));
});

test("the container entrypoint refuses a PORT that disagrees with the registry", () => {
  const run = spawnSync(process.execPath, ["--import", "tsx", "deploy/compose/entrypoint.ts", "detector", "npr"], {
    cwd: repoRoot,
    env: { ...process.env, PORT: "1" },
    encoding: "utf8",
  });
  assert.is(run.status, 1);
  assert.match(run.stderr, /PORT=1 but the registry says npr listens on 5001/);
});

test.run();
