/**
 * The worker's side of the all-reduces inside a round (synchronized BatchNormalization): numbered
 * `reduce` requests for the round being computed, answered by the coordinator's `reduced` sum or by
 * an error naming the round. A newer request from the coordinator means the round was abandoned
 * (a worker was lost and it is being redone), so waiting reductions are failed, never left hanging.
 */
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import type { FleetError } from '../shared/runtime/errors.ts';
import type { MessageOf, OutboundOf } from '../shared/wire/protocol.ts';
import type { AllReduce } from '../shared/model/sync-bn/step.ts';

type SendReduce = (msg: OutboundOf<'reduce'>) => Promise<void>;

interface Waiting {
  readonly length: number;
  readonly resolve: (v: Float32Array) => void;
  readonly reject: (e: Error) => void;
}

/** Numbered reductions of the current round. */
export class ReduceClient {
  private roundId = -1;
  private seq = 0;
  private newest = -1;
  private readonly waiting = new Map<number, Waiting>();

  constructor(private readonly send: SendReduce) {}

  /** The all-reduce for round `roundId`: its n-th call is reduction n of that round. */
  forRound(roundId: number): AllReduce {
    return (local) => {
      if (roundId < this.newest)
        return Promise.reject(fleetError('REDUCE_SUPERSEDED', { roundId, newest: this.newest }));
      if (roundId !== this.roundId) {
        this.roundId = roundId;
        this.seq = 0;
      }
      const seq = this.seq++;
      const done = new Promise<Float32Array>((resolve, reject) =>
        this.waiting.set(seq, { length: local.length, resolve, reject }),
      );
      const vector = { name: 'local', dtype: 'float32' as const, shape: [local.length], data: local };
      this.send({ kind: 'reduce', roundId, seq, groups: { local: [vector] } }).catch((err: Error) => this.fail(err));
      return done;
    };
  }

  /** The coordinator's sum; throws a typed error when it answers nothing this worker asked. */
  deliver(msg: MessageOf<'reduced'>): void {
    const w = this.waiting.get(msg.seq);
    if (msg.roundId !== this.roundId || !w)
      throw fleetError('REDUCE_UNEXPECTED_SUM', { round: this.roundId, seq: msg.seq, roundId: msg.roundId });
    // decodeMessage checked that `sum` is one float32 vector; only its length is this worker's to know.
    const [t] = msg.groups.sum;
    if (t.data.length !== w.length) {
      const err = fleetError('REDUCE_SUM_LENGTH', { length: w.length, seq: msg.seq, shape: t.shape });
      this.waiting.delete(msg.seq);
      w.reject(err);
      throw err;
    }
    this.waiting.delete(msg.seq);
    w.resolve(Float32Array.from(t.data));
  }

  /** The coordinator refused a reduce of round `roundId`: fail what is waiting for that round. */
  refused(roundId: number, err: FleetError): void {
    if (roundId === this.roundId) this.fail(err);
  }

  /** A request for round `roundId` (or, undefined, any other request) arrived: older rounds' reductions will never complete. */
  supersede(roundId?: number): void {
    if (roundId !== undefined) this.newest = Math.max(this.newest, roundId);
    if (roundId === undefined || roundId > this.roundId)
      this.fail(fleetError('REDUCE_ABANDONED', { roundId: this.roundId }));
  }

  /** A new session (the coordinator restarted, and round ids start over): fail what waits and forget the rounds seen. */
  reset(): void {
    this.fail(fleetError('REDUCE_SESSION_ENDED', { roundId: this.roundId }));
    this.newest = -1;
    this.roundId = -1;
    this.seq = 0;
  }

  private fail(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
