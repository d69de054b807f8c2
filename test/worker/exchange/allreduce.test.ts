/**
 * The worker-to-worker all-reduce on real ZeroMQ, N members in one process: every member ends with the
 * sample-weighted average bit for bit (the reference: sum_i (n_i/N)·g_i in float64 in rank order, rounded
 * once to float32), each moves at most 2·(N−1)/N·P values each way
 * (plus 5% for headers), and messages from outside the membership are refused while the exchange
 * still completes.
 */
import { randomBytes } from 'node:crypto';
import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { fleetError } from '../../../shared/runtime/catalogue/index.ts';
import type { FleetError } from '../../../shared/runtime/errors.ts';
import { encodeMessage } from '../../../shared/wire/protocol.ts';
import { PeerMesh, type Membership } from '../../../worker/exchange/mesh.ts';
import { planExchange, valuesPerMember } from '../../../worker/exchange/plan.ts';
import { ExchangeRouter } from '../../../worker/exchange/rounds.ts';

interface Node {
  readonly mesh: PeerMesh;
  readonly router: ExchangeRouter;
  readonly bytes: { sent: number; received: number };
  readonly rejected: FleetError[];
}

const open: PeerMesh[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

/** `n` members in one session; `maxHeldBytes` bounds what each holds for a session it was not told of. */
async function cluster(
  n: number,
  maxEarly: number,
  maxHeldBytes?: number,
): Promise<{
  nodes: Node[];
  membership: (r: number) => Membership;
}> {
  const nodes: Node[] = [];
  for (let r = 0; r < n; r++) {
    const bytes = { sent: 0, received: 0 };
    const rejected: FleetError[] = [];
    const mesh = await PeerMesh.open({
      host: '127.0.0.1',
      observer: { bytes: (d, b) => (bytes[d] += b), rejected: (e) => rejected.push(e) },
      ...(maxHeldBytes !== undefined && { maxHeldBytes }),
    });
    open.push(mesh);
    nodes.push({ mesh, router: new ExchangeRouter(mesh, maxEarly, (e) => rejected.push(e)), bytes, rejected });
  }
  const session = randomBytes(8).toString('hex');
  const members = nodes.map((node, rank) => ({ rank, endpoint: node.mesh.endpoint }));
  const membership = (rank: number): Membership => ({ session, rank, members });
  nodes.forEach((node, rank) => node.mesh.setMembership(membership(rank)));
  return { nodes, membership };
}

/** The reference mean: sum_i (n_i / N) * g_i in float64, members in rank order, rounded once to float32. */
function weightedMean(grads: readonly Float32Array[], samples: readonly number[]): Float32Array {
  const total = samples.reduce((a, b) => a + b, 0);
  const size = grads[0]?.length ?? 0;
  const acc = new Float64Array(size);
  grads.forEach((g, r) => {
    const w = (samples[r] as number) / total;
    if (w === 0) return;
    for (let j = 0; j < size; j++) acc[j] = (acc[j] as number) + w * (g[j] as number);
  });
  return Float32Array.from(acc);
}

/** The first index where `a` and `b` differ in bits (or length), -1 when they are bit for bit equal. */
function firstDiff(a: Float32Array | undefined, b: Float32Array): number {
  if (a === undefined || a.length !== b.length) return Math.min(a?.length ?? 0, b.length);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

function gradient(size: number, seed: number): Float32Array {
  const g = new Float32Array(size);
  let s = seed;
  for (let i = 0; i < size; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    g[i] = (s / 2 ** 31 - 0.5) * 2 ** ((i % 7) - 3);
  }
  return g;
}

describe('all-reduce between workers', () => {
  it.each([2, 3, 4])('N = %i: every member gets the weighted average bit for bit, within the byte bound', async (n) => {
    const size = 50_003;
    const plan = planExchange(size, n, 4_096);
    const samples = Array.from({ length: n }, (_, r) => 7 + 3 * r);
    const { nodes } = await cluster(n, 2 * size);
    const grads = nodes.map((_, r) => gradient(size, 11 + r));
    for (let roundId = 5; roundId < 8; roundId++) {
      const results = await Promise.all(
        nodes.map((node, r) => node.router.begin({ roundId, plan, samples }).run(grads[r] as Float32Array)),
      );
      const want = weightedMean(grads, samples);
      expect(results.map((got) => firstDiff(got, want))).toEqual(nodes.map(() => -1));
    }
    const bound = ((2 * (n - 1)) / n) * size * 4 * 3;
    nodes.forEach((node, r) => {
      const values = valuesPerMember(plan, r);
      expect(values.sent).toBeLessThanOrEqual(Math.ceil(((2 * (n - 1)) / n) * size) + n);
      expect(node.bytes.sent).toBeGreaterThanOrEqual(values.sent * 4 * 3);
      expect(node.bytes.sent).toBeLessThanOrEqual(bound * 1.05);
      expect(node.bytes.received).toBeLessThanOrEqual(bound * 1.05);
      expect(node.rejected).toEqual([]);
    });
  });

  it('weighs members with no samples by zero and one member alone by one', async () => {
    const size = 1_000;
    const { nodes } = await cluster(3, size);
    const plan = planExchange(size, 3, 100);
    const grads = [gradient(size, 1), gradient(size, 2), gradient(size, 3)];
    const samples = [0, 5, 0];
    const results = await Promise.all(
      nodes.map((node, r) => node.router.begin({ roundId: 1, plan, samples }).run(grads[r] as Float32Array)),
    );
    expect(results.map((got) => firstDiff(got, grads[1] as Float32Array))).toEqual([-1, -1, -1]);
  });

  it('refuses outsiders, a wrong session and a misfit bucket, and still completes the round', async () => {
    const size = 2_000;
    // A session not known yet is held (a faster peer's round can come first), up to 1000 bytes here: the
    // forged scatter of another session (2000 bytes of values) is over that, so it is refused.
    const { nodes, membership } = await cluster(2, 4 * size, 1000);
    const plan = planExchange(size, 2, 500);
    const outsider = new zmq.Dealer({ linger: 0, routingId: 'outsider' });
    outsider.connect(nodes[0]?.mesh.endpoint as string);
    const forged = (session: string, from: number) =>
      encodeMessage({
        kind: 'scatter',
        session,
        roundId: 3,
        from,
        bucket: 0,
        samples: 4,
        groups: { values: [{ name: 'values', dtype: 'float32', shape: [500], data: new Float32Array(500) }] },
      });
    await outsider.send(forged('0123456789abcdef', 1));
    await outsider.send(forged(membership(0).session, 1));
    // A member's misfit (3 values for a 500-value bucket) waits as early, then is refused when the round begins.
    const session = membership(1).session;
    const misfit = { kind: 'scatter', session, roundId: 3, from: 1, bucket: 0, samples: 4 } as const;
    await nodes[1]?.mesh.send(0, misfit, new Float32Array(3));
    const samples = [4, 4];
    const grads = [gradient(size, 5), gradient(size, 6)];
    await new Promise((r) => setTimeout(r, 100));
    const results = await Promise.all(
      nodes.map((node, r) => node.router.begin({ roundId: 3, plan, samples }).run(grads[r] as Float32Array)),
    );
    const want = weightedMean(grads, samples);
    expect(results.map((got) => firstDiff(got, want))).toEqual([-1, -1]);
    const codes = nodes[0]?.rejected.map((e) => e.code);
    expect(codes).toEqual(['FLEET_ERR_UNKNOWN_PEER', 'FLEET_ERR_UNKNOWN_PEER', 'FLEET_ERR_TENSOR_SHAPE']);
    const wrongSession = `Expected a message of session ${membership(0).session}. Received: session "0123456789abcdef"`;
    expect(nodes[0]?.rejected[0]?.message).toBe(wrongSession);
    expect(nodes[0]?.rejected[1]?.message).toMatch(/^Expected a message from another member of session /);
    outsider.close();
  });

  it('ends a round whose member is gone with the error it is aborted with', async () => {
    const size = 1_000;
    const { nodes } = await cluster(2, size);
    const plan = planExchange(size, 2, 100);
    const waiting = nodes[0]?.router.begin({ roundId: 1, plan, samples: [1, 1] }).run(gradient(size, 1));
    nodes[0]?.router.abort(fleetError('EXCHANGE_SEND', { to: 1, received: 'gone' }));
    await expect(waiting).rejects.toMatchObject({ code: 'FLEET_ERR_WORKER_LOST' });
  });
});
