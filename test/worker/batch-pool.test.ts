/**
 * BatchPool and its piscina task (worker/batch-task.ts), on real threads over shared memory: batches
 * equal a direct gather of the same rows (repeats and any order included) from every split; training
 * batches augment in the threads exactly as augmentRows does on the main thread, per row and epoch;
 * an unknown split is refused.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BatchPool } from '../../worker/batch-pool.ts';
import { augmentRows, resolveAugmentSpec } from '../../shared/model/augment/pipeline.ts';
import type { ArrayData } from '../../shared/model/data/dataset.ts';
import { AUGMENT } from '../fixtures/jobs/augment-pipeline.ts';

/** n rows of shape xRow with distinct values (row r, element k = r * 1000 + k), labels r % 4. */
function data(n: number, xShape: number[], offset = 0): ArrayData {
  const xRow = xShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n * xRow }, (_, i) => offset + Math.floor(i / xRow) * 1000 + (i % xRow));
  const y = Float32Array.from({ length: n * 2 }, (_, i) => (i % 2 === 0 ? Math.floor(i / 2) % 4 : offset + i));
  return { x, xShape: [n, ...xShape], y, yShape: [n, 2] };
}

/** The reference: rows `indices` copied one by one, x then y. */
function direct(d: ArrayData, indices: readonly number[]): { x: Float32Array; y: Float32Array } {
  const xRow = d.x.length / (d.xShape[0] as number);
  const yRow = d.y.length / (d.yShape[0] as number);
  const x = new Float32Array(indices.length * xRow);
  const y = new Float32Array(indices.length * yRow);
  indices.forEach((r, i) => {
    x.set(d.x.subarray(r * xRow, (r + 1) * xRow), i * xRow);
    y.set(d.y.subarray(r * yRow, (r + 1) * yRow), i * yRow);
  });
  return { x, y };
}

const pools: BatchPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('BatchPool', () => {
  it('gathers rows of each split exactly as a direct copy does', async () => {
    const sources = { train: data(50, [3, 2]), validation: data(9, [3, 2], 0.5) };
    const pool = new BatchPool(sources, 2);
    pools.push(pool);
    const cases: [keyof typeof sources, number[]][] = [
      ['train', [7, 0, 49, 7, 13]],
      ['train', [49]],
      ['validation', [8, 1, 2, 3]],
      ['train', []],
    ];
    const got = await Promise.all(cases.map(([s, rows]) => pool.gather(s, Int32Array.from(rows))));
    cases.forEach(([s, rows], i) => {
      const want = direct(sources[s], rows);
      expect(got[i]?.x).toEqual(want.x);
      expect(got[i]?.y).toEqual(want.y);
    });
    // The shared copies are the pool's own: changing the caller's arrays later changes no batch.
    sources.train.x.fill(-1);
    expect((await pool.gather('train', Int32Array.from([1]))).x[0]).toBe(1000);
  });

  it('augments training batches as augmentRows does, per row and epoch; other requests stay raw', async () => {
    const images = data(12, [8, 8, 1]);
    for (let i = 0; i < images.x.length; i++) images.x[i] = ((images.x[i] as number) % 97) / 97; // values in [0, 1)
    const pipeline = resolveAugmentSpec(AUGMENT, images.xShape);
    const pool = new BatchPool({ train: images }, 1, pipeline);
    pools.push(pool);
    const rows = [3, 11, 0];
    const want = (epoch: number) => {
      const { x } = direct(images, rows);
      augmentRows(x, rows, pipeline, epoch);
      return x;
    };
    const e1 = await pool.gather('train', Int32Array.from(rows), 1);
    expect(e1.x).toEqual(want(1));
    expect(e1.y).toEqual(direct(images, rows).y); // labels are never augmented
    expect((await pool.gather('train', Int32Array.from(rows), 2)).x).toEqual(want(2));
    expect(want(2)).not.toEqual(want(1));
    // Row 11 alone is augmented as it was inside the batch: per row, not per batch position.
    expect((await pool.gather('train', Int32Array.from([11]), 1)).x).toEqual(e1.x.subarray(64, 128));
    expect((await pool.gather('train', Int32Array.from(rows))).x).toEqual(direct(images, rows).x);
  });

  it('refuses a split it was not given', async () => {
    const pool = new BatchPool({ train: data(4, [2]) }, 1);
    pools.push(pool);
    const refused = pool.gather('test', Int32Array.from([0]));
    await expect(refused).rejects.toThrow('Expected a split among train. Received: test');
  });
});
