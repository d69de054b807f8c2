/** External tools the deploy tests drive (promtool, prometheus, kubectl), and PromQL name extraction. */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { createMetrics, METRIC } from '../../shared/runtime/metrics.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const MONITORING = path.join(ROOT, 'deploy/monitoring');

/** Absolute path of executable `name` on PATH, or undefined. */
export function findTool(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Absolute path of `name` on PATH; throws with the CI step that installs it. Call it inside a test, so that
 * a missing tool counts as a failed test, never as a skipped one.
 */
export function requireTool(name: string, step: string): string {
  const file = findTool(name);
  if (file === undefined) throw new Error(`${name} is not installed (not on PATH). Install it with: bash ${step}`);
  return file;
}

/** Runs a command to completion; returns its status and output. */
export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: { input?: string; cwd?: string } = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input ?? '', cwd: opts.cwd ?? ROOT, timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PROMQL_WORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'Inf',
  'NaN',
  'inf',
  'nan',
]);

/**
 * Metric names a PromQL expression selects: identifiers that are neither functions/aggregations (followed by
 * "("), keywords, label names (inside {...} and by/on(...) lists), strings, durations nor numbers.
 * Grafana variables ($__rate_interval, ${x}) are dropped first.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\$\{[^}]*\}|\$\w+/g, '')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?\w+/g, ' ')
    .replace(/@\s*[\w.()]+/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-z]*/g)) {
    const token = m[0];
    if (/^\d/.test(token) || PROMQL_WORDS.has(token)) continue;
    if (/^\s*\(/.test(bare.slice((m.index ?? 0) + token.length))) continue; // a function or aggregation
    names.add(token);
  }
  return [...names];
}

/** Series names Prometheus scrapes that a tensorfleet process can export, and the stem each belongs to. */
export async function exportedSeries(): Promise<Map<string, string>> {
  const { registry } = createMetrics('coordinator', 'cpu', () => ({ numTensors: 0, numBytes: 0 }));
  const series = new Map<string, string>();
  for (const m of await registry.getMetricsAsJSON()) {
    const type = String(m.type);
    const suffixes =
      type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : [''];
    for (const s of suffixes) series.set(m.name + s, m.name);
  }
  return series;
}

/** Series Prometheus itself adds to every scrape target (only `up` is used). */
export const SYNTHETIC_SERIES = new Set(['up']);

/** Names in `exprs` that are neither exported by tensorfleet (METRIC or default process metrics) nor synthetic. */
export async function unknownMetricNames(exprs: readonly string[]): Promise<string[]> {
  const series = await exportedSeries();
  const declared = new Set<string>(Object.values(METRIC));
  const unknown = new Set<string>();
  for (const expr of exprs) {
    for (const name of metricNames(expr)) {
      if (SYNTHETIC_SERIES.has(name)) continue;
      const stem = series.get(name);
      if (stem === undefined || (stem.startsWith('tensorfleet_') && !declared.has(stem))) unknown.add(name);
    }
  }
  return [...unknown];
}
