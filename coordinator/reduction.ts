/**
 * All-reduce inside one training round (synchronized BatchNormalization): every participant sends a
 * float32 vector for each step `seq` of the round; once all have, the elementwise sum goes back to
 * all of them. Sums run in float64, in rank order, so every run adds in the same order.
 */
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import { firstNonFinite, type WireTensor } from '../shared/wire/protocol.ts';
import type { Peer } from './peers.ts';

/** Largest vector accepted, in elements: two per channel plus one, for layers of up to 64 Ki channels. */
export const MAX_REDUCE_ELEMENTS = (1 << 17) + 1;

/** One round's reductions. */
export class Reduction {
  private readonly parts = new Map<number, Map<string, Float32Array>>();
  private readonly completed = new Set<number>();
  private readonly participants: readonly Peer[];

  constructor(
    readonly roundId: number,
    participants: readonly Peer[],
  ) {
    this.participants = [...participants].sort((a, b) => a.rank - b.rank);
  }

  /**
   * Takes `peer`'s vector for `seq` (decodeMessage checked that it is one float32 vector); returns the sum
   * when it was the last one missing, else undefined. Throws a typed error for a vector that is empty, too
   * long, not finite, or not of the same length as the others'.
   */
  offer(peer: Peer, seq: number, t: WireTensor): Float32Array | undefined {
    if (!this.participants.includes(peer))
      throw fleetError('REDUCE_NOT_PARTICIPANT', { round: this.roundId, rank: peer.rank });
    if (t.data.length === 0 || t.data.length > MAX_REDUCE_ELEMENTS)
      throw fleetError('REDUCE_VECTOR_SIZE', { max: MAX_REDUCE_ELEMENTS, received: `${t.data.length} elements` });
    const bad = firstNonFinite(t.data);
    if (bad >= 0)
      throw fleetError('REDUCE_NONFINITE', { seq, round: this.roundId, received: `${t.data[bad]} at index ${bad}` });
    const got = this.parts.get(seq) ?? new Map<string, Float32Array>();
    if (got.has(peer.id) || this.completed.has(seq))
      throw fleetError('REDUCE_DUPLICATE', { seq, round: this.roundId, rank: peer.rank });
    const first = got.values().next().value as Float32Array | undefined;
    if (first && first.length !== t.data.length)
      throw fleetError('REDUCE_LENGTH_MISMATCH', {
        seq,
        round: this.roundId,
        count: first.length,
        received: `${t.data.length} from worker ${peer.rank}`,
      });
    got.set(peer.id, Float32Array.from(t.data));
    this.parts.set(seq, got);
    if (got.size < this.participants.length) return undefined;
    this.parts.delete(seq);
    this.completed.add(seq);
    const acc = new Float64Array(t.data.length);
    for (const p of this.participants) {
      const v = got.get(p.id) as Float32Array;
      for (let i = 0; i < v.length; i++) acc[i] = (acc[i] as number) + (v[i] as number);
    }
    return Float32Array.from(acc);
  }

  /** The participants, in rank order: who gets the sum. */
  members(): readonly Peer[] {
    return this.participants;
  }
}
