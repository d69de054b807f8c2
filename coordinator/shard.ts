/** Splitting a global batch across workers. */

/**
 * Splits `batch` into `k` contiguous shards whose sizes differ by at most one, larger shards first,
 * so a global batch of 32 on 3 workers becomes 11, 11, 10. Shards may be empty when k > batch size.
 */
export function shardBatch(batch: Int32Array, k: number): Int32Array[] {
  const base = Math.floor(batch.length / k);
  const extra = batch.length % k;
  const shards: Int32Array[] = [];
  let at = 0;
  for (let i = 0; i < k; i++) {
    const size = base + (i < extra ? 1 : 0);
    shards.push(batch.subarray(at, at + size));
    at += size;
  }
  return shards;
}

/** Splits the row range [0, count) into k contiguous [start, count] pieces, as shardBatch does. */
export function shardRange(count: number, k: number): { start: number; count: number }[] {
  const base = Math.floor(count / k);
  const extra = count % k;
  const out: { start: number; count: number }[] = [];
  let at = 0;
  for (let i = 0; i < k; i++) {
    const size = base + (i < extra ? 1 : 0);
    out.push({ start: at, count: size });
    at += size;
  }
  return out;
}
