/**
 * Collector: one validated reply per participant for one request id. Wrong kinds, other ids,
 * duplicates and non-participants are refused with typed errors while it keeps waiting; a failed
 * validation accepts nothing; the deadline resolves with what came (never with nothing); a lost or
 * failing participant that still owes a reply fails the whole collection.
 */
import { describe, expect, it } from 'vitest';
import { Collector } from '../../coordinator/collector.ts';
import { PeerRegistry, type Peer } from '../../coordinator/peers.ts';
import { FleetError, isFleetError } from '../../shared/runtime/errors.ts';
import type { MessageOf } from '../../shared/wire/protocol.ts';

function peers(n: number): Peer[] {
  const registry = new PeerRegistry();
  const info = (i: number) => ({ pid: 100 + i, host: 'h', backend: 'cpu' });
  return Array.from({ length: n }, (_, i) => registry.admit(Buffer.from([i + 1]), info(i), 0));
}

function stepped(roundId: number, samples: number): MessageOf<'stepped'> {
  return {
    kind: 'stepped',
    roundId,
    samples,
    lossSum: samples,
    metricSums: [],
    computeSeconds: 0,
    numTensors: 0,
    exchangeBytes: { sent: 0, received: 0 },
    groups: {},
  };
}

function pulled(pullId: number): MessageOf<'pulled'> {
  return { kind: 'pulled', pullId, weightsVersion: 0, optimizerIterations: 0, groups: { weights: [], optimizer: [] } };
}

/** The FleetError code `fn` throws, or 'none'. */
function codeOf(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    return isFleetError(err) ? err.code : String(err);
  }
  return 'none';
}

/** How `done` settled: the replies' sample counts by peer id, or the error code. */
const settled = <K extends 'stepped' | 'pulled'>(c: Collector<K>) =>
  c.done.then(
    (m) =>
      [...m.entries()].map(
        ([id, msg]: [string, MessageOf<'stepped' | 'pulled'>]) =>
          `${id}:${msg.kind === 'stepped' ? msg.samples : msg.pullId}`,
      ),
    (e: unknown) => (isFleetError(e) ? e.code : String(e)),
  );

describe('Collector', () => {
  it('resolves once every participant has given one valid reply, keyed by peer id', async () => {
    const [a, b] = peers(2) as [Peer, Peer];
    const c = new Collector('stepped', 7, [a, b], () => {});
    c.offer(b, stepped(7, 3), 7);
    expect(c.waitingFor(a)).toBe(true);
    expect(c.waitingFor(b)).toBe(false);
    expect(c.missing()).toEqual([a.id]);
    c.offer(a, stepped(7, 5), 7);
    expect(await settled(c)).toEqual([`${b.id}:3`, `${a.id}:5`]);
    expect(c.missing()).toEqual([]);
  });

  it('refuses other kinds, other ids, duplicates and strangers, and keeps waiting', async () => {
    const [a, b, stranger] = peers(3) as [Peer, Peer, Peer];
    const c = new Collector('stepped', 2, [a, b], () => {});
    const evalResult: MessageOf<'evalResult'> = {
      kind: 'evalResult',
      evalId: 2,
      samples: 1,
      lossSum: 0,
      metricSums: [],
      groups: { predictions: [] },
    };
    const pulled: MessageOf<'pulled'> = {
      kind: 'pulled',
      pullId: 2,
      weightsVersion: 0,
      optimizerIterations: 0,
      groups: { weights: [], optimizer: [] },
    };
    expect(codeOf(() => c.offer(a, evalResult, 2))).toBe('FLEET_ERR_STALE_ROUND');
    const notNow = 'Expected no pulled now (collecting stepped 2). Received: pulled for id 2';
    expect(() => c.offer(a, pulled, 2)).toThrow(notNow);
    expect(codeOf(() => c.offer(a, stepped(1, 4), 1))).toBe('FLEET_ERR_STALE_ROUND');
    c.offer(a, stepped(2, 4), 2);
    expect(codeOf(() => c.offer(a, stepped(2, 4), 2))).toBe('FLEET_ERR_STALE_ROUND');
    expect(codeOf(() => c.offer(stranger, stepped(2, 4), 2))).toBe('FLEET_ERR_UNEXPECTED_MESSAGE');
    expect(() => c.offer(a, stepped(1, 4), 1)).toThrow('Expected a stepped reply for id 2. Received: id 1');
    c.offer(b, stepped(2, 6), 2);
    expect(await settled(c)).toEqual([`${a.id}:4`, `${b.id}:6`]);
  });

  it('accepts nothing that fails validation, and takes a valid reply from the same worker afterwards', async () => {
    const [a] = peers(1) as [Peer];
    const c = new Collector('stepped', 0, [a], (_peer, msg) => {
      if (msg.samples === 8) return;
      throw new FleetError('FLEET_ERR_TENSOR_SHAPE', `Expected 8 samples. Received: ${msg.samples}`);
    });
    expect(codeOf(() => c.offer(a, stepped(0, 7), 0))).toBe('FLEET_ERR_TENSOR_SHAPE');
    expect(c.waitingFor(a)).toBe(true);
    c.offer(a, stepped(0, 8), 0);
    expect(await settled(c)).toEqual([`${a.id}:8`]);
  });

  it('on the deadline resolves with the replies so far, never with none, except for a step', async () => {
    const [a, b] = peers(2) as [Peer, Peer];
    const c = new Collector('pulled', 1, [a, b], () => {});
    expect(c.expire()).toBe(false); // nobody answered: keep waiting
    c.offer(a, pulled(1), 1);
    expect(c.expire()).toBe(true);
    expect((await c.done).size).toBe(1);
    // A step's members all answer after their exchange: at the deadline the coordinator looks for stragglers.
    const step = new Collector('stepped', 2, [a, b], () => {});
    expect(step.expire()).toBe(true);
    expect(await settled(step)).toEqual([]);
  });

  it('fails when a participant that owes a reply is lost or reports it cannot give one', async () => {
    const [a, b] = peers(2) as [Peer, Peer];
    const lost = new Collector('pulled', 3, [a, b], () => {});
    lost.offer(a, pulled(3), 3);
    lost.peerLost(a, 'already answered: no effect');
    lost.peerLost(b, 'heartbeat timeout');
    expect(await settled(lost)).toBe('FLEET_ERR_WORKER_LOST');
    await expect(lost.done).rejects.toThrow(`Worker 1 (pid 101 on h) was lost during pulled 3: heartbeat timeout`);
    // A member of a step that already answered may die with gathers unsent: the step fails too.
    const step = new Collector('stepped', 5, [a, b], () => {});
    step.offer(a, stepped(5, 1), 5);
    step.peerLost(a, 'killed after its reply');
    expect(await settled(step)).toBe('FLEET_ERR_WORKER_LOST');

    const failing = new Collector('stepped', 4, [a, b], () => {});
    failing.offer(b, stepped(4, 1), 4);
    expect(failing.fail(b, new FleetError('FLEET_ERR_NONFINITE', 'b already replied'))).toBe(false);
    expect(failing.fail(a, new FleetError('FLEET_ERR_NONFINITE', 'NaN gradients'))).toBe(true);
    expect(await settled(failing)).toBe('FLEET_ERR_NONFINITE');
  });

  it('with no participants is done at once', async () => {
    expect(await settled(new Collector('stepped', 9, [], () => {}))).toEqual([]);
  });
});
