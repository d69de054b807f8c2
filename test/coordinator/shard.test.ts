import { describe, expect, it } from 'vitest';
import { weightedAverage } from '../../coordinator/aggregate.ts';
import { shardBatch, shardRange } from '../../coordinator/shard.ts';

describe('sharding and averaging', () => {
  it('splits a batch of 32 over 3 workers as 11, 11, 10, contiguous and complete', () => {
    const batch = Int32Array.from({ length: 32 }, (_, i) => 100 + i);
    const shards = shardBatch(batch, 3);
    expect(shards.map((s) => s.length)).toEqual([11, 11, 10]);
    expect(shards.flatMap((s) => Array.from(s))).toEqual(Array.from(batch));
    expect(shardRange(5, 3)).toEqual([{ start: 0, count: 2 }, { start: 2, count: 2 }, { start: 4, count: 1 }]);
  });

  it('weights each worker by its sample count', () => {
    const t = (v: number[]) => [{ name: 'g', dtype: 'float32' as const, shape: [v.length], data: Float32Array.from(v) }];
    const avg = weightedAverage([{ samples: 3, tensors: t([1, 0]) }, { samples: 1, tensors: t([5, 4]) }]);
    expect(Array.from(avg[0] ?? [])).toEqual([2, 1]);
  });
});
