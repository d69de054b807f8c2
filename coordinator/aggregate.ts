/** Gradient averaging: the heart of synchronous data parallelism. */
import type { WireTensor } from '../shared/protocol.ts';

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
  const total = contributions.reduce((n, c) => n + c.samples, 0);
  const first = contributions.find((c) => c.samples > 0);
  if (!first || total === 0) return [];
  return first.tensors.map((t, ti) => {
    const acc = new Float64Array(t.data.length);
    for (const c of contributions) {
      if (c.samples === 0) continue;
      const w = c.samples / total;
      const data = (c.tensors[ti] as WireTensor).data;
      for (let j = 0; j < acc.length; j++) acc[j] = (acc[j] as number) + w * (data[j] as number);
    }
    return Float32Array.from(acc);
  });
}
