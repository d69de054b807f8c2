/**
 * ReduceClient, the worker's side of the in-round all-reduces: numbered requests per round, sums
 * delivered in any order to the right caller, stale and unasked sums refused with typed errors, and
 * waiting reductions failed (never left hanging) when the round is superseded, refused or the
 * coordinator session ends.
 */
import { describe, expect, it } from 'vitest';
import { ReduceClient } from '../../worker/reduce-client.ts';
import { FleetError, isFleetError } from '../../shared/runtime/errors.ts';
import type { MessageOf, OutboundOf, WireTensor } from '../../shared/wire/protocol.ts';

/** A client whose sends are recorded as `round/seq: values`; `failSend` makes the next send reject. */
function client() {
  const sent: string[] = [];
  let failSend: Error | undefined;
  const c = new ReduceClient(async (msg: OutboundOf<'reduce'>) => {
    const [local] = msg.groups.local;
    sent.push(`${msg.roundId}/${msg.seq}: ${Array.from(local.data).join(',')}`);
    const err = failSend;
    failSend = undefined;
    if (err) throw err;
  });
  return { c, sent, failNextSend: (e: Error) => void (failSend = e) };
}

function reduced(roundId: number, seq: number, values: number[]): MessageOf<'reduced'> {
  const sum: WireTensor = { name: 'sum', dtype: 'float32', shape: [values.length], data: Float32Array.from(values) };
  return { kind: 'reduced', roundId, seq, groups: { sum: [sum] } };
}

/** The FleetError code a promise rejected with. */
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (isFleetError(e) ? e.code : String(e)),
  );

describe('ReduceClient', () => {
  it("numbers a round's reductions from 0 and hands each sum to its own caller, in any order", async () => {
    const { c, sent } = client();
    const reduce = c.forRound(4);
    const first = reduce(Float32Array.from([1, 2]));
    const second = reduce(Float32Array.from([3, 4, 5]));
    expect(sent).toEqual(['4/0: 1,2', '4/1: 3,4,5']);
    c.deliver(reduced(4, 1, [30, 40, 50]));
    c.deliver(reduced(4, 0, [10, 20]));
    expect(Array.from(await first)).toEqual([10, 20]);
    expect(Array.from(await second)).toEqual([30, 40, 50]);
    // The next round starts again at 0.
    void c.forRound(5)(Float32Array.from([9]));
    expect(sent.at(-1)).toBe('5/0: 9');
  });

  it('returns a copy of the sum, not the receive buffer', async () => {
    const { c } = client();
    const p = c.forRound(0)(Float32Array.from([1]));
    const msg = reduced(0, 0, [7]);
    c.deliver(msg);
    (msg.groups.sum[0].data as Float32Array)[0] = -1;
    expect(Array.from(await p)).toEqual([7]);
  });

  it('refuses a sum nobody asked for, or for another round, with FLEET_ERR_STALE_ROUND', () => {
    const { c } = client();
    void c.forRound(2)(Float32Array.from([1]));
    for (const msg of [reduced(2, 1, [1]), reduced(1, 0, [1])]) {
      let caught: unknown;
      try {
        c.deliver(msg);
      } catch (err) {
        caught = err;
      }
      expect(isFleetError(caught, 'FLEET_ERR_STALE_ROUND')).toBe(true);
    }
    const message = 'Expected a sum for a reduce of round 2 in flight. Received: reduced 1 for round 2';
    expect(() => c.deliver(reduced(2, 1, [1]))).toThrow(message);
  });

  it('fails the caller and throws when the sum has the wrong length', async () => {
    const { c } = client();
    const p = codeOf(c.forRound(0)(Float32Array.from([1, 2, 3])));
    expect(() => c.deliver(reduced(0, 0, [1, 2]))).toThrow('Expected 3 elements as reduced 0. Received: [2]');
    expect(await p).toBe('FLEET_ERR_TENSOR_SHAPE');
    expect(() => c.deliver(reduced(0, 0, [1, 2, 3]))).toThrow(/in flight/); // it is no longer waiting
  });

  it('a newer round fails what waits and refuses later reduces for the older round', async () => {
    const { c } = client();
    const old = codeOf(c.forRound(3)(Float32Array.from([1])));
    c.supersede(4);
    expect(await old).toBe('FLEET_ERR_STALE_ROUND');
    expect(await codeOf(c.forRound(3)(Float32Array.from([1])))).toBe('FLEET_ERR_STALE_ROUND');
    // A request that names no round (an evaluation, say) also ends the waiting ones.
    const current = codeOf(c.forRound(4)(Float32Array.from([1])));
    c.supersede();
    expect(await current).toBe('FLEET_ERR_STALE_ROUND');
  });

  it('supersede for the round in progress keeps its reductions waiting', async () => {
    const { c } = client();
    const p = c.forRound(6)(Float32Array.from([2]));
    c.supersede(6);
    c.deliver(reduced(6, 0, [8]));
    expect(Array.from(await p)).toEqual([8]);
  });

  it("refused(round) fails only that round's waiting reductions", async () => {
    const { c } = client();
    const p = codeOf(c.forRound(1)(Float32Array.from([1])));
    c.refused(0, new FleetError('FLEET_ERR_WORKER_LOST', 'round 0 is gone'));
    c.deliver(reduced(1, 0, [5])); // still waiting: delivered normally
    expect(await p).toBe('resolved');
    const q = codeOf(c.forRound(1)(Float32Array.from([1])));
    c.refused(1, new FleetError('FLEET_ERR_WORKER_LOST', 'round 1 is gone'));
    expect(await q).toBe('FLEET_ERR_WORKER_LOST');
  });

  it('a failed send rejects its reduction', async () => {
    const { c, failNextSend } = client();
    failNextSend(new Error('EHOSTUNREACH'));
    expect(await codeOf(c.forRound(0)(Float32Array.from([1])))).toBe('Error: EHOSTUNREACH');
  });

  it('reset() fails what waits and forgets the rounds seen, so a new session may start at round 0', async () => {
    const { c, sent } = client();
    const p = codeOf(c.forRound(9)(Float32Array.from([1])));
    c.supersede(9);
    c.reset();
    expect(await p).toBe('FLEET_ERR_STALE_ROUND');
    const fresh = c.forRound(0)(Float32Array.from([4]));
    expect(sent.at(-1)).toBe('0/0: 4');
    c.deliver(reduced(0, 0, [12]));
    expect(Array.from(await fresh)).toEqual([12]);
  });
});
