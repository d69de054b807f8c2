import { describe, expect, it } from 'vitest';
import { shardBatch, shardRange } from '../../coordinator/shard.ts';
import { reduceBucket } from '../../worker/exchange/reduce.ts';

describe('sharding and averaging', () => {
  it('splits a batch of 32 over 3 workers as 11, 11, 10, contiguous and complete', () => {
    const batch = Int32Array.from({ length: 32 }, (_, i) => 100 + i);
    const shards = shardBatch(batch, 3);
    expect(shards.map((s) => s.length)).toEqual([11, 11, 10]);
    expect(shards.flatMap((s) => Array.from(s))).toEqual(Array.from(batch));
    expect(shardRange(5, 3)).toEqual([
      { start: 0, count: 2 },
      { start: 2, count: 2 },
      { start: 4, count: 1 },
    ]);
  });

  it('weights each worker by its sample count in rank order, members with none adding nothing (reduceBucket)', () => {
    const parts = [
      { rank: 1, samples: 1, data: Float32Array.of(5, 4) },
      { rank: 0, samples: 3, data: Float32Array.of(1, 0) },
      { rank: 2, samples: 0, data: Float32Array.of(1e9, NaN) },
    ];
    expect(Array.from(reduceBucket(parts, 2))).toEqual([2, 1]);
  });
});
