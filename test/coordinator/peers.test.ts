/**
 * The coordinator's peer state machine: admission in JOINING with increasing ranks, every transition
 * the diagram has (each reported once, LOST with its reason), every one it lacks refused with a typed
 * error that leaves the peer as it was, and inState's rank order.
 */
import { describe, expect, it } from 'vitest';
import { PeerRegistry, type Peer, type PeerState } from '../../coordinator/peers.ts';
import { isFleetError } from '../../shared/runtime/errors.ts';

const info = (pid: number) => ({ pid, host: `host-${pid}`, backend: 'cpu' });
const STATES: readonly PeerState[] = ['JOINING', 'HEALTHY', 'LOST', 'DONE'];
const LEGAL = new Set([
  'JOINING>HEALTHY',
  'JOINING>LOST',
  'JOINING>DONE',
  'HEALTHY>JOINING',
  'HEALTHY>LOST',
  'HEALTHY>DONE',
]);

/** A registry with one peer driven into `state` through legal moves, and a log of reported changes. */
function peerIn(state: PeerState): { registry: PeerRegistry; peer: Peer; changes: string[] } {
  const changes: string[] = [];
  const registry = new PeerRegistry((p, from, reason) => changes.push(`${p.rank} ${from}>${p.state} ${reason}`));
  const peer = registry.admit(Buffer.from([1, 2, 3]), info(10), 1000);
  if (state === 'HEALTHY' || state === 'LOST') registry.transition(peer, 'HEALTHY', 'ready');
  if (state !== 'JOINING' && state !== 'HEALTHY') registry.transition(peer, state, 'setup');
  changes.length = 0;
  return { registry, peer, changes };
}

describe('PeerRegistry', () => {
  it('admits peers in JOINING with ranks in admission order, keyed by a copy of the routing id', () => {
    const registry = new PeerRegistry();
    const id = Buffer.from([0xab, 0xcd]);
    const a = registry.admit(id, info(7), 500);
    const b = registry.admit(Buffer.from([0x01]), info(8), 600);
    expect(a).toMatchObject({ id: 'abcd', rank: 0, pid: 7, host: 'host-7', backend: 'cpu', state: 'JOINING' });
    expect(a).toMatchObject({ lastSeenMs: 500, weightsVersion: -1 });
    expect(a.tensorCounts).toEqual([]);
    expect(b.rank).toBe(1);
    id[0] = 0; // the caller's buffer may be reused by ZeroMQ
    expect(a.routingId).toEqual(Buffer.from([0xab, 0xcd]));
    expect(registry.get(Buffer.from([0xab, 0xcd]))).toBe(a);
    expect(registry.get(Buffer.from([0x02]))).toBeUndefined();
  });

  it.each(STATES.flatMap((from) => STATES.filter((to) => to !== from).map((to) => [from, to] as const)))(
    '%s -> %s is allowed only where the diagram has it',
    (from, to) => {
      const { registry, peer, changes } = peerIn(from);
      expect(peer.state).toBe(from);
      if (LEGAL.has(`${from}>${to}`)) {
        registry.transition(peer, to, 'because');
        expect(peer.state).toBe(to);
        expect(changes).toEqual([`0 ${from}>${to} because`]);
        expect(peer.lostReason).toBe(to === 'LOST' ? 'because' : undefined);
        return;
      }
      let caught: unknown;
      try {
        registry.transition(peer, to, 'because');
      } catch (err) {
        caught = err;
      }
      expect(isFleetError(caught, 'FLEET_ERR_UNEXPECTED_MESSAGE')).toBe(true);
      const allowed = { JOINING: 'HEALTHY, LOST, DONE', HEALTHY: 'LOST, DONE', LOST: 'none', DONE: 'none' }[from];
      const want = `Expected a transition allowed from ${from} (${allowed}). Received: ${from} -> ${to}`;
      expect((caught as Error).message).toBe(want);
      expect(peer.state).toBe(from);
      expect(changes).toEqual([]);
    },
  );

  it('takes a move to the current state as a no-op that reports nothing, even from a final state', () => {
    for (const state of STATES) {
      const { registry, peer, changes } = peerIn(state);
      registry.transition(peer, state, 'again');
      expect(peer.state).toBe(state);
      expect(changes).toEqual([]);
    }
  });

  it('inState and all list peers by rank, whatever order they changed state in', () => {
    const registry = new PeerRegistry();
    const peers = [0, 1, 2, 3].map((i) => registry.admit(Buffer.from([i + 1]), info(100 + i), 0));
    const [p0, p1, p2, p3] = peers as [Peer, Peer, Peer, Peer];
    registry.transition(p3, 'HEALTHY', 'ready');
    registry.transition(p1, 'HEALTHY', 'ready');
    registry.transition(p0, 'HEALTHY', 'ready');
    registry.transition(p1, 'LOST', 'heartbeat timeout');
    expect(registry.inState('HEALTHY').map((p) => p.rank)).toEqual([0, 3]);
    expect(registry.inState('JOINING')).toEqual([p2]);
    expect(registry.inState('LOST')).toEqual([p1]);
    expect(registry.inState('DONE')).toEqual([]);
    expect(registry.all().map((p) => p.rank)).toEqual([0, 1, 2, 3]);
    expect(p1.lostReason).toBe('heartbeat timeout');
  });
});
