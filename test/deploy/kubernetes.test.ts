/**
 * deploy/kubernetes checked without a cluster: every manifest against the Kubernetes API's
 * schemas (kubernetes-models, see test/helpers/kubernetes.ts), then what no schema sees: the
 * kustomization lists the folder, the containers run the Procfile's entry points with a valid
 * cluster-mode configuration, the Service, PDB and HPA find the web pods on the port they listen
 * on, the probes hit /readyz and /livez, a drain fits in the grace period, the Ingress routes the
 * realtime paths with long timeouts and affinity. `kubectl kustomize` renders it when kubectl is
 * installed. Runs once (embedded project): nothing here depends on the backend.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { envSchema, loadConfig } from "../../src/config.js";
import { SOCKET_IO_PATH } from "../../src/realtime/socketio.js";
import { type Manifest, schemaErrors, typeErrors } from "../helpers/kubernetes.js";

const root = path.resolve(import.meta.dirname, "../..");
const dir = path.join(root, "deploy/kubernetes");
const read = (file: string) => readFileSync(path.join(dir, file), "utf8");

/** Every document of a YAML file; a syntax error fails here. */
function load(file: string): Manifest[] {
  return parseAllDocuments(read(file)).map((doc) => {
    expect(doc.errors, file).toEqual([]);
    return doc.toJS();
  });
}

const kustomization = parse(read("kustomization.yaml"));
const resources: string[] = kustomization.resources;
// The Secret's template is kept out of the kustomization (real values never enter git).
const SECRET_TEMPLATE = "secret.example.yaml";
const listed = resources.flatMap((file) => load(file).map((manifest) => ({ file, manifest })));
const all = [...listed, ...load(SECRET_TEMPLATE).map((manifest) => ({ file: SECRET_TEMPLATE, manifest }))];

function find(kind: string, name: string): Manifest {
  const found = all.filter(({ manifest }) => manifest.kind === kind && manifest.metadata.name === name);
  expect(found, `${kind} ${name}`).toHaveLength(1);
  return found[0]!.manifest;
}
const ofKind = (kind: string) => listed.map(({ manifest }) => manifest).filter((m) => m.kind === kind);

const configMap = find("ConfigMap", "streamit-config");
const secret = find("Secret", "streamit-secrets");
const web = find("Deployment", "streamit-web");
const worker = find("Deployment", "streamit-worker");
const migrate = find("Job", "streamit-migrate");
const service = find("Service", "streamit-web");
const webPod = web.spec.template;
const webContainer = webPod.spec.containers[0];

/** A label selector's match against a set of labels (matchLabels only: all these manifests use). */
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The Dockerfile's run-stage ENV, then the container's envFrom and env, as the kubelet sets them. */
function environment(container: any): Record<string, string> {
  const image = readFileSync(path.join(root, "Dockerfile"), "utf8").match(/^ENV (.+)$/m)![1]!;
  const env: Record<string, string> = Object.fromEntries(image.split(/\s+/).map((pair) => pair.split("=")));
  for (const source of container.envFrom ?? []) {
    expect(source.configMapRef?.name).toBe(configMap.metadata.name);
    Object.assign(env, configMap.data);
  }
  for (const entry of container.env ?? []) {
    const ref = entry.valueFrom?.secretKeyRef;
    if (!ref) {
      env[entry.name] = entry.value;
      continue;
    }
    expect(ref.name, entry.name).toBe(secret.metadata.name);
    expect(Object.keys(secret.stringData), entry.name).toContain(ref.key);
    env[entry.name] = secret.stringData[ref.key];
  }
  return env;
}

/** The Procfile's commands without the .env loading (the pod's environment replaces it). */
const procfile: Record<string, string[]> = Object.fromEntries(
  readFileSync(path.join(root, "Procfile"), "utf8")
    .trim()
    .split("\n")
    .map((line) => {
      const [name, command] = line.split(/:\s+/);
      return [name, command!.split(/\s+/).filter((arg) => !arg.startsWith("--env-file"))];
    }),
);

const hasKubectl = (() => {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe.runIf(process.env.STREAMIT_TEST_BACKEND !== "cluster")("deploy/kubernetes", () => {
  it("kustomization.yaml lists every manifest of the folder but the Secret's template, each once", () => {
    expect(kustomization).toMatchObject({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization" });
    const files = readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml" && f !== SECRET_TEMPLATE);
    expect([...resources].sort()).toEqual(files.sort());
    expect(new Set(resources).size).toBe(resources.length);
    // The manifests name the image `streamit`; the kustomization says where it really is.
    expect(kustomization.images.map((i: { name: string }) => i.name)).toEqual(["streamit"]);
  });

  it("every manifest is valid against the Kubernetes API's schemas, unknown fields included", async () => {
    for (const { file, manifest } of all) expect(await schemaErrors(manifest), `${file}: ${manifest.kind}`).toEqual([]);
    const labelled = all.map(({ file, manifest }) => ({ label: `${file} ${manifest.kind} ${manifest.metadata.name}`, manifest }));
    expect(typeErrors(labelled)).toEqual([]);
  });

  it("the validators refuse a misspelled field and a wrong type", async () => {
    const misspelled = structuredClone(web);
    const container = misspelled.spec.template.spec.containers[0];
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    expect(await schemaErrors(misspelled)).toEqual([]); // the schema allows unknown fields ...
    expect(typeErrors([{ label: "misspelled", manifest: misspelled }])).toEqual([
      expect.stringMatching(/^misspelled: .*'"readinesProbe"' does not exist in type 'IContainer'/),
    ]);
    const wrongType = structuredClone(web);
    wrongType.spec.template.spec.containers[0].ports[0].containerPort = "8000";
    expect(await schemaErrors(wrongType)).toEqual([expect.stringMatching(/containerPort must be integer/)]);
    expect(typeErrors([{ label: "wrong type", manifest: wrongType }])).toHaveLength(1);
    // A ConfigMap value YAML reads as a number is refused too.
    const unquoted = { ...configMap, data: { ...configMap.data, PORT: 8000 } };
    expect(await schemaErrors(unquoted)).not.toEqual([]);
  });

  it("the containers run the image's entry points as the Procfile names them", () => {
    for (const [manifest, entry] of [
      [web, "web"],
      [worker, "worker"],
      [migrate, "release"],
    ] as const) {
      const [container, ...others] = manifest.spec.template.spec.containers;
      expect(others).toEqual([]);
      expect(container.image).toBe("streamit");
      expect(container.command, entry).toEqual(procfile[entry]);
    }
    expect(migrate.spec.template.spec.restartPolicy).toBe("Never");
  });

  it("every container's environment is a valid configuration; web and worker in cluster mode", () => {
    const settings = Object.keys(envSchema.shape);
    for (const key of Object.keys(configMap.data)) expect(settings, `ConfigMap key ${key}`).toContain(key);
    for (const manifest of [web, worker, migrate]) {
      const env = environment(manifest.spec.template.spec.containers[0]);
      const config = loadConfig(env);
      if (manifest !== migrate) expect(config.clusterMode, manifest.metadata.name).toBe(true);
      else expect(config.database.kind).toBe("postgres");
    }
  });

  it("the Service selects the web pods (and only them) on the port they listen on", () => {
    const labels = webPod.metadata.labels;
    expect(selects(web.spec.selector.matchLabels, labels)).toBe(true);
    expect(selects(service.spec.selector, labels)).toBe(true);
    for (const other of [worker, migrate]) expect(selects(service.spec.selector, other.spec.template.metadata.labels)).toBe(false);
    expect(selects(worker.spec.selector.matchLabels, worker.spec.template.metadata.labels)).toBe(true);
    const port = loadConfig(environment(webContainer)).PORT;
    const metricsPort = loadConfig(environment(webContainer)).METRICS_PORT;
    expect(webContainer.ports).toEqual([
      { name: "http", containerPort: port },
      { name: "metrics", containerPort: metricsPort },
    ]);
    expect(readFileSync(path.join(root, "Dockerfile"), "utf8")).toMatch(new RegExp(`^EXPOSE ${port}$`, "m"));
    expect(service.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(["http"]);
  });

  it("/metrics is on METRICS_PORT of web and worker pods, not behind the Service; the worker's liveness reads it", () => {
    const workerContainer = worker.spec.template.spec.containers[0];
    const metricsPort = loadConfig(environment(workerContainer)).METRICS_PORT;
    expect(metricsPort).toBeGreaterThan(0);
    expect(workerContainer.ports).toEqual([{ name: "metrics", containerPort: metricsPort }]);
    expect(workerContainer.livenessProbe.httpGet).toEqual({ path: "/metrics", port: "metrics" });
    for (const manifest of [web, worker]) {
      expect(manifest.spec.template.metadata.annotations).toEqual({
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(metricsPort),
      });
    }
    expect(service.spec.ports.map((p: { targetPort: string }) => p.targetPort)).not.toContain("metrics");
  });

  it("readiness asks /readyz with a timeout over its 2 s dependency check; liveness and startup ask /livez", () => {
    const probe = (name: string) => webContainer[name].httpGet;
    expect(probe("readinessProbe")).toEqual({ path: "/readyz", port: "http" });
    expect(probe("livenessProbe")).toEqual({ path: "/livez", port: "http" });
    expect(probe("startupProbe")).toEqual({ path: "/livez", port: "http" });
    expect(webContainer.readinessProbe.timeoutSeconds).toBeGreaterThan(2);
    // The startup probe gives migrations time before liveness could restart the pod.
    const { periodSeconds, failureThreshold } = webContainer.startupProbe;
    expect(periodSeconds * failureThreshold).toBeGreaterThanOrEqual(60);
  });

  it("the preStop pause and the drain's bound fit inside the grace period; rollouts keep capacity", () => {
    const preStop = webContainer.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe("sleep");
    const pause = Number(preStop[1]);
    const drain = loadConfig(environment(webContainer)).DRAIN_TIMEOUT_MS / 1000;
    expect(pause).toBeGreaterThan(0);
    expect(pause + drain).toBeLessThan(webPod.spec.terminationGracePeriodSeconds);
    expect(web.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it("every pod runs as the image's unprivileged user, read-only, without privileges, with resources", () => {
    for (const manifest of [web, worker, migrate]) {
      const pod = manifest.spec.template.spec;
      const name = manifest.metadata.name;
      expect(pod.securityContext, name).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 });
      expect(pod.automountServiceAccountToken, name).toBe(false);
      for (const container of pod.containers) {
        expect(container.securityContext, name).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        });
        expect(Object.keys(container.resources.requests).sort(), name).toEqual(["cpu", "memory"]);
        expect(container.resources.limits.memory, name).toBeTruthy();
      }
    }
  });

  it("the PDB and the HPA target the web pods; the HPA owns the replica count", () => {
    const [pdb] = ofKind("PodDisruptionBudget");
    const [hpa] = ofKind("HorizontalPodAutoscaler");
    expect(pdb!.spec.selector.matchLabels).toEqual(web.spec.selector.matchLabels);
    expect(hpa!.spec.scaleTargetRef).toEqual({ apiVersion: web.apiVersion, kind: web.kind, name: web.metadata.name });
    expect(web.spec.replicas).toBeUndefined();
    // One pod may be disrupted while at least one other serves.
    expect(hpa!.spec.minReplicas).toBeGreaterThan(pdb!.spec.maxUnavailable);
    // A CPU utilisation target needs a CPU request to measure against.
    expect(hpa!.spec.metrics.map((m: any) => m.resource.name)).toEqual(["cpu"]);
    expect(webContainer.resources.requests.cpu).toBeTruthy();
  });

  it("the Ingress sends the socket paths to the Service with long timeouts, REST with the default, all sticky", () => {
    const ingresses = ofKind("Ingress");
    const routes = ingresses.flatMap((ingress) =>
      ingress.spec.rules.flatMap((rule: any) => rule.http.paths.map((p: any) => ({ ingress, ...p }))),
    );
    for (const route of routes) {
      expect(route.backend.service.name).toBe(service.metadata.name);
      expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(route.backend.service.port.name);
    }
    // Longest prefix wins, as ingress-nginx matches.
    const routeOf = (url: string) => routes.filter((r) => url.startsWith(r.path)).sort((a, b) => b.path.length - a.path.length)[0]?.ingress;
    const timeout = (ingress: Manifest | undefined) =>
      Number(ingress?.metadata.annotations?.["nginx.ingress.kubernetes.io/proxy-read-timeout"] ?? 60);
    // Both sides ping within 30 s; an upgraded socket stays open far longer than REST may take.
    for (const url of [`${SOCKET_IO_PATH}?EIO=4&transport=websocket`, "/ws/room/ABC123/", "/ws/v1/room/ABC123/"]) {
      expect(timeout(routeOf(url)), url).toBeGreaterThanOrEqual(600);
    }
    expect(timeout(routeOf("/api/rooms/"))).toBe(60);
    // One affinity for the Service (ingress-nginx keeps one per backend): the same on every Ingress.
    const affinity = (ingress: Manifest) =>
      Object.fromEntries(Object.entries(ingress.metadata.annotations ?? {}).filter(([k]) => /affinity|session-cookie/.test(k)));
    for (const ingress of ingresses) expect(affinity(ingress)).toEqual(affinity(ingresses[0]!));
    expect(affinity(ingresses[0]!)["nginx.ingress.kubernetes.io/affinity"]).toBe("cookie");
  });

  it.runIf(hasKubectl)("kubectl kustomize renders it into one namespace with the image set", () => {
    const rendered = parseAllDocuments(execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8" })).map((d) => d.toJS());
    expect(rendered).toHaveLength(listed.length);
    for (const m of rendered.filter((m) => m.kind !== "Namespace")) expect(m.metadata.namespace, m.kind).toBe(kustomization.namespace);
    const { newName, newTag } = kustomization.images[0];
    const images = rendered.flatMap((m) => m.spec?.template?.spec?.containers?.map((c: { image: string }) => c.image) ?? []);
    expect(new Set(images)).toEqual(new Set([`${newName}:${newTag}`]));
  });
});
