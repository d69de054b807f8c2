/**
 * One step's all-reduce between the members of a membership, by direct peer sends: a bucketed
 * reduce-scatter (each member sends its contribution to bucket b straight to b's owner), then an
 * all-gather (each owner sends its reduced bucket straight to every other member). A member moves
 * 2·(N−1)/N·P values each way, and each bucket travels on as soon as it is ready, so the owner's
 * reduction of one bucket overlaps the arrival of the next.
 */
import { fleetError } from '../../shared/runtime/catalogue/index.ts';
import type { FleetError } from '../../shared/runtime/errors.ts';
import type { PeerMesh, PeerMessage } from './mesh.ts';
import type { Bucket, ExchangePlan } from './plan.ts';
import { reduceBucket, type Part } from './reduce.ts';

/** What one all-reduce needs: the round, the plan, and every member's sample count (by rank). */
export interface AllReduceSpec {
  readonly roundId: number;
  readonly plan: ExchangePlan;
  /** Samples behind each member's contribution, indexed by rank; the weights of the mean. */
  readonly samples: readonly number[];
}

/** The state of one round's all-reduce on one member; fed by `take`, finished by `run`. */
export class AllReduce {
  private readonly parts = new Map<number, Part[]>();
  private readonly filled = new Set<number>();
  private readonly out: Float32Array;
  private readonly rank: number;
  private readonly session: string;
  private settle: { resolve: (v: Float32Array) => void; reject: (e: FleetError) => void } | undefined;
  private failed: FleetError | undefined;

  constructor(
    private readonly mesh: PeerMesh,
    private readonly spec: AllReduceSpec,
  ) {
    const m = mesh.current;
    if (!m) throw fleetError('EXCHANGE_NO_MEMBERSHIP');
    if (spec.samples.length !== spec.plan.members || m.members.length !== spec.plan.members) {
      throw fleetError('EXCHANGE_MEMBERS', {
        plan: spec.plan.members,
        members: m.members.length,
        samples: spec.samples.length,
      });
    }
    this.rank = m.rank;
    this.session = m.session;
    this.out = new Float32Array(spec.plan.size);
  }

  /** The round this all-reduce belongs to. */
  get roundId(): number {
    return this.spec.roundId;
  }

  /**
   * Contributes `gradient` (this member's flat gradient, P values) and resolves with the weighted mean
   * over all members once every bucket is known here. `gradient` must not change until then.
   */
  run(gradient: Float32Array): Promise<Float32Array> {
    if (gradient.length !== this.spec.plan.size)
      throw fleetError('EXCHANGE_SIZE', { want: this.spec.plan.size, received: gradient.length });
    const done = new Promise<Float32Array>((resolve, reject) => (this.settle = { resolve, reject }));
    if (this.failed) return Promise.reject(this.failed);
    const mine = this.spec.samples[this.rank] as number;
    for (const b of this.spec.plan.buckets) {
      const slice = gradient.subarray(b.start, b.start + b.length);
      if (b.owner === this.rank) this.addPart(b, { rank: this.rank, samples: mine, data: slice });
      else void this.send(b.owner, { kind: 'scatter', bucket: b.id, samples: mine }, slice);
    }
    this.finishIfDone();
    return done;
  }

  /** Takes one accepted peer message of this round; throws a FleetError for one that does not fit it. */
  take(msg: PeerMessage): void {
    const b = this.spec.plan.buckets[msg.bucket];
    if (!b) throw fleetError('EXCHANGE_BUCKET', { count: this.spec.plan.buckets.length, received: msg.bucket });
    const data = msg.groups.values[0].data;
    if (!(data instanceof Float32Array) || data.length !== b.length) {
      throw fleetError('EXCHANGE_BUCKET_LENGTH', { bucket: b.id, length: b.length, received: data.length });
    }
    if (msg.kind === 'scatter') {
      if (b.owner !== this.rank)
        throw fleetError('EXCHANGE_NOT_OWNER', { bucket: b.id, owner: b.owner, from: msg.from });
      if (msg.samples !== this.spec.samples[msg.from]) {
        throw fleetError('EXCHANGE_SAMPLES', {
          from: msg.from,
          want: this.spec.samples[msg.from],
          received: msg.samples,
        });
      }
      if ((this.parts.get(b.id) ?? []).some((p) => p.rank === msg.from))
        throw fleetError('EXCHANGE_DUPLICATE', { kind: msg.kind, bucket: b.id, from: msg.from });
      this.addPart(b, { rank: msg.from, samples: msg.samples, data });
    } else {
      if (b.owner !== msg.from)
        throw fleetError('EXCHANGE_NOT_FROM_OWNER', { bucket: b.id, owner: b.owner, from: msg.from });
      if (this.filled.has(b.id))
        throw fleetError('EXCHANGE_DUPLICATE', { kind: msg.kind, bucket: b.id, from: msg.from });
      this.out.set(data, b.start);
      this.filled.add(b.id);
    }
    this.finishIfDone();
  }

  /** Ends the all-reduce without a result (a member was lost, or the coordinator aborted the step). */
  abort(err: FleetError): void {
    this.failed ??= err;
    this.settle?.reject(err);
  }

  private addPart(b: Bucket, part: Part): void {
    const parts = this.parts.get(b.id) ?? [];
    parts.push(part);
    this.parts.set(b.id, parts);
    // The owner's own part arrives in run(); peers' parts may come before it.
    if (parts.length < this.spec.plan.members || !parts.some((p) => p.rank === this.rank)) return;
    const reduced = reduceBucket(parts, b.length);
    this.parts.delete(b.id);
    this.out.set(reduced, b.start);
    this.filled.add(b.id);
    for (let r = 0; r < this.spec.plan.members; r++) {
      if (r !== this.rank) void this.send(r, { kind: 'gather', bucket: b.id, samples: this.total() }, reduced);
    }
  }

  private total(): number {
    return this.spec.samples.reduce((a, n) => a + n, 0);
  }

  private send(
    to: number,
    h: { kind: 'scatter' | 'gather'; bucket: number; samples: number },
    data: Float32Array,
  ): Promise<void> {
    const header = { ...h, session: this.session, roundId: this.spec.roundId, from: this.rank };
    return this.mesh
      .send(to, header, data)
      .catch((err: unknown) => this.abort(fleetError('EXCHANGE_SEND', { to, received: String(err) })));
  }

  private finishIfDone(): void {
    if (!this.settle || this.failed || this.filled.size < this.spec.plan.buckets.length) return;
    this.settle.resolve(this.out);
  }
}
