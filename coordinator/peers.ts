/**
 * The coordinator's view of its workers, as an explicit state machine:
 *
 *   JOINING ──ready──▶ HEALTHY ──heartbeat timeout──▶ LOST
 *      ▲◀──a new task─────┤
 *      │                  │
 *      ├──setup failed / setup timeout──────────────▶ LOST
 *      └──────────────────┴──training finished──────▶ DONE
 *
 * A peer exists from its first valid `hello`, which is answered with `welcome`; it is JOINING while it
 * loads the job and builds the model, and HEALTHY once it says `ready`. Every state change goes through `transition`, which
 * refuses moves the diagram does not have. LOST and DONE are final. A healthy peer goes back to JOINING when
 * it is welcomed again for a new task (the programmatic API's cluster keeps its workers across calls).
 */
import { fleetError } from '../shared/runtime/catalogue/index.ts';

/** A worker's life-cycle state. */
export type PeerState = 'JOINING' | 'HEALTHY' | 'LOST' | 'DONE';

const ALLOWED: Record<PeerState, readonly PeerState[]> = {
  JOINING: ['HEALTHY', 'LOST', 'DONE'],
  HEALTHY: ['JOINING', 'LOST', 'DONE'],
  LOST: [],
  DONE: [],
};

/** One connected worker: its ZeroMQ routing id and what the coordinator knows of it. */
export interface Peer {
  /** ZeroMQ routing id, hex-encoded: the key of the registry. */
  readonly id: string;
  readonly routingId: Buffer;
  readonly rank: number;
  readonly pid: number;
  readonly host: string;
  readonly backend: string;
  state: PeerState;
  /** Last time (ms, injected clock) any message came from this peer. */
  lastSeenMs: number;
  /** Weights version this peer holds, or -1. */
  weightsVersion: number;
  /** tf.memory().numTensors the worker reported when ready and after each step, for leak checks. */
  readonly tensorCounts: number[];
  /** Why the peer was lost, once it is. */
  lostReason?: string;
  /** Where the other workers reach this one for the gradient exchange, and its CURVE key (from `ready`). */
  peerEndpoint?: string;
  peerKey?: string;
}

/** All workers the coordinator has ever admitted, by routing id. */
export class PeerRegistry {
  private readonly peers = new Map<string, Peer>();
  private nextRank = 0;

  constructor(private readonly onChange: (peer: Peer, from: PeerState, reason: string) => void = () => {}) {}

  /** Admits a new worker in JOINING state and gives it the next rank. */
  admit(routingId: Buffer, info: { pid: number; host: string; backend: string }, nowMs: number): Peer {
    const peer: Peer = {
      id: routingId.toString('hex'),
      routingId: Buffer.from(routingId),
      rank: this.nextRank++,
      ...info,
      state: 'JOINING',
      lastSeenMs: nowMs,
      weightsVersion: -1,
      tensorCounts: [],
    };
    this.peers.set(peer.id, peer);
    return peer;
  }

  /** The peer with this routing id, if it said hello. */
  get(routingId: Buffer): Peer | undefined {
    return this.peers.get(routingId.toString('hex'));
  }

  /** The one place a peer's state changes. */
  transition(peer: Peer, to: PeerState, reason: string): void {
    if (peer.state === to) return;
    if (!ALLOWED[peer.state].includes(to)) {
      throw fleetError('PEER_BAD_TRANSITION', {
        state: peer.state,
        allowed: ALLOWED[peer.state].join(', ') || 'none',
        to,
      });
    }
    const from = peer.state;
    peer.state = to;
    if (to === 'LOST') peer.lostReason = reason;
    this.onChange(peer, from, reason);
  }

  /** Workers in a state, ordered by rank. */
  inState(state: PeerState): Peer[] {
    return [...this.peers.values()].filter((p) => p.state === state).sort((a, b) => a.rank - b.rank);
  }

  /** Every peer ever admitted. */
  all(): Peer[] {
    return [...this.peers.values()].sort((a, b) => a.rank - b.rank);
  }
}
