/**
 * The owner's reduction of one bucket: the sample-weighted mean of the members' contributions,
 * sum_i (n_i / sum n) * g_i, accumulated in float64 in rank order. The order is fixed by the membership,
 * so every run with the same members rounds the same way, and the result equals the coordinator's
 * weightedAverage over whole gradients bit for bit.
 */

/** One member's contribution to a bucket. */
export interface Part {
  readonly rank: number;
  readonly samples: number;
  readonly data: Float32Array;
}

/** Sample-weighted mean of `parts` (any order given; summed in rank order); members with 0 samples add nothing. */
export function reduceBucket(parts: readonly Part[], length: number): Float32Array {
  const live = parts.filter((p) => p.samples > 0).sort((a, b) => a.rank - b.rank);
  const total = live.reduce((n, p) => n + p.samples, 0);
  const acc = new Float64Array(length);
  for (const p of live) {
    const w = p.samples / total;
    const d = p.data;
    for (let j = 0; j < length; j++) acc[j] = (acc[j] as number) + w * (d[j] as number);
  }
  return new Float32Array(acc);
}
