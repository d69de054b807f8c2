/**
 * `npx tsx bench/exchange.ts [--workers N] [--values P] [--runs R]`: the worker-to-worker all-reduce
 * (worker/exchange) with N member processes on this host, side by side in one run with what bounds it:
 * memcpy of the same bytes, and raw ZeroMQ moving the bytes one member must send (2·(N−1)/N·P values)
 * between two processes. Prints medians of R runs and the ratios. Each member is a child process, so
 * members compute and copy in parallel as separate workers would.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as zmq from 'zeromq';
import { PeerMesh, type Member } from '../worker/exchange/mesh.ts';
import { planExchange } from '../worker/exchange/plan.ts';
import { ExchangeRouter } from '../worker/exchange/rounds.ts';

type ToChild =
  { kind: 'members'; session: string; rank: number; members: Member[] } | { kind: 'round'; roundId: number };
type FromChild = { kind: 'endpoint'; endpoint: string } | { kind: 'done'; ms: number; sum: number };

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const v = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`Expected --${name} to be an integer >= 1. Received: ${process.argv[at + 1]}`);
  return v;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** One member: opens its mesh, then runs each round it is told to and reports the time. */
async function member(values: number, members: number): Promise<void> {
  const mesh = await PeerMesh.open({ host: '127.0.0.1' });
  const router = new ExchangeRouter(mesh, 2 * values);
  const samples = Array.from({ length: members }, () => 32);
  const plan = planExchange(values, members);
  const gradient = Float32Array.from({ length: values }, (_, i) => Math.sin(i));
  const send = (m: FromChild) => process.send?.(m);
  process.on('message', (m: ToChild) => {
    if (m.kind === 'members') mesh.setMembership(m);
    else {
      const t0 = performance.now();
      void router
        .begin({ roundId: m.roundId, plan, samples })
        .run(gradient)
        .then((out) => {
          send({ kind: 'done', ms: performance.now() - t0, sum: out[values - 1] as number });
        });
    }
  });
  process.on('disconnect', () => void mesh.close().then(() => process.exit(0)));
  send({ kind: 'endpoint', endpoint: mesh.endpoint });
}

function next(child: ChildProcess, kind: FromChild['kind']): Promise<FromChild> {
  return new Promise((resolve) => {
    const on = (m: FromChild) => {
      if (m.kind !== kind) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
  });
}

async function allReduceMs(values: number, n: number, runs: number): Promise<number> {
  const children = Array.from({ length: n }, () =>
    fork(process.argv[1] as string, ['--member', String(values), String(n)]),
  );
  const endpoints = await Promise.all(children.map((c) => next(c, 'endpoint')));
  const members = endpoints.map((e, rank) => ({ rank, endpoint: e.kind === 'endpoint' ? e.endpoint : '' }));
  const session = randomBytes(8).toString('hex');
  children.forEach((c, rank) => c.send({ kind: 'members', session, rank, members } satisfies ToChild));
  const times: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    const done = await Promise.all(
      children.map((c) => (c.send({ kind: 'round', roundId: r } satisfies ToChild), next(c, 'done'))),
    );
    // The first round connects the links; it is not timed.
    if (r > 0) times.push(Math.max(...done.map((d) => (d.kind === 'done' ? d.ms : 0))));
  }
  for (const c of children) c.disconnect();
  return median(times);
}

async function rawZmqMs(bytes: number, runs: number): Promise<number> {
  const router = new zmq.Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(router.lastEndpoint as string);
  const chunk = Buffer.alloc(Math.min(bytes, 4 << 20));
  const frames = Math.ceil(bytes / chunk.byteLength);
  const times: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    const t0 = performance.now();
    const got = (async () => {
      for (let i = 0; i < frames; i++) await router.receive();
    })();
    for (let i = 0; i < frames; i++) await dealer.send(chunk);
    await got;
    if (r > 0) times.push(performance.now() - t0);
  }
  router.close();
  dealer.close();
  return median(times);
}

function memcpyMs(bytes: number, runs: number): number {
  const a = new Float32Array(bytes / 4);
  const b = new Float32Array(bytes / 4);
  const times: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    const t0 = performance.now();
    b.set(a);
    if (r > 0) times.push(performance.now() - t0);
  }
  return median(times);
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--member');
  if (at >= 0) return member(Number(process.argv[at + 1]), Number(process.argv[at + 2]));
  const n = flag('workers', 2);
  const values = flag('values', 2_000_000);
  const runs = flag('runs', 5);
  const moved = Math.ceil(((2 * (n - 1)) / n) * values) * 4;
  const ar = n > 1 ? await allReduceMs(values, n, runs) : 0;
  const raw = await rawZmqMs(moved, runs);
  const cp = memcpyMs(values * 4, runs);
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(
    `all-reduce of ${values} float32 values (${mb(values * 4)} MiB) over ${n} member processes, median of ${runs}`,
  );
  console.log(`  all-reduce:        ${ar.toFixed(2)} ms (each member sends and receives ${mb(moved)} MiB)`);
  console.log(
    `  raw ZeroMQ, ${mb(moved)} MiB one way between two processes: ${raw.toFixed(2)} ms (all-reduce/raw ${(ar / raw).toFixed(2)}x)`,
  );
  console.log(`  memcpy of ${mb(values * 4)} MiB: ${cp.toFixed(2)} ms (all-reduce/memcpy ${(ar / cp).toFixed(1)}x)`);
}

await main();
