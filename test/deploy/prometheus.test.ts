/**
 * Real Prometheus (Debian's package, started here on loopback with a generated config, 1 s scrapes) scrapes
 * a short local cluster, coordinator and both workers, with our alert rules loaded. Mid-training we query
 * the throughput through its HTTP API, and pipe raw scrapes of every endpoint through
 * `promtool check metrics`. Missing prometheus or promtool fails the file (install: .ci/steps/30-prometheus.sh).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { METRIC } from '../../shared/runtime/metrics.ts';
import { runTestCluster } from '../helpers/local.ts';
import { freePort } from '../helpers/procs.ts';
import { MONITORING, findTool, requireTool, run } from './tools.ts';

/** Lint findings tolerated from `promtool check metrics`: none, since shared/runtime/metrics.ts drops the *_total gauges. */
const PROM_CLIENT_DEFAULT_FINDINGS = new Set<string>();

/** Status of `promtool check metrics`: 0 clean, 3 lint findings only (anything else: it could not parse). */
const PROMTOOL_LINT_ONLY = 3;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}
interface LoadedRule {
  name: string;
  health: string;
  lastError?: string;
}
interface RulesAnswer {
  data: { groups: { rules: LoadedRule[] }[] };
}

let prometheus: ChildProcess | undefined;
let promLog = '';
let tmp = '';
let promUrl = '';
const PROMETHEUS = findTool('prometheus');
const promtool = () => requireTool('promtool', '.ci/steps/30-prometheus.sh');
const seen = {
  throughput: 0,
  rate: 0,
  up: [] as Sample[],
  rules: [] as { name: string; health: string; lastError?: string }[],
};
const scraped = { coordinator: '', workers: [] as string[] };

async function query(q: string): Promise<Sample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { status: string; data: { resultType: string; result: Sample[] }; error?: string };
  if (body.status !== 'success') throw new Error(`Prometheus query ${q} failed: ${body.error}`);
  return body.data.result;
}

const value = (samples: Sample[]) => Math.max(0, ...samples.map((s) => Number(s.value[1])));

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

/** Starts Prometheus on loopback `port` and resolves once /-/ready answers 200. */
async function startPrometheus(bin: string, config: string, port: number): Promise<void> {
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    bin,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(tmp, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus.stdout?.on('data', (d: Buffer) => (promLog += d.toString()));
  prometheus.stderr?.on('data', (d: Buffer) => (promLog += d.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (prometheus.exitCode !== null) throw new Error(`prometheus exited with ${prometheus.exitCode}:\n${promLog}`);
    if (Date.now() > deadline) throw new Error(`prometheus not ready after 30 s:\n${promLog}`);
    const ok = await fetch(`${promUrl}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  const bin = PROMETHEUS;
  if (bin === undefined) return; // the first test fails, and so do the others: nothing is skipped
  await selectBackend('cpu');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'tensorfleet-prometheus-'));
  const promPort = await freePort();
  let base = await freePort(); // coordinator; workers take base+1 and base+2 (tensorfleet local)
  while (promPort >= base && promPort <= base + 2) base = await freePort();
  const config = path.join(tmp, 'prometheus.yml');
  writeFileSync(
    config,
    YAML.stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [path.join(MONITORING, 'prometheus/alerts.yml')],
      scrape_configs: [
        { job_name: 'tensorfleet-coordinator', static_configs: [{ targets: [`127.0.0.1:${base}`] }] },
        {
          job_name: 'tensorfleet-workers',
          static_configs: [{ targets: [`127.0.0.1:${base + 1}`, `127.0.0.1:${base + 2}`] }],
        },
      ],
    }),
  );
  await startPrometheus(bin, config, promPort);

  let finished = false;
  let watching: Promise<void> | undefined;
  let watchError: unknown;
  const run = runTestCluster('tiny-many-steps.ts', 2, {
    metricsPort: base,
    onWorkers: (_children, info) => {
      watching = (async () => {
        // Until training ends: raw scrapes once rounds_total > 100, and Prometheus's view once it has
        // seen all three targets up and a non-zero throughput (gauge and counter rate).
        while (!finished) {
          if (scraped.coordinator === '') {
            const text = await scrape(info.metricsPort).catch(() => '');
            if (Number(new RegExp(`^${METRIC.rounds}\\{[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0) > 100) {
              scraped.workers = await Promise.all(info.workerMetricsPorts.map(scrape));
              scraped.coordinator = text;
            }
          }
          if (seen.throughput === 0 || seen.rate === 0 || seen.up.length < 3) {
            seen.throughput = value(await query(`${METRIC.samplesPerSecond}{job="tensorfleet-coordinator"}`));
            seen.rate = value(await query(`rate(${METRIC.samplesTotal}{job="tensorfleet-coordinator"}[5s])`));
            seen.up = await query('up{job=~"tensorfleet-.*"} == 1');
          }
          if (seen.rules.length === 0) {
            const res = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as RulesAnswer;
            const rules = res.data.groups.flatMap((g) => g.rules);
            if (rules.every((r) => r.health !== 'unknown')) seen.rules = rules;
          }
          if (
            scraped.coordinator !== '' &&
            seen.throughput > 0 &&
            seen.rate > 0 &&
            seen.up.length === 3 &&
            seen.rules.length > 0
          )
            return;
          await new Promise((r) => setTimeout(r, 250));
        }
      })().catch((err: unknown) => {
        watchError = err;
      });
    },
  });
  try {
    await run;
  } finally {
    finished = true;
    await watching;
  }
  if (watchError) throw watchError;
}, 300_000);

afterAll(async () => {
  const p = prometheus;
  if (p && p.exitCode === null && p.signalCode === null) {
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('Prometheus scraping a local cluster', () => {
  it('has prometheus installed', () => {
    expect(
      PROMETHEUS,
      'prometheus is not installed (not on PATH). Install it with: bash .ci/steps/30-prometheus.sh',
    ).toBeDefined();
  });

  it('reports a non-zero training throughput through /api/v1/query', () => {
    expect(seen.throughput, `samples/s gauge as Prometheus saw it; log:\n${promLog}`).toBeGreaterThan(0);
    expect(seen.rate, 'rate(samples_total[5s])').toBeGreaterThan(0);
  });

  it('scraped the coordinator and both workers', () => {
    expect(seen.up.map((s) => s.metric['job']).sort()).toEqual([
      'tensorfleet-coordinator',
      'tensorfleet-workers',
      'tensorfleet-workers',
    ]);
  });

  it('loaded and evaluated the alert rules without errors', () => {
    expect(seen.rules.map((r) => r.name)).toEqual([
      'TensorfleetWorkerDown',
      'TensorfleetLossNaN',
      'TensorfleetThroughputDropped',
      'TensorfleetNoProgress',
    ]);
    for (const r of seen.rules) expect(r.health, `${r.name}: ${r.lastError}`).toBe('ok');
  });
});

describe('promtool check metrics on live scrapes', () => {
  const check = (text: string) => {
    expect(text).toContain(METRIC.samplesTotal); // promtool accepts empty input: make sure it is not
    const r = run(promtool(), ['check', 'metrics'], { input: text });
    const findings = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() !== '');
    return { status: r.status, findings };
  };

  it('coordinator: parses, and lint finds nothing in tensorfleet_* metrics', () => {
    const { status, findings } = check(scraped.coordinator);
    expect([0, PROMTOOL_LINT_ONLY], findings.join('\n')).toContain(status);
    expect(findings.filter((f) => !PROM_CLIENT_DEFAULT_FINDINGS.has(f))).toEqual([]);
  });

  it('every worker: parses, and lint finds nothing in tensorfleet_* metrics', () => {
    expect(scraped.workers).toHaveLength(2);
    for (const text of scraped.workers) {
      const { status, findings } = check(text);
      expect([0, PROMTOOL_LINT_ONLY], findings.join('\n')).toContain(status);
      expect(findings.filter((f) => !PROM_CLIENT_DEFAULT_FINDINGS.has(f))).toEqual([]);
    }
  });
});
