/** The coordinator's in-round all-reduce and the worker's client for it, without sockets. */
import { describe, expect, it } from 'vitest';
import { Reduction } from '../../coordinator/reduction.ts';
import { PeerRegistry } from '../../coordinator/peers.ts';
import { isFleetError, type FleetError } from '../../shared/runtime/errors.ts';
import type { WireTensor } from '../../shared/wire/protocol.ts';
import { ReduceClient } from '../../worker/reduce-client.ts';

const vec = (...v: number[]): WireTensor => ({
  name: 'local',
  dtype: 'float32',
  shape: [v.length],
  data: Float32Array.from(v),
});
const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    if (isFleetError(err)) return err.code;
    throw err;
  }
  return 'none';
};

function peers(n: number) {
  const reg = new PeerRegistry();
  return Array.from({ length: n }, (_, i) => reg.admit(Buffer.from([i + 1]), { pid: i, host: 'h', backend: 'cpu' }, 0));
}

describe('Reduction', () => {
  it('sums each step once every participant has sent, in float64, whatever the arrival order', () => {
    const [a, b, c] = peers(3);
    const r = new Reduction(7, [c!, a!, b!]);
    expect(r.offer(b!, 0, vec(1e8, 1))).toBeUndefined();
    expect(r.offer(a!, 1, vec(5))).toBeUndefined(); // steps are independent
    expect(r.offer(c!, 0, vec(1, 2))).toBeUndefined();
    expect(Array.from(r.offer(a!, 0, vec(-1e8, 3)) as Float32Array)).toEqual([1, 6]); // float32 adding in arrival order would give 0
    expect(r.members().map((p) => p.rank)).toEqual([0, 1, 2]);
  });

  it('refuses bad vectors with typed errors and keeps the good ones', () => {
    const [a, b, outsider] = peers(3);
    const r = new Reduction(1, [a!, b!]);
    expect(r.offer(a!, 0, vec(1, 2))).toBeUndefined();
    expect(codeOf(() => r.offer(a!, 0, vec(1, 2)))).toBe('FLEET_ERR_STALE_ROUND'); // duplicate
    expect(codeOf(() => r.offer(b!, 0, vec(1, 2, 3)))).toBe('FLEET_ERR_TENSOR_SHAPE'); // not the others' length
    expect(codeOf(() => r.offer(b!, 0, vec(NaN, 2)))).toBe('FLEET_ERR_NONFINITE');
    expect(codeOf(() => r.offer(b!, 0, vec()))).toBe('FLEET_ERR_TENSOR_SHAPE'); // empty; two vectors: decodeMessage's
    expect(codeOf(() => r.offer(outsider!, 0, vec(1, 2)))).toBe('FLEET_ERR_UNEXPECTED_MESSAGE');
    expect(Array.from(r.offer(b!, 0, vec(10, 20)) as Float32Array)).toEqual([11, 22]);
    expect(codeOf(() => r.offer(b!, 0, vec(10, 20)))).toBe('FLEET_ERR_STALE_ROUND'); // after completion too
  });
});

describe('ReduceClient', () => {
  it('numbers reductions per round and resolves them with the sums', async () => {
    const sent: { roundId: number; seq: number }[] = [];
    const client = new ReduceClient(async (h) => {
      sent.push({ roundId: h.roundId, seq: h.seq });
    });
    const reduce = client.forRound(3);
    const first = reduce(Float32Array.of(1, 2));
    const second = reduce(Float32Array.of(3));
    client.deliver({ kind: 'reduced', roundId: 3, seq: 1, groups: { sum: [vec(30)] } });
    client.deliver({ kind: 'reduced', roundId: 3, seq: 0, groups: { sum: [vec(10, 20)] } });
    expect(Array.from(await first)).toEqual([10, 20]);
    expect(Array.from(await second)).toEqual([30]);
    expect(sent).toEqual([
      { roundId: 3, seq: 0 },
      { roundId: 3, seq: 1 },
    ]);
    client
      .forRound(4)(Float32Array.of(1))
      .catch(() => {});
    expect(sent.at(-1)).toEqual({ roundId: 4, seq: 0 }); // a new round counts from 0
  });

  it('fails waiting reductions when their round is superseded or refused, and answers stray sums with an error', async () => {
    const client = new ReduceClient(async () => {});
    const waiting = client.forRound(5)(Float32Array.of(1));
    client.supersede(6); // the coordinator moved on (a worker was lost; the round is being redone)
    await expect(waiting).rejects.toMatchObject({ code: 'FLEET_ERR_STALE_ROUND' });
    await expect(client.forRound(5)(Float32Array.of(1))).rejects.toMatchObject({ code: 'FLEET_ERR_STALE_ROUND' }); // never sent
    const refused = client.forRound(6)(Float32Array.of(1));
    client.refused(6, { code: 'FLEET_ERR_REMOTE', message: 'no' } as FleetError);
    await expect(refused).rejects.toMatchObject({ code: 'FLEET_ERR_REMOTE' });
    const stray = { kind: 'reduced' as const, roundId: 6, seq: 9, groups: { sum: [vec(1)] as const } };
    expect(codeOf(() => client.deliver(stray))).toBe('FLEET_ERR_STALE_ROUND');
    const short = client.forRound(6)(Float32Array.of(1, 2));
    const tooShort = { kind: 'reduced' as const, roundId: 6, seq: 1, groups: { sum: [vec(1)] as const } };
    expect(codeOf(() => client.deliver(tooShort))).toBe('FLEET_ERR_TENSOR_SHAPE');
    await expect(short).rejects.toMatchObject({ code: 'FLEET_ERR_TENSOR_SHAPE' });
  });

  it('starts over with a new coordinator session, whose round ids start over too', async () => {
    const client = new ReduceClient(async () => {});
    client.supersede(57);
    const waiting = client.forRound(57)(Float32Array.of(1));
    client.reset(); // the coordinator restarted (--resume): the old round will never complete
    await expect(waiting).rejects.toMatchObject({ code: 'FLEET_ERR_STALE_ROUND' });
    const fresh = client.forRound(0)(Float32Array.of(1)); // not "superseded by 57"
    client.deliver({ kind: 'reduced', roundId: 0, seq: 0, groups: { sum: [vec(4)] } });
    expect(Array.from(await fresh)).toEqual([4]);
  });
});
