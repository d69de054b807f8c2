/**
 * Routes peer messages to the round they belong to. Peers start a round when the coordinator's request
 * reaches them, so a fast peer's contributions can arrive before this worker has begun the round: they
 * wait here, bounded, until it does. Messages of rounds already over are stale and refused.
 */
import { fleetError } from '../../shared/runtime/catalogue/index.ts';
import { isFleetError, type FleetError } from '../../shared/runtime/errors.ts';
import { AllReduce, type AllReduceSpec } from './allreduce.ts';
import type { PeerMesh, PeerMessage } from './mesh.ts';

/** Holds the round in progress and the early messages of later rounds. */
export class ExchangeRouter {
  private active: AllReduce | undefined;
  private lastRound = -1;
  /** The newest round the coordinator has sent: an older one that begins after it is already dropped. */
  private newest = -1;
  /** The newest round id the coordinator has sent. */
  private announced = -1;
  private early: PeerMessage[] = [];
  private earlyValues = 0;

  constructor(
    private readonly mesh: PeerMesh,
    /** Most values held for rounds not begun yet, until a round shows the model's size (then twice that):
     * beyond it a message is refused (a peer that runs ahead by more than one round breaks the protocol). */
    private maxEarlyValues: number,
    private readonly rejected: (err: FleetError) => void = () => {},
  ) {
    mesh.onMessage((msg) => this.route(msg));
  }

  /** Starts round `spec.roundId` (which must be newer than every earlier one) and feeds it what already came. */
  begin(spec: AllReduceSpec): AllReduce {
    if (spec.roundId <= this.lastRound)
      throw fleetError('EXCHANGE_ROUND_ORDER', { last: this.lastRound, received: spec.roundId });
    if (spec.roundId < this.newest)
      throw fleetError('EXCHANGE_SUPERSEDED', { roundId: spec.roundId, next: this.newest });
    this.active?.abort(fleetError('EXCHANGE_SUPERSEDED', { roundId: this.active.roundId, next: spec.roundId }));
    const round = new AllReduce(this.mesh, spec);
    this.maxEarlyValues = Math.max(this.maxEarlyValues, 2 * spec.plan.size);
    this.active = round;
    this.lastRound = spec.roundId;
    const waiting = this.early.filter((m) => m.roundId === spec.roundId);
    this.early = this.early.filter((m) => m.roundId > spec.roundId);
    this.earlyValues = this.early.reduce((n, m) => n + m.groups.values[0].data.length, 0);
    for (const m of waiting) this.deliver(round, m);
    return round;
  }

  /** True when the coordinator has sent a newer round than `roundId`: that one was dropped, skip it. */
  isSuperseded(roundId: number): boolean {
    return roundId < this.newest;
  }

  /** Forgets every round: a new session with a (possibly restarted) coordinator numbers rounds anew. */
  reset(): void {
    this.supersede();
    this.lastRound = -1;
    this.newest = -1;
    this.announced = -1;
    this.early = [];
    this.earlyValues = 0;
  }

  /** Aborts the round in progress when `next` is a newer round (or none is given): the coordinator has
   * moved on, and a request queued behind the stuck exchange must not wait for it. */
  supersede(next?: number): void {
    // Without a round (an evaluation or a pull came), every round sent so far is over.
    this.newest = Math.max(this.newest, next ?? this.announced + 1);
    if (next !== undefined) this.announced = Math.max(this.announced, next);
    if (!this.active || (next !== undefined && this.active.roundId >= next)) return;
    this.abort(fleetError('EXCHANGE_SUPERSEDED', { roundId: this.active.roundId, next: next ?? 'none' }));
  }

  /** Aborts the round in progress, if any (a member was lost). */
  abort(err: FleetError): void {
    this.active?.abort(err);
    this.active = undefined;
  }

  private route(msg: PeerMessage): void {
    if (this.active && msg.roundId === this.active.roundId) return this.deliver(this.active, msg);
    if (msg.roundId <= this.lastRound) {
      return this.rejected(
        fleetError('EXCHANGE_STALE', { kind: msg.kind, roundId: msg.roundId, from: msg.from, last: this.lastRound }),
      );
    }
    const values = msg.groups.values[0].data.length;
    if (this.earlyValues + values > this.maxEarlyValues) {
      return this.rejected(
        fleetError('EXCHANGE_TOO_EARLY', { roundId: msg.roundId, from: msg.from, max: this.maxEarlyValues }),
      );
    }
    this.early.push(msg);
    this.earlyValues += values;
  }

  private deliver(round: AllReduce, msg: PeerMessage): void {
    try {
      round.take(msg);
    } catch (err) {
      if (!isFleetError(err)) throw err;
      this.rejected(err);
    }
  }
}
