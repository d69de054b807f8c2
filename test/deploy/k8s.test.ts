/**
 * deploy/k8s: both overlays render with `kubectl kustomize`, every rendered object passes its
 * kubernetes-models schema (`.validate()`), and the deployment hangs together: GPU workers ask for a GPU,
 * the coordinator keeps checkpoints on a PersistentVolumeClaim and restarts after a crash, flags parse with
 * our own config schema, the worker count matches, pods are annotated for Prometheus, the ServiceMonitor
 * finds both Services, and the generated ConfigMaps hold the repo's files.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Job } from 'kubernetes-models/batch/v1/Job';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { parseConfig } from '../../shared/runtime/config.ts';
import { tsxLoaderUrl } from '../../shared/runtime/tsx.ts';
import { MONITORING, ROOT, requireTool, run } from './tools.ts';

const K8S = path.join(ROOT, 'deploy/k8s');
const CHECKPOINTS = '/var/lib/tensorfleet';

interface Metadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Obj {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  [k: string]: unknown;
}
type ServiceMonitorSpec = { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
type ServiceMonitor = Obj & { spec: ServiceMonitorSpec };
type Validatable = new (data: never) => { validate(): void };

/** kubernetes-models classes by apiVersion/kind, for every kind the overlays render. */
const MODELS: Record<string, Validatable> = {
  'v1/Namespace': Namespace as unknown as Validatable,
  'v1/ConfigMap': ConfigMap as unknown as Validatable,
  'v1/Secret': Secret as unknown as Validatable,
  'v1/Service': Service as unknown as Validatable,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim as unknown as Validatable,
  'batch/v1/Job': Job as unknown as Validatable,
};

/**
 * The Prometheus Operator's kinds are CRDs: @kubernetes-models/prometheus-operator (same family as
 * kubernetes-models, generated from the operator's CRD schemas) validates them when it is installed.
 * Imported through a variable so the type check passes without it.
 */
const OPERATOR_MODELS = '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
const operator = (await import(/* @vite-ignore */ OPERATOR_MODELS).catch(() => undefined)) as
  Record<string, Validatable> | undefined;
const CRD_KINDS = new Set(['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule']);

function kustomize(dir: string): Obj[] {
  const kubectl = requireTool('kubectl', '.ci/steps/31-kube.sh');
  const r = run(kubectl, ['kustomize', dir]);
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${r.stderr}`);
  return YAML.parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj)
    .filter((o) => o !== null);
}

const key = (o: Obj) => `${o.apiVersion}/${o.kind}`;
const find = (docs: Obj[], kind: string, name: string) => {
  const o = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return o;
};
const podOf = (job: Obj) => (job['spec'] as { template: IPodTemplateSpec }).template;
const containers = (job: Obj): IContainer[] => podOf(job).spec?.containers ?? [];

/** Problems that make a GPU overlay wrong: a worker container that asks for no GPU. */
function gpuProblems(docs: Obj[]): string[] {
  const problems: string[] = [];
  for (const c of containers(find(docs, 'Job', 'tensorfleet-workers'))) {
    const gpus = Number(c.resources?.limits?.['nvidia.com/gpu'] ?? 0);
    const limits = JSON.stringify(c.resources?.limits ?? {});
    if (!(gpus >= 1)) problems.push(`worker container ${c.name} asks for no nvidia.com/gpu (limits: ${limits})`);
  }
  return problems;
}

/** Problems with the coordinator's checkpoints and restarts. */
function coordinatorProblems(docs: Obj[]): string[] {
  const problems: string[] = [];
  const job = find(docs, 'Job', 'tensorfleet-coordinator');
  const pod = podOf(job);
  if (!['OnFailure', 'Always'].includes(pod.spec?.restartPolicy ?? ''))
    problems.push(`coordinator restartPolicy is ${pod.spec?.restartPolicy}: a crash would not restart it`);
  const mount = containers(job)[0]?.volumeMounts?.find((m) => m.mountPath === CHECKPOINTS);
  const volume = pod.spec?.volumes?.find((v) => v.name === mount?.name);
  const claim = volume?.persistentVolumeClaim?.claimName;
  if (!mount || !claim)
    problems.push(
      `coordinator has no PersistentVolumeClaim mounted at ${CHECKPOINTS} ` +
        `(mount: ${mount?.name}, volume: ${JSON.stringify(volume)})`,
    );
  else if (!docs.some((d) => d.kind === 'PersistentVolumeClaim' && d.metadata.name === claim))
    problems.push(`coordinator mounts PVC ${claim}, which is not rendered`);
  return problems;
}

const OVERLAYS = ['gpu', 'cpu'] as const;
type Overlay = (typeof OVERLAYS)[number];
const cache = new Map<Overlay, Obj[]>();
/** The rendered overlay (rendered once, inside a test, so a missing kubectl fails tests rather than collection). */
function rendered(overlay: Overlay): Obj[] {
  if (!cache.has(overlay)) cache.set(overlay, kustomize(path.join(K8S, 'overlays', overlay)));
  return cache.get(overlay) as Obj[];
}

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  let docs: Obj[] = [];
  beforeEach(() => {
    docs = rendered(overlay);
  });

  it('renders the namespace, coordinator, workers, services, PVC, ConfigMaps, Secret and monitoring objects', () => {
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      'ConfigMap/tensorfleet-grafana-dashboard',
      expect.stringMatching(/^ConfigMap\/tensorfleet-job-[a-z0-9]+$/), // name carries a content hash
      'ConfigMap/tensorfleet-prometheus-rules',
      'Job/tensorfleet-coordinator',
      'Job/tensorfleet-workers',
      'Namespace/tensorfleet',
      'PersistentVolumeClaim/tensorfleet-checkpoints',
      'PrometheusRule/tensorfleet',
      'Secret/tensorfleet-curve-keys',
      'Service/tensorfleet-coordinator',
      'Service/tensorfleet-workers',
      'ServiceMonitor/tensorfleet',
    ]);
    for (const d of docs)
      if (d.kind !== 'Namespace') expect(d.metadata.namespace, `${d.kind}/${d.metadata.name}`).toBe('tensorfleet');
  });

  it('every built-in object passes its kubernetes-models schema', () => {
    for (const d of docs) {
      if (CRD_KINDS.has(key(d))) continue;
      const Model = MODELS[key(d)];
      expect(Model, `no kubernetes-models class for ${key(d)}`).toBeDefined();
      expect(() => new (Model as Validatable)(d as never).validate(), `${d.kind}/${d.metadata.name}`).not.toThrow();
    }
  });

  it.skipIf(operator === undefined)(
    `ServiceMonitor and PrometheusRule pass their CRD schemas (needs ${OPERATOR_MODELS})`,
    () => {
      for (const d of docs.filter((x) => CRD_KINDS.has(key(x)))) {
        const Model = operator?.[d.kind];
        expect(Model, d.kind).toBeDefined();
        expect(() => new (Model as Validatable)(d as never).validate(), `${d.kind}/${d.metadata.name}`).not.toThrow();
      }
    },
  );

  it('the coordinator keeps checkpoints on a PVC, restarts after a crash, and writes its run there', () => {
    expect(coordinatorProblems(docs)).toEqual([]);
    const args = containers(find(docs, 'Job', 'tensorfleet-coordinator'))[0]?.args ?? [];
    expect(args.join(' ')).toContain(`--out ${CHECKPOINTS}/run`);
  });

  it("flags parse with tensorfleet's own config schema, and the worker count matches", () => {
    const coordinator = containers(find(docs, 'Job', 'tensorfleet-coordinator'))[0]?.args ?? [];
    const worker = containers(find(docs, 'Job', 'tensorfleet-workers'))[0]?.args ?? [];
    expect(coordinator[0]).toBe('coordinator');
    expect(worker[0]).toBe('worker');
    const c = parseConfig('coordinator', coordinator.slice(1));
    const w = parseConfig('worker', worker.slice(1));
    expect(c.backend).toBe('tensorflow');
    expect(w.backend).toBe(overlay === 'gpu' ? 'tensorflow-gpu' : 'tensorflow');
    const spec = find(docs, 'Job', 'tensorfleet-workers')['spec'] as {
      completionMode: string;
      completions: number;
      parallelism: number;
    };
    expect(spec.completionMode).toBe('Indexed');
    expect(spec.completions).toBe(c.workers);
    expect(spec.parallelism).toBe(c.workers);
    // Workers connect to the coordinator's Service on its ZeroMQ port; the job module is mounted at the
    // same path in every pod (workers load the path the coordinator sends).
    const svc = find(docs, 'Service', 'tensorfleet-coordinator')['spec'] as { ports: { name: string; port: number }[] };
    expect(w.connect).toBe(`tcp://tensorfleet-coordinator:${svc.ports.find((p) => p.name === 'zmq')?.port}`);
    expect(svc.ports.map((p) => p.port).sort()).toEqual([5555, 9400]);
    for (const job of ['tensorfleet-coordinator', 'tensorfleet-workers']) {
      const pod = podOf(find(docs, 'Job', job));
      const mount = pod.spec?.containers[0]?.volumeMounts?.find((m) => c.job.startsWith(`${m.mountPath}/`));
      const cm = pod.spec?.volumes?.find((v) => v.name === mount?.name)?.configMap?.name;
      const data = (find(docs, 'ConfigMap', cm ?? '?')['data'] as Record<string, string>)[path.basename(c.job)];
      expect(data, `${job} mounts the job module at ${c.job}`).toBe(
        readFileSync(path.join(K8S, 'base/job.ts'), 'utf8'),
      );
    }
  });

  it(
    overlay === 'gpu'
      ? 'every worker pod asks for one GPU, on the GPU image'
      : 'nothing asks for a GPU, on the CPU image',
    () => {
      const workers = find(docs, 'Job', 'tensorfleet-workers');
      if (overlay === 'gpu') {
        expect(gpuProblems(docs)).toEqual([]);
        expect(containers(workers)[0]?.resources?.limits?.['nvidia.com/gpu']).toBe(1);
        expect(containers(workers)[0]?.env).toContainEqual({ name: 'TF_FORCE_GPU_ALLOW_GROWTH', value: 'true' });
      } else {
        expect(JSON.stringify(docs)).not.toContain('nvidia.com/gpu');
      }
      for (const job of ['tensorfleet-coordinator', 'tensorfleet-workers']) {
        expect(containers(find(docs, 'Job', job))[0]?.image).toBe(`tensorfleet:0.1.0-${overlay}`);
      }
    },
  );

  it('pods carry prometheus.io annotations for their metrics port, and the ServiceMonitor selects both Services', () => {
    for (const [job, port] of [
      ['tensorfleet-coordinator', 9400],
      ['tensorfleet-workers', 9401],
    ] as const) {
      const pod = podOf(find(docs, 'Job', job));
      expect(pod.metadata?.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port),
        'prometheus.io/path': '/metrics',
      });
      expect(pod.spec?.containers[0]?.ports).toContainEqual({ name: 'metrics', containerPort: port });
      const args = pod.spec?.containers[0]?.args ?? [];
      expect(args[args.indexOf('--metrics-port') + 1]).toBe(String(port));
    }
    const sm = find(docs, 'ServiceMonitor', 'tensorfleet') as ServiceMonitor;
    const selects = (d: Obj) =>
      Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => d.metadata.labels?.[k] === v);
    const selected = docs.filter((d) => d.kind === 'Service' && selects(d));
    expect(selected.map((s) => s.metadata.name).sort()).toEqual(['tensorfleet-coordinator', 'tensorfleet-workers']);
    for (const s of selected) {
      const ports = (s['spec'] as { ports: { name: string }[] }).ports.map((p) => p.name);
      for (const e of sm.spec.endpoints) expect(ports, s.metadata.name).toContain(e.port);
    }
  });

  it('ConfigMaps hold the Grafana dashboard (sidecar label) and the alert rules; the PrometheusRule matches alerts.yml', () => {
    const dash = find(docs, 'ConfigMap', 'tensorfleet-grafana-dashboard');
    expect(dash.metadata.labels?.['grafana_dashboard']).toBe('1');
    const dashboardJson = readFileSync(path.join(MONITORING, 'grafana/dashboards/tensorfleet.json'), 'utf8');
    expect((dash['data'] as Record<string, string>)['tensorfleet.json']).toBe(dashboardJson);
    const alerts = readFileSync(path.join(MONITORING, 'prometheus/alerts.yml'), 'utf8');
    const rulesData = find(docs, 'ConfigMap', 'tensorfleet-prometheus-rules')['data'] as Record<string, string>;
    expect(rulesData['tensorfleet-alerts.yml']).toBe(alerts);
    const ruleSpec = find(docs, 'PrometheusRule', 'tensorfleet')['spec'] as { groups: unknown };
    expect(ruleSpec.groups).toEqual((YAML.parse(alerts) as { groups: unknown }).groups);
  });

  it('the CURVE key Secret holds clearly marked placeholders only', () => {
    const secret = find(docs, 'Secret', 'tensorfleet-curve-keys');
    expect(secret.metadata.annotations?.['tensorfleet.dev/placeholder']).toMatch(/^true/);
    const values = Object.values((secret['stringData'] ?? {}) as Record<string, string>);
    expect(values.length).toBeGreaterThan(0);
    for (const v of values) expect(v).toMatch(/^PLACEHOLDER-/);
    expect(secret['data']).toBeUndefined();
  });
});

describe('the checks catch broken manifests', () => {
  const clone = (docs: Obj[]) => structuredClone(docs);

  it('a GPU worker without a GPU limit', () => {
    const docs = clone(rendered('gpu'));
    delete containers(find(docs, 'Job', 'tensorfleet-workers'))[0]?.resources?.limits?.['nvidia.com/gpu'];
    expect(gpuProblems(docs)).toEqual([expect.stringContaining('worker container worker asks for no nvidia.com/gpu')]);
    expect(gpuProblems(rendered('cpu'))).toHaveLength(1); // the cpu overlay would fail the gpu check, as it should
  });

  it('a coordinator without its checkpoint volume, or that is never restarted', () => {
    const noVolume = clone(rendered('gpu'));
    const pod = podOf(find(noVolume, 'Job', 'tensorfleet-coordinator'));
    if (pod.spec) pod.spec.volumes = pod.spec.volumes?.filter((v) => v.persistentVolumeClaim === undefined);
    expect(coordinatorProblems(noVolume)).toEqual([
      expect.stringContaining(`no PersistentVolumeClaim mounted at ${CHECKPOINTS}`),
    ]);
    const emptyDir = clone(rendered('gpu'));
    const pod2 = podOf(find(emptyDir, 'Job', 'tensorfleet-coordinator'));
    for (const v of pod2.spec?.volumes ?? [])
      if (v.persistentVolumeClaim) {
        delete v.persistentVolumeClaim;
        v.emptyDir = {};
      }
    expect(coordinatorProblems(emptyDir)).toHaveLength(1);
    const never = clone(rendered('gpu'));
    const pod3 = podOf(find(never, 'Job', 'tensorfleet-coordinator'));
    if (pod3.spec) pod3.spec.restartPolicy = 'Never';
    expect(coordinatorProblems(never)).toEqual([expect.stringContaining('restartPolicy is Never')]);
  });

  it('a schema violation', () => {
    const docs = clone(rendered('gpu'));
    const c = containers(find(docs, 'Job', 'tensorfleet-workers'))[0] as { ports: unknown[] };
    c.ports = [{ name: 'metrics', containerPort: 'nine-four-oh-one' }];
    const job = find(docs, 'Job', 'tensorfleet-workers');
    expect(() => new Job(job as never).validate()).toThrow(/containerPort must be integer/);
  });
});

describe('the job module shipped in the ConfigMap', () => {
  it("loads as a valid job where the image puts it (under the package root, importing 'tensorfleet')", () => {
    // A real tsx process, as in the pods: loadJob imports it and checks it against the job schema.
    const script = `const { loadJob } = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'shared/model/job.ts')).href)});
      const job = await loadJob(${JSON.stringify(path.join(K8S, 'base/job.ts'))});
      console.log(JSON.stringify({ name: job.name, epochs: job.fit.epochs }));`;
    const r = spawnSync(process.execPath, ['--import', tsxLoaderUrl(), '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: ROOT,
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}')).toEqual({ name: 'mnist-mlp', epochs: 5 });
  });
});
