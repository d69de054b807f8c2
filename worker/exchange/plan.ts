/**
 * How one step's flat gradient of P values is cut for the exchange between N members: each member owns
 * one contiguous range of about P/N values (it reduces that range and sends the result to the others),
 * and each range is cut into buckets of at most `bucketValues`, so a bucket can be reduced and sent on
 * while later buckets are still arriving.
 *
 * Room: worker/exchange is the worker-to-worker data plane; it imports shared/ only.
 */

/** One bucket: values [start, start + length) of the flat gradient, reduced by member `owner`. */
export interface Bucket {
  readonly id: number;
  readonly owner: number;
  readonly start: number;
  readonly length: number;
}

/** The cut of a P-value gradient among `members`, buckets in send order. */
export interface ExchangePlan {
  readonly size: number;
  readonly members: number;
  readonly buckets: readonly Bucket[];
}

/** Default bucket size in values: 1 Mi float32 values (4 MiB), about where ZeroMQ's per-message cost
 * stops mattering on loopback, while a 100M-parameter model still gets ~100 buckets to overlap. */
export const DEFAULT_BUCKET_VALUES = 1 << 20;

/**
 * Cuts `size` values among `members` owners. Ranges differ by at most one value; the buckets are
 * interleaved across owners (every owner's first bucket, then every owner's second, ...) so that every
 * owner starts reducing as early as possible.
 */
export function planExchange(size: number, members: number, bucketValues = DEFAULT_BUCKET_VALUES): ExchangePlan {
  const perOwner: Omit<Bucket, 'id'>[][] = [];
  for (let owner = 0; owner < members; owner++) {
    const start = Math.floor((owner * size) / members);
    const end = Math.floor(((owner + 1) * size) / members);
    const cuts: Omit<Bucket, 'id'>[] = [];
    for (let at = start; at < end; at += bucketValues)
      cuts.push({ owner, start: at, length: Math.min(bucketValues, end - at) });
    perOwner.push(cuts);
  }
  const buckets: Bucket[] = [];
  const rounds = Math.max(0, ...perOwner.map((c) => c.length));
  for (let i = 0; i < rounds; i++) {
    for (const cuts of perOwner) {
      const b = cuts[i];
      if (b) buckets.push({ id: buckets.length, ...b });
    }
  }
  return { size, members, buckets };
}

/** Values one member sends (and receives) per step under `plan`: its share of the others' ranges in the
 * reduce-scatter, plus its own range to each other member in the all-gather. */
export function valuesPerMember(plan: ExchangePlan, member: number): { sent: number; received: number } {
  let own = 0;
  let others = 0;
  for (const b of plan.buckets) {
    if (b.owner === member) own += b.length;
    else others += b.length;
  }
  const peers = plan.members - 1;
  return { sent: others + own * peers, received: own * peers + others };
}
