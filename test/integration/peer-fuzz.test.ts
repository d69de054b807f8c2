/**
 * Fuzzing a worker's peer endpoint: a real `tensorfleet worker` process, driven by a fake coordinator (a
 * ROUTER in this test) into a two-member exchange whose other member is a silent ROUTER here, gets seeded
 * mutations of genuine scatter messages, other kinds and noise on its peer endpoint from DEALERs outside the
 * membership. Every one must be refused and counted by code in the worker's /metrics
 * (tensorfleet_rejected_messages_total): at once when it cannot be read, is not a peer kind, or names the
 * current session from a link that is not a member's; when it names another session it is held (bounded:
 * DEFAULT_MAX_HELD_BYTES) until the next membership, and refused then, or at once beyond the bound. The
 * worker must stay alive, keep its resident memory within the bound plus 128 MiB, and exit 0 on `done`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as zmq from 'zeromq';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { modelToKerasJson } from '../../shared/io/model-json.ts';
import { loadJob } from '../../shared/model/job.ts';
import { optimizerConfig } from '../../shared/model/keras/optimizer-state.ts';
import { makeOptimizer } from '../../shared/model/keras/optimizers.ts';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import {
  decodeMessage,
  encodeMessage,
  type Message,
  type MessageKind,
  type MessageOf,
  type Outbound,
} from '../../shared/wire/protocol.ts';
import { SendQueue, frameBytes } from '../../shared/wire/transport.ts';
import { readWeights } from '../../shared/wire/weights.ts';
import { DEFAULT_MAX_HELD_BYTES } from '../../worker/exchange/mesh.ts';
import { JOBS } from '../helpers/local.ts';
import { freePort, killAll, startCli, waitFor, type Proc } from '../helpers/procs.ts';
import { Mutator, decodeOr, type Frames, type Mutant } from '../helpers/wire.ts';

const SEED = 0x9ee2_f022;
const MUTANTS = 4000; // small messages from outside the membership, while round 0 is in flight
const BIG_VALUES = 1 << 18; // float32 values per message of the burst past the hold bound: 1 MiB
const RSS_SLACK_BYTES = 128 << 20; // resident memory allowed over the start, beyond what the hold bound lets in
const JOB = path.join(JOBS, 'dense-sgd.ts');
const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));
beforeAll(async () => {
  await selectBackend('cpu');
});

/** Resident set size of a process, in bytes, from /proc (process.memoryUsage only sees this process). */
function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

/** The worker's rejected-message counters by code, from its /metrics. */
async function rejectedByCode(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^tensorfleet_rejected_messages_total\{([^}]*)\} (\d+)/gm)) {
    const code = /code="([^"]+)"/.exec(m[1] as string)?.[1] ?? '';
    out.set(code, (out.get(code) ?? 0) + Number(m[2]));
  }
  return out;
}

const total = (m: ReadonlyMap<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** Polls until the worker's counters equal `want` (and stay so for a moment); fails naming both. */
async function expectCounters(port: number, want: ReadonlyMap<string, number>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  const show = (m: ReadonlyMap<string, number>) => JSON.stringify([...m].sort());
  let got = await rejectedByCode(port);
  while (Date.now() < deadline) {
    if (show(got) === show(want)) {
      await new Promise((r) => setTimeout(r, 300));
      got = await rejectedByCode(port);
      if (show(got) === show(want)) return;
    }
    await new Promise((r) => setTimeout(r, 100));
    got = await rejectedByCode(port);
  }
  expect(show(got), `seed ${SEED}: rejected messages by code`).toBe(show(want));
}

/** A fake coordinator: one ROUTER, every message decoded into an inbox, one writer. */
class FakeCoordinator {
  readonly inbox: { readonly id: Buffer; readonly msg: Message }[] = [];
  private readonly out: SendQueue;
  private constructor(
    private readonly router: zmq.Router,
    readonly endpoint: string,
  ) {
    this.out = new SendQueue(router);
    void (async () => {
      for await (const [id, ...frames] of router) if (id) this.inbox.push({ id, msg: decodeMessage(frames) });
    })().catch(() => {});
  }

  static async bind(): Promise<FakeCoordinator> {
    const router = new zmq.Router({ linger: 0 });
    await router.bind('tcp://127.0.0.1:*');
    return new FakeCoordinator(router, router.lastEndpoint as string);
  }

  /** The next message of `kind`, taken from the inbox. */
  async next<K extends MessageKind>(kind: K, ms = 60_000): Promise<{ id: Buffer; msg: MessageOf<K> }> {
    const deadline = Date.now() + ms;
    for (;;) {
      const at = this.inbox.findIndex((e) => e.msg.kind === kind);
      const hit = this.inbox[at];
      if (hit && hit.msg.kind === kind) {
        this.inbox.splice(at, 1);
        return { id: hit.id, msg: hit.msg as MessageOf<K> };
      }
      if (Date.now() > deadline) throw new Error(`fake coordinator: no ${kind} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  send(id: Buffer, msg: Outbound): Promise<void> {
    return this.out.send([id, ...encodeMessage(msg)]);
  }

  close(): void {
    this.out.close();
    this.router.close();
  }
}

describe("fuzzing a worker's peer endpoint", () => {
  it('refuses and counts every message from outside the membership, stays bounded, and exits 0 on done', async () => {
    const sockets: zmq.Socket[] = [];
    const coordinator = await FakeCoordinator.bind();
    let beat: NodeJS.Timeout | undefined;
    try {
      const metricsPort = await freePort();
      const worker = startCli([
        'worker',
        '--connect',
        coordinator.endpoint,
        '--backend',
        'cpu',
        '--metrics-host',
        '127.0.0.1',
        '--metrics-port',
        String(metricsPort),
      ]);
      procs.push(worker);
      const reach = /peers reach this worker at (tcp:\/\/\S+)/;
      await waitFor(worker, reach);
      const peerEndpoint = reach.exec(worker.stderr + worker.stdout)?.[1] as string;

      // Welcome it with the job's model and optimizer, as a coordinator does.
      const { id } = await coordinator.next('hello');
      const job = await loadJob(JOB);
      const model = job.model();
      const optimizer = makeOptimizer(job.compile.optimizer);
      const loss = typeof job.compile.loss === 'string' ? job.compile.loss : 'custom';
      await coordinator.send(id, {
        kind: 'welcome',
        rank: 0,
        jobPath: JOB,
        modelConfig: JSON.stringify(modelToKerasJson(model)),
        compile: { loss, metrics: job.compile.metrics ?? [] },
        backend: 'cpu',
        heartbeatIntervalMs: 500,
        optimizer: optimizerConfig(optimizer),
        groups: { weights: readWeights(model) },
      });
      const heartbeat = () => coordinator.send(id, { kind: 'heartbeat', sentAtMs: Date.now() });
      beat = setInterval(() => void heartbeat().catch(() => {}), 500);
      const ready = await coordinator.next('ready');
      expect(ready.msg.peerEndpoint).toBe(peerEndpoint);

      // Round 0: the worker and a silent member (a ROUTER here), so the exchange stays in flight.
      const silent = new zmq.Router({ linger: 0 });
      sockets.push(silent);
      await silent.bind('tcp://127.0.0.1:*');
      const fromWorker: Frames[] = [];
      void (async () => {
        for await (const [, ...frames] of silent) fromWorker.push(frames);
      })().catch(() => {});
      const round = (roundId: number, session: string) => {
        const idx = Int32Array.from({ length: 8 }, (_, i) => i + 8 * roundId);
        return coordinator.send(id, {
          kind: 'round',
          roundId,
          epoch: 0,
          step: roundId,
          weightsVersion: 0,
          learningRate: 0.01,
          exchange: { session, rank: 0, endpoints: [peerEndpoint, silent.lastEndpoint as string], samples: [8, 8] },
          groups: { indices: [{ name: 'indices', dtype: 'int32', shape: [8], data: idx }] },
        });
      };
      const s0 = `s0-${randomBytes(8).toString('hex')}`;
      await round(0, s0);
      const deadline = Date.now() + 60_000;
      while (fromWorker.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const genuine = fromWorker[0];
      if (!genuine) throw new Error('the worker never sent its scatter of round 0');
      const first = decodeMessage(genuine);
      expect(first.kind === 'scatter' && first.session === s0 && first.from === 0).toBe(true);
      expect(total(await rejectedByCode(metricsPort))).toBe(0);

      // Outsiders: links named as no member of s0 may be (the worker itself, a rank outside, a stranger).
      const links = [`${s0}/0`, `${s0}/7`, 'stranger'];
      const queues = links.map((routingId) => {
        const d = new zmq.Dealer({ linger: 0, routingId });
        d.connect(peerEndpoint);
        sockets.push(d);
        return { routingId, queue: new SendQueue(d) };
      });
      const guessed = encodeMessage({
        kind: 'scatter',
        session: `guess-${randomBytes(4).toString('hex')}`,
        roundId: 0,
        from: 1,
        bucket: 0,
        samples: 8,
        groups: { values: [{ name: 'values', dtype: 'float32', shape: [16], data: new Float32Array(16).fill(1) }] },
      });
      const corpus: Frames[] = [
        genuine,
        guessed,
        ...fromWorker.slice(1, 4),
        encodeMessage({ kind: 'heartbeat', sentAtMs: 1 }),
        encodeMessage({ kind: 'commit', roundId: 0, weightsVersion: 1 }),
      ];

      const mutator = new Mutator(SEED);
      const now = new Map<string, number>(); // refused at once, by code
      const later = new Map<string, number>(); // held, refused at the next membership
      let heldBytes = 0;
      let sent = 0;
      const add = (m: Map<string, number>, code: string) => m.set(code, (m.get(code) ?? 0) + 1);
      /** Predicts what the worker does with `frames` from `routingId`, as PeerMesh.admit does. */
      const predict = (m: Mutant, routingId: string): void => {
        sent += 1;
        const msg = decodeOr(m.frames);
        if (typeof msg === 'string') {
          if (msg.startsWith('crash')) throw new Error(`decodeMessage threw on "${m.how}" (seed ${SEED}): ${msg}`);
          return void add(now, msg);
        }
        if (msg.kind !== 'scatter' && msg.kind !== 'gather') return void add(now, 'FLEET_ERR_UNEXPECTED_MESSAGE');
        if (msg.session === s0) return void add(now, 'FLEET_ERR_UNKNOWN_PEER'); // not a member's link
        // Another session's message is held only from a link that names that session and sender.
        if (routingId !== `${msg.session}/${msg.from}`) return void add(now, 'FLEET_ERR_UNKNOWN_PEER');
        const bytes = frameBytes(m.frames) + Buffer.byteLength(routingId);
        if (heldBytes + bytes > DEFAULT_MAX_HELD_BYTES) return void add(now, 'FLEET_ERR_UNKNOWN_PEER');
        heldBytes += bytes;
        add(later, 'FLEET_ERR_UNKNOWN_PEER');
      };

      const rss0 = rssBytes(worker.child.pid as number);
      let rssPeak = rss0;
      const sampler = setInterval(() => {
        rssPeak = Math.max(rssPeak, rssBytes(worker.child.pid as number));
      }, 50);
      try {
        for (let i = 0; i < MUTANTS; i++) {
          const m = mutator.int(5) === 0 ? mutator.noise() : mutator.mutate(mutator.pick(corpus));
          const link = queues[i % queues.length] as (typeof queues)[number];
          predict(m, link.routingId);
          await link.queue.send(m.frames);
        }
        await expectCounters(metricsPort, now);
        // Past the hold bound: 1 MiB scatters of a guessed session, from one link so the order is known.
        const data = new Float32Array(BIG_VALUES);
        const values = { name: 'values', dtype: 'float32' as const, shape: [BIG_VALUES], data };
        const big = encodeMessage({
          kind: 'scatter',
          session: 'guessed-big-session',
          roundId: 0,
          from: 1,
          bucket: 0,
          samples: 8,
          groups: { values: [values] },
        });
        const burst = Math.ceil((DEFAULT_MAX_HELD_BYTES - heldBytes) / frameBytes(big)) + 32;
        // From a link that names the guessed session and sender, as a peer's would: these are held.
        const bigLink = new zmq.Dealer({ linger: 0, routingId: 'guessed-big-session/1' });
        bigLink.connect(peerEndpoint);
        sockets.push(bigLink);
        const link = { routingId: 'guessed-big-session/1', queue: new SendQueue(bigLink) };
        for (let i = 0; i < burst; i++) {
          predict({ how: 'big scatter of a guessed session', frames: big }, link.routingId);
          await link.queue.send(big);
        }
        await expectCounters(metricsPort, now);
      } finally {
        clearInterval(sampler);
      }
      const mib = (n: number) => (n / 2 ** 20).toFixed(1);
      console.log(
        `peer fuzz (seed ${SEED}): worker RSS ${mib(rss0)} MiB at start, peak ${mib(rssPeak)} MiB ` +
          `(+${mib(rssPeak - rss0)}; bound +${mib(DEFAULT_MAX_HELD_BYTES + RSS_SLACK_BYTES)}), ` +
          `${mib(heldBytes)} MiB held for a later membership; refused at once: ${JSON.stringify([...now])}`,
      );
      expect(rssPeak - rss0).toBeLessThan(DEFAULT_MAX_HELD_BYTES + RSS_SLACK_BYTES);
      expect(worker.child.exitCode).toBeNull();

      // Round 1 under a new session: the round 0 exchange is superseded and every held message is refused.
      await round(1, `s1-${randomBytes(8).toString('hex')}`);
      const all = new Map(now);
      for (const [code, n] of later) all.set(code, (all.get(code) ?? 0) + n);
      await expectCounters(metricsPort, all);
      expect(total(all)).toBe(sent); // every message sent is accounted for, none twice
      expect(worker.child.exitCode).toBeNull();
      expect(coordinator.inbox.flatMap((e) => (e.msg.kind === 'error' ? [e.msg.code] : []))).toEqual([]);

      await coordinator.send(id, { kind: 'done', reason: 'peer fuzz over', ok: true });
      expect((await worker.exited).code, worker.stderr.slice(-2000)).toBe(0);
    } finally {
      if (beat) clearInterval(beat);
      for (const s of sockets) s.close();
      coordinator.close();
    }
  });
});
