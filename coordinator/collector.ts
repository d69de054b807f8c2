/**
 * Collects one reply per participant for one request (a training round or an evaluation), validating
 * each reply before accepting it. A reply that fails is rejected with a typed error and the collector
 * keeps waiting; it never accepts bad data. A participant that is lost fails the whole collection.
 */
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import type { FleetError } from '../shared/runtime/errors.ts';
import type { Message, MessageOf } from '../shared/wire/protocol.ts';
import type { Peer } from './peers.ts';

/** The kinds that answer a request. */
export type ReplyKind = 'stepped' | 'evalResult' | 'pulled';

/** A collection in flight as the hub sees it, whatever kind of reply it collects. */
export interface Pending {
  readonly kind: ReplyKind;
  readonly id: number;
  readonly participants: readonly Peer[];
  offer(peer: Peer, msg: Message, replyId: number): void;
  waitingFor(peer: Peer): boolean;
  missing(): string[];
  expire(): boolean;
  fail(peer: Peer, err: FleetError): boolean;
  peerLost(peer: Peer, reason: string): void;
}

/** Narrows a decoded message to the kind a collector takes: a type guard, so no cast is needed. */
function isReply<K extends ReplyKind>(msg: Message, kind: K): msg is MessageOf<K> {
  return msg.kind === kind;
}

/** Pending replies for one request id. */
export class Collector<K extends ReplyKind> implements Pending {
  readonly done: Promise<Map<string, MessageOf<K>>>;
  private readonly replies = new Map<string, MessageOf<K>>();
  private readonly waiting: Set<string>;
  private resolve!: (v: Map<string, MessageOf<K>>) => void;
  private reject!: (e: Error) => void;

  constructor(
    readonly kind: K,
    readonly id: number,
    /** Who was asked, whether or not they have replied. */
    readonly participants: readonly Peer[],
    private readonly validate: (peer: Peer, msg: MessageOf<K>) => void,
  ) {
    this.waiting = new Set(participants.map((p) => p.id));
    this.done = new Promise((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // A lost worker rejects `done`; attach a no-op so an unobserved rejection never crashes the process.
    this.done.catch(() => {});
    if (this.waiting.size === 0) this.resolve(this.replies);
  }

  /** Offers a reply; throws FLEET_ERR_STALE_ROUND or a validation error when it cannot be accepted. */
  offer(peer: Peer, msg: Message, replyId: number): void {
    if (!isReply(msg, this.kind)) {
      throw fleetError('COLLECT_NOT_REPLY', { received: msg.kind, kind: this.kind, id: this.id, replyId });
    }
    if (replyId !== this.id) throw fleetError('COLLECT_WRONG_ID', { kind: this.kind, id: this.id, replyId });
    if (this.replies.has(peer.id)) {
      throw fleetError('COLLECT_DUPLICATE', { kind: this.kind, id: this.id, rank: peer.rank });
    }
    if (!this.waiting.has(peer.id)) throw fleetError('COLLECT_NOT_PARTICIPANT', { kind: this.kind, rank: peer.rank });
    this.validate(peer, msg);
    this.waiting.delete(peer.id);
    this.replies.set(peer.id, msg);
    if (this.waiting.size === 0) this.resolve(this.replies);
  }

  /** True while `peer` still owes a reply. */
  waitingFor(peer: Peer): boolean {
    return this.waiting.has(peer.id);
  }

  /** Ids of the participants that have not replied yet. */
  missing(): string[] {
    return [...this.waiting];
  }

  /**
   * The deadline passed: resolve with the replies so far, if there are any (stragglers are left out
   * and their late replies become stale). With none, keep waiting: someone has to do the work.
   */
  expire(): boolean {
    // A step's members all reply at once, after their exchange: a deadline there ends the wait with none.
    if ((this.replies.size === 0 && this.kind !== 'stepped') || this.waiting.size === 0) return false;
    this.resolve(this.replies);
    return true;
  }

  /** Fails the collection with `err` when `peer` still owes a reply (it reported it cannot give one). */
  fail(peer: Peer, err: FleetError): boolean {
    if (!this.waiting.has(peer.id)) return false;
    this.reject(err);
    return true;
  }

  /**
   * Fails the collection if `peer` was a participant still owing a reply, or any member of a step: one
   * that already said `stepped` may still die with its last gathers unsent, and the others would wait.
   */
  peerLost(peer: Peer, reason: string): void {
    if (this.waiting.has(peer.id) || (this.kind === 'stepped' && this.participants.includes(peer))) {
      const values = { rank: peer.rank, pid: peer.pid, host: peer.host, kind: this.kind, id: this.id, reason };
      this.reject(fleetError('COLLECT_WORKER_LOST', values, { rank: peer.rank }));
    }
  }
}
