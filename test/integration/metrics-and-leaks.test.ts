/**
 * One 1,000-round run of a tiny model on 2 workers: the coordinator's and every worker's Prometheus
 * endpoint is scraped mid-training and shows non-zero training metrics, and each worker's
 * tf.memory().numTensors, reported after every step, stays flat.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../coordinator/run.ts';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { METRIC } from '../../shared/runtime/metrics.ts';
import { runTestCluster } from '../helpers/local.ts';
import { freePort } from '../helpers/procs.ts';

/** Reads one sample's value from a Prometheus text exposition. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

let result: RunResult;
const scraped: { coordinator: string; workers: string[] } = { coordinator: '', workers: [] };

beforeAll(async () => {
  await selectBackend('cpu');
  const base = await freePort();
  let ports: number[] = [];
  let scraping: Promise<void> | undefined;
  result = await runTestCluster('tiny-many-steps.ts', 2, {
    metricsPort: base,
    onWorkers: (_children, info) => {
      ports = info.workerMetricsPorts;
      scraping = (async () => {
        // Scrape once training is well under way: rounds_total > 100 on the coordinator.
        for (;;) {
          const text = await scrape(info.metricsPort);
          if ((sample(text, METRIC.rounds) ?? 0) > 100) {
            scraped.coordinator = text;
            scraped.workers = await Promise.all(ports.map(scrape));
            return;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
    },
  });
  await scraping;
}, 300_000);

describe('metrics endpoints during training', () => {
  it('coordinator reports throughput, loss, accuracy, round durations, bytes and workers', () => {
    const t = scraped.coordinator;
    expect(sample(t, METRIC.samplesPerSecond)).toBeGreaterThan(0);
    expect(sample(t, METRIC.samplesTotal)).toBeGreaterThan(400);
    expect(sample(t, METRIC.loss, 'scope="round"')).toBeGreaterThan(0);
    expect(sample(t, METRIC.metric, 'name="accuracy",scope="round"')).toBeGreaterThanOrEqual(0);
    expect(sample(t, `${METRIC.roundDuration}_count`, 'phase="total"')).toBeGreaterThan(100);
    expect(sample(t, `${METRIC.roundDuration}_sum`, 'phase="compute"')).toBeGreaterThan(0);
    expect(sample(t, METRIC.bytesSent)).toBeGreaterThan(0);
    expect(sample(t, METRIC.bytesReceived)).toBeGreaterThan(0);
    expect(sample(t, METRIC.workersConnected)).toBe(2);
    expect(t).toContain(`${METRIC.backend}{backend="cpu"`);
    expect(t).toContain('process_cpu_seconds_total');
  });

  it('every worker reports throughput, loss and bytes', () => {
    expect(scraped.workers).toHaveLength(2);
    for (const t of scraped.workers) {
      expect(sample(t, METRIC.samplesPerSecond)).toBeGreaterThan(0);
      expect(sample(t, METRIC.samplesTotal)).toBeGreaterThan(0);
      expect(sample(t, METRIC.loss, 'scope="round"')).toBeGreaterThan(0);
      expect(sample(t, METRIC.bytesSent)).toBeGreaterThan(0);
      expect(sample(t, METRIC.bytesReceived)).toBeGreaterThan(0);
    }
  });
});

describe('no tensor leaks on workers', () => {
  it('numTensors stays flat over 1,000 steps on every worker', () => {
    expect(result.workerTensorCounts).toHaveLength(2);
    for (const counts of result.workerTensorCounts) {
      expect(counts.length).toBe(1001); // once at ready, then after each of the 1,000 steps
      const settled = counts.slice(5);
      expect(Math.max(...settled) - Math.min(...settled)).toBe(0);
      expect(counts[counts.length - 1]).toBe(counts[5]);
    }
  });
});
