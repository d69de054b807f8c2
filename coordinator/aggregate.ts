/** Gradient averaging: the heart of synchronous data parallelism. */
import type { WireTensor } from '../shared/wire/protocol.ts';

/** One worker's contribution to a round: gradients of its shard's mean loss, and its sample count. */
export interface Contribution {
  readonly samples: number;
  readonly tensors: readonly WireTensor[];
}

/**
 * Sample-weighted mean of per-worker gradients: sum_i n_i * g_i / sum_i n_i, which equals the gradient
 * of the global batch's mean loss. Accumulates in float64 (JS numbers) to keep rounding below float32's.
 */
export function weightedAverage(contributions: readonly Contribution[]): Float32Array[] {
  const live = contributions.filter((c) => c.samples > 0);
  const total = live.reduce((n, c) => n + c.samples, 0);
  const first = live[0];
  if (!first) return [];
  // One worker: its gradient already is the batch mean; skip the copy.
  if (live.length === 1) return first.tensors.map((t) => t.data as Float32Array);
  return first.tensors.map((t, ti) => {
    const acc = new Float64Array(t.data.length);
    for (const c of live) {
      const w = c.samples / total;
      const data = (c.tensors[ti] as WireTensor).data;
      for (let j = 0; j < acc.length; j++) acc[j] = (acc[j] as number) + w * (data[j] as number);
    }
    return new Float32Array(acc); // typed-array copy: far faster than Float32Array.from's iterator
  });
}
