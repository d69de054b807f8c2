/**
 * deploy/monitoring: the alert rules pass `promtool check rules` and their unit tests (`promtool test
 * rules`), the example Prometheus config passes `promtool check config`, and the Grafana dashboard's
 * queries are valid PromQL that select only metrics tensorfleet exports (shared/runtime/metrics.ts METRIC and the
 * default process metrics) and cover what the dashboard promises.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { METRIC } from '../../shared/runtime/metrics.ts';
import { MONITORING, metricNames, requireTool, run, unknownMetricNames } from './tools.ts';

const RULES_DIR = path.join(MONITORING, 'prometheus');
const DASHBOARD = path.join(MONITORING, 'grafana/dashboards/tensorfleet.json');

interface Target {
  expr?: string;
  refId?: string;
  datasource?: unknown;
}
interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  gridPos: GridPos;
  targets?: Target[];
}
interface Rule {
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const promtool = () => requireTool('promtool', '.ci/steps/30-prometheus.sh');
let tmp: string;
interface Variable {
  name: string;
  type: string;
  query: string;
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
const rules = (
  YAML.parse(readFileSync(path.join(RULES_DIR, 'alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }
).groups.flatMap((g) => g.rules);

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'tensorfleet-monitoring-'));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const r = run(promtool(), ['check', 'rules', 'alerts.yml'], { cwd: RULES_DIR });
    expect(r.stderr + r.stdout).toContain('SUCCESS: 4 rules found');
    expect(r.status).toBe(0);
  });

  it('pass their unit tests (promtool test rules)', () => {
    const r = run(promtool(), ['test', 'rules', 'alerts.test.yml'], { cwd: RULES_DIR });
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('cover worker down, loss NaN, throughput dropped and no progress, each with a test case', () => {
    const names = rules.map((r) => r.alert);
    expect(names).toEqual([
      'TensorfleetWorkerDown',
      'TensorfleetLossNaN',
      'TensorfleetThroughputDropped',
      'TensorfleetNoProgress',
    ]);
    type RuleTests = { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const tests = YAML.parse(readFileSync(path.join(RULES_DIR, 'alerts.test.yml'), 'utf8')) as RuleTests;
    const firing = new Set(
      tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
    );
    for (const n of names) expect(firing, `no test case makes ${n} fire`).toContain(n);
    for (const r of rules) {
      expect(r.labels?.['severity'], r.alert).toMatch(/^(critical|warning)$/);
      expect(r.annotations?.['summary'], r.alert).toBeTruthy();
    }
  });

  it('select only metrics tensorfleet exports (and up)', async () => {
    expect(await unknownMetricNames(rules.map((r) => r.expr))).toEqual([]);
  });

  it('load in the example prometheus.yml (promtool check config)', () => {
    const r = run(promtool(), ['check', 'config', 'prometheus.yml'], { cwd: RULES_DIR });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe('Grafana dashboard', () => {
  it('has a uid, a Prometheus datasource variable, and every query uses it', () => {
    expect(dashboard.uid).toBe('tensorfleet');
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    for (const p of dashboard.panels) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.expr?.trim(), p.title).toBeTruthy();
    }
  });

  it('queries are valid PromQL (promtool parses each as a recording rule)', () => {
    // Grafana's interval variables become fixed durations; promtool then checks the syntax.
    const concrete = exprs.map((e) =>
      e.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '15s').replaceAll('$__range', '1h'),
    );
    const file = path.join(tmp, 'dashboard-exprs.yml');
    const recordingRules = concrete.map((expr, i) => ({ record: `dashboard:expr_${i}`, expr }));
    writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard', rules: recordingRules }] }));
    const r = run(promtool(), ['check', 'rules', file]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${exprs.length} rules found`);
  });

  it('queries select only metric names declared in shared/runtime/metrics.ts METRIC or default process metrics', async () => {
    expect(await unknownMetricNames(exprs)).toEqual([]);
    // And the check itself sees names: the dashboard uses most of METRIC.
    const used = new Set(exprs.flatMap(metricNames));
    const expected = [
      METRIC.samplesPerSecond,
      METRIC.samplesTotal,
      METRIC.loss,
      METRIC.metric,
      `${METRIC.roundDuration}_bucket`,
      METRIC.bytesSent,
      METRIC.bytesReceived,
      METRIC.workersConnected,
      METRIC.workerUp,
      METRIC.tensorBytes,
      'process_resident_memory_bytes',
    ];
    for (const name of expected) {
      expect(used, name).toContain(name);
    }
  });

  it('the name check rejects what it should', async () => {
    const query =
      'histogram_quantile(0.99, sum by (le, phase) (rate(a_bucket{x="y"}[$__rate_interval]))) ' +
      '/ on(job) group_left b offset 5m';
    expect(metricNames(query)).toEqual(['a_bucket', 'b']);
    const unknown = await unknownMetricNames([
      'rate(tensorfleet_samples_total[1m])',
      'tensorfleet_loss',
      'nodejs_heap_size_used_bytes',
    ]);
    expect(unknown).toEqual(['tensorfleet_samples_total']);
  });

  it('shows throughput, loss, accuracy, round time p50/p99, bytes per second, workers up and memory', () => {
    const panel = (title: string) => {
      const p = dashboard.panels.find((x) => x.title === title);
      expect(p, title).toBeDefined();
      return (p?.targets ?? []).map((t) => t.expr ?? '').join('\n');
    };
    expect(panel('Throughput')).toContain(METRIC.samplesPerSecond);
    expect(panel('Throughput')).toContain(`rate(${METRIC.samplesTotal}`);
    expect(panel('Loss')).toContain(METRIC.loss);
    expect(panel('Accuracy')).toMatch(new RegExp(`${METRIC.metric}\\{.*name=~".*acc.*"`));
    expect(panel('Round time p50 / p99')).toContain(
      `histogram_quantile(0.5, sum by (le, phase) (rate(${METRIC.roundDuration}_bucket`,
    );
    expect(panel('Round time p50 / p99')).toContain(
      `histogram_quantile(0.99, sum by (le, phase) (rate(${METRIC.roundDuration}_bucket`,
    );
    expect(panel('Communication')).toContain(`rate(${METRIC.bytesSent}`);
    expect(panel('Communication')).toContain(`rate(${METRIC.bytesReceived}`);
    expect(panel('Workers up')).toContain(METRIC.workerUp);
    expect(panel('Workers connected')).toContain(METRIC.workersConnected);
    expect(panel('Memory')).toContain('process_resident_memory_bytes');
  });

  it('panels do not overlap on the 24-column grid', () => {
    const cells = new Map<string, string>();
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.get(`${x},${y}`), `${p.title} overlaps`).toBeUndefined();
          cells.set(`${x},${y}`, p.title);
        }
      }
    }
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });
});

describe('Grafana provisioning', () => {
  it('provides a Prometheus datasource and a file provider for the dashboard', () => {
    const dsFile = path.join(MONITORING, 'grafana/provisioning/datasources/prometheus.yaml');
    type Datasources = { apiVersion: number; datasources: { type: string; url: string }[] };
    const ds = YAML.parse(readFileSync(dsFile, 'utf8')) as Datasources;
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toContainEqual(expect.objectContaining({ type: 'prometheus' }));
    const dashFile = path.join(MONITORING, 'grafana/provisioning/dashboards/tensorfleet.yaml');
    type Providers = { apiVersion: number; providers: { type: string; options: { path: string } }[] };
    const dash = YAML.parse(readFileSync(dashFile, 'utf8')) as Providers;
    expect(dash.apiVersion).toBe(1);
    const absolutePath = expect.objectContaining({ path: expect.stringMatching(/^\//) });
    expect(dash.providers).toContainEqual(expect.objectContaining({ type: 'file', options: absolutePath }));
  });
});
