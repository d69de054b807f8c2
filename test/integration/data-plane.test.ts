/**
 * The peer data plane end to end: N = 2, 3 and 4 workers on these 2 cores train the same model as one
 * process (1e-5); each worker's exchange moves 2·(N−1)/N·P float32 values each way per step, within 5%
 * of that bound with the headers; and the coordinator's bytes per step are control messages only: the
 * same for a model ten times larger.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../coordinator/run.ts';
import { loadJob } from '../../shared/model/job.ts';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { JOBS, runTestCluster } from '../helpers/local.ts';
import { fitReference } from '../helpers/reference.ts';
import { maxRelativeDiff } from '../helpers/weights.ts';

/** The flat vector each step exchanges: every trainable value (these models have no BatchNormalization). */
const P = { small: 20 * 64 + 64 + 64 * 4 + 4, large: 20 * 640 + 640 + 640 * 4 + 4 };

async function reference(jobFile: string): Promise<tf.LayersModel> {
  const job = await loadJob(path.join(JOBS, jobFile));
  const { train } = await job.data();
  const x = tf.tensor(train.x, [...train.xShape]);
  const y = tf.tensor(train.y, [...train.yShape]);
  try {
    return await fitReference(job, x, y);
  } finally {
    tf.dispose([x, y]);
  }
}

describe('peer data plane', () => {
  let large: tf.LayersModel;
  const runs = new Map<number, RunResult>();

  beforeAll(async () => {
    await selectBackend('cpu');
    large = await reference('plane-large.ts');
    for (const n of [2, 3, 4]) runs.set(n, await runTestCluster('plane-large.ts', n));
  }, 600_000);

  it.each([2, 3, 4])('N = %i equals one-process model.fit to 1e-5', (n) => {
    expect(maxRelativeDiff((runs.get(n) as RunResult).model, large)).toBeLessThan(1e-5);
  });

  it.each([2, 3, 4])('N = %i: each worker moves 2(N-1)/N P values each way per step, within 5%', (n) => {
    const r = runs.get(n) as RunResult;
    const bound = ((2 * (n - 1)) / n) * P.large * 4;
    expect(r.traffic.steps).toBe(12);
    expect(r.traffic.workers.map((w) => w.rank).sort()).toEqual(Array.from({ length: n }, (_, i) => i));
    for (const w of r.traffic.workers) {
      expect(w.sentPerStep).toBeGreaterThanOrEqual(bound);
      expect(w.sentPerStep).toBeLessThanOrEqual(bound * 1.05);
      expect(w.receivedPerStep).toBeGreaterThanOrEqual(bound);
      expect(w.receivedPerStep).toBeLessThanOrEqual(bound * 1.05);
    }
  });

  it('the coordinator moves control messages only: the same bytes per step for a model ten times larger', async () => {
    const small = await runTestCluster('plane-small.ts', 2);
    const big = runs.get(2) as RunResult;
    const a = small.traffic.coordinatorBytesPerStep;
    const b = big.traffic.coordinatorBytesPerStep;
    expect(a).toBeGreaterThan(0);
    expect(Math.abs(a - b)).toBeLessThanOrEqual(0.02 * a);
    // Far below even the small model: no gradient or weight passes through the coordinator per step.
    expect(b).toBeLessThan(P.small * 4);
    console.log(`coordinator bytes per step: ${a} (P = ${P.small}), ${b} (P = ${P.large})`);
  }, 300_000);
});
