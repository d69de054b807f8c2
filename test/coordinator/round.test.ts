/**
 * exchangeRound and commitRound on a real hub (ZeroMQ) with scripted workers on DEALER sockets: the
 * members are the healthy workers in rank order; the batch is sharded over them in rank order, each
 * example once; each `round` names the membership (session, rank, endpoints, keys and samples by rank);
 * weights and optimizer state go only to a member the callbacks say lacks them; a reply over the wrong
 * number of samples is refused and counts as a strike; past a deadline the step comes back late, naming
 * the members that never said `computed` (or, when all did, every late one); `commit` reaches every member
 * with the new version.
 */
import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { Hub, type WelcomePayload } from '../../coordinator/hub.ts';
import type { Peer } from '../../coordinator/peers.ts';
import {
  commitRound,
  exchangeRound,
  membersFor,
  sessionNonce,
  sessionOf,
  type LateRound,
  type StepRequest,
  type SteppedRound,
} from '../../coordinator/round.ts';
import type { OptimizerState } from '../../shared/model/keras/optimizer-state.ts';
import { createLogger } from '../../shared/runtime/log.ts';
import { createMetrics } from '../../shared/runtime/metrics.ts';
import {
  decodeMessage,
  encodeMessage,
  type Message,
  type MessageOf,
  type WireTensor,
} from '../../shared/wire/protocol.ts';

/**
 * What a scripted worker does with a round: reply with these samples (default: its shard's size), hold
 * (a straggler), or say it computed its gradient and then hold (its exchange never finishes).
 */
type Script = (round: MessageOf<'round'>, attempt: number) => { samples?: number } | 'hold' | 'computed';

/** How a scripted worker joins: its script, and the CURVE key it announces, if any. */
interface Spec {
  readonly script: Script;
  readonly peerKey?: string;
}

/** A scripted worker: joins, heartbeats, answers each round by `script` and records every message. */
class ScriptedWorker {
  readonly dealer = new zmq.Dealer({ linger: 0 });
  readonly rounds: MessageOf<'round'>[] = [];
  readonly commits: MessageOf<'commit'>[] = [];
  readonly errors: MessageOf<'error'>[] = [];
  private attempts = 0;
  private beat: NodeJS.Timeout | undefined;

  constructor(
    private readonly spec: Spec,
    readonly peerEndpoint: string,
  ) {}

  async join(endpoint: string): Promise<void> {
    this.dealer.connect(endpoint);
    await this.dealer.send(encodeMessage({ kind: 'hello', pid: 1, host: 'scripted', backend: 'cpu' }));
    void this.serve();
  }

  /** A `stepped` for `round` over `samples` (default: the shard's size); the loss sum is the shard's index sum. */
  reply(round: MessageOf<'round'>, samples?: number): Promise<void> {
    const idx = Array.from(round.groups.indices[0].data);
    return this.dealer.send(
      encodeMessage({
        kind: 'stepped',
        roundId: round.roundId,
        samples: samples ?? idx.length,
        lossSum: idx.reduce((a, b) => a + b, 0),
        metricSums: [],
        computeSeconds: 0,
        numTensors: 7,
        exchangeBytes: { sent: 8 * idx.length, received: 8 },
      }),
    );
  }

  stop(): void {
    clearInterval(this.beat);
    this.dealer.close();
  }

  private async serve(): Promise<void> {
    for await (const frames of this.dealer) {
      const msg: Message = decodeMessage(frames);
      if (msg.kind === 'welcome') await this.ready();
      if (msg.kind === 'error') this.errors.push(msg);
      if (msg.kind === 'commit') this.commits.push(msg);
      if (msg.kind !== 'round') continue;
      this.rounds.push(msg);
      const act = this.spec.script(msg, this.attempts++);
      if (act === 'computed') await this.dealer.send(encodeMessage({ kind: 'computed', roundId: msg.roundId }));
      else if (act !== 'hold') await this.reply(msg, act.samples);
    }
  }

  private async ready(): Promise<void> {
    const key = this.spec.peerKey;
    await this.dealer.send(
      encodeMessage({
        kind: 'ready',
        numTensors: 0,
        peerEndpoint: this.peerEndpoint,
        ...(key !== undefined && { peerKey: key }),
      }),
    );
    // Alive all along, so that only a strike or a deadline can fail a step.
    const heartbeat = () => this.dealer.send(encodeMessage({ kind: 'heartbeat', sentAtMs: Date.now() }));
    this.beat = setInterval(() => void heartbeat().catch(() => {}), 50);
  }
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const answer: Script = () => ({});
const optimizer = { className: 'SGD', config: { learningRate: 0.1 } };
const key = (rank: number) => `${'k'.repeat(39)}${rank}`;

/** A bound hub with one scripted worker per spec admitted and healthy, ranks in array order. */
async function cluster(specs: readonly Spec[], heartbeatTimeoutMs = 30_000) {
  const metrics = createMetrics('coordinator', 'cpu', () => ({ numTensors: 0, numBytes: 0 }));
  const log = { ...createLogger('test', true), warn: () => {} };
  const opts = {
    bind: 'tcp://127.0.0.1:*',
    heartbeatIntervalMs: 1000,
    heartbeatTimeoutMs,
    setupTimeoutMs: 30_000,
    now: () => Date.now(),
  };
  const hub = new Hub(opts, metrics, log);
  const endpoint = await hub.bind();
  cleanup.push(() => hub.close('test over', true));
  const workers = specs.map((s, i) => new ScriptedWorker(s, `tcp://10.0.0.${i + 1}:5555`));
  const welcome: WelcomePayload = {
    jobPath: '/nowhere.ts',
    modelConfig: '{}',
    compile: {},
    backend: 'cpu',
    weights: [],
    optimizer,
  };
  const admitted = hub.admit(workers.length, welcome, 30_000);
  // Join one at a time so ranks follow the array order.
  for (const [i, w] of workers.entries()) {
    await w.join(endpoint);
    cleanup.push(async () => w.stop());
    while (hub.peers.all().length < i + 1) await new Promise((r) => setTimeout(r, 5));
  }
  const peers = await admitted;
  return { hub, workers, peers };
}

/** A step request: no weights and no optimizer state to send unless the test says otherwise. */
function request(hub: Hub, over: Partial<StepRequest> = {}): StepRequest {
  return {
    hub,
    roundId: 10,
    epoch: 2,
    step: 5,
    weightsVersion: 4,
    learningRate: 0.25,
    session: 'session-0001',
    weightsFor: () => ({ tensors: [] }),
    optimizerFor: () => undefined,
    deadlineMs: 0,
    ...over,
  };
}

/** The step's members and replies; fails the test if the step came back late. */
function stepped(r: SteppedRound | LateRound): SteppedRound {
  if (!('stragglers' in r)) return r;
  throw new Error(`Expected every member to step. Received: stragglers ${r.stragglers.map((p) => p.rank).join(', ')}`);
}

const batch = (n: number) => Int32Array.from({ length: n }, (_, i) => 100 + i);
const indicesOf = (r: MessageOf<'round'> | undefined) => Array.from(r?.groups.indices[0].data ?? []);

describe('exchangeRound', () => {
  it('shards the batch over the members in rank order, each example once, and names the membership', async () => {
    const { hub, workers, peers } = await cluster([answer, answer, answer].map((script) => ({ script })));
    const members = membersFor(hub, 10);
    expect(members.map((p) => p.rank)).toEqual([0, 1, 2]);
    const done = stepped(await exchangeRound(request(hub), members, batch(10)));
    expect(workers.map((w) => w.rounds.map(indicesOf))).toEqual([
      [[100, 101, 102, 103]],
      [[104, 105, 106]],
      [[107, 108, 109]],
    ]);
    const endpoints = ['tcp://10.0.0.1:5555', 'tcp://10.0.0.2:5555', 'tcp://10.0.0.3:5555'];
    workers.forEach((w, rank) => {
      const round = w.rounds[0];
      expect(round).toMatchObject({
        kind: 'round',
        roundId: 10,
        epoch: 2,
        step: 5,
        weightsVersion: 4,
        learningRate: 0.25,
        exchange: { session: 'session-0001', rank, endpoints, samples: [4, 3, 3] },
      });
      expect(round?.exchange.keys).toBeUndefined(); // no worker announced a key
      expect(round?.optimizerIterations).toBeUndefined();
      expect(round?.groups.weights).toEqual([]);
      expect(round?.groups.optimizer).toEqual([]);
    });
    expect(done.members).toEqual(peers);
    const replies = done.replies.map((r) => [r.roundId, r.samples, r.lossSum, r.numTensors]);
    expect(replies).toEqual([
      [10, 4, 406, 7],
      [10, 3, 315, 7],
      [10, 3, 324, 7],
    ]);
    expect(workers.map((w) => w.errors)).toEqual([[], [], []]);
  });

  it('keeps shard sizes within one of each other, and takes only as many members as the batch has rows', async () => {
    const { hub, workers } = await cluster([answer, answer, answer].map((script) => ({ script })));
    for (const rows of [7, 8, 9, 11]) await exchangeRound(request(hub), membersFor(hub, rows), batch(rows));
    const sizes = (i: number) => workers.map((w) => indicesOf(w.rounds[i]).length);
    expect([0, 1, 2, 3].map(sizes)).toEqual([
      [3, 2, 2],
      [3, 3, 2],
      [3, 3, 3],
      [4, 4, 3],
    ]);
    for (let i = 0; i < 4; i++) {
      const seen = workers.flatMap((w) => indicesOf(w.rounds[i]));
      expect(seen).toEqual(Array.from(batch(seen.length)));
    }
    expect(membersFor(hub, 2).map((p) => p.rank)).toEqual([0, 1]);
    expect(membersFor(hub, 0).map((p) => p.rank)).toEqual([0]);
    const two = stepped(await exchangeRound(request(hub, { roundId: 11 }), membersFor(hub, 2), batch(2)));
    expect(two.replies.map((r) => r.samples)).toEqual([1, 1]);
    expect(workers.map((w) => w.rounds.length)).toEqual([5, 5, 4]);
    expect(workers[1]?.rounds[4]?.exchange).toMatchObject({ rank: 1, samples: [1, 1] });
    expect(workers[1]?.rounds[4]?.exchange.endpoints).toHaveLength(2);
  });

  it('names the same session while the members stay the same, and a new one when they change', async () => {
    const specs = [0, 1, 2].map((rank): Spec => ({ script: answer, peerKey: key(rank) }));
    const { hub, workers, peers } = await cluster(specs);
    const nonce = sessionNonce();
    expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(sessionNonce()).not.toBe(nonce);
    const step = async (roundId: number) => {
      const members = membersFor(hub, 6);
      await exchangeRound(request(hub, { roundId, session: sessionOf(members, nonce) }), members, batch(6));
      return members;
    };
    await step(1);
    await step(2);
    const [first, second] = [workers[0]?.rounds[0], workers[0]?.rounds[1]];
    expect(first?.exchange.session).toMatch(/^[0-9a-f]{32}$/);
    expect(second?.exchange.session).toBe(first?.exchange.session);
    expect(first?.exchange.keys).toEqual([key(0), key(1), key(2)]);
    expect(sessionOf(peers, sessionNonce())).not.toBe(first?.exchange.session); // another coordinator run

    hub.peers.transition(peers[1] as Peer, 'LOST', 'test: worker 1 left');
    const members = await step(3);
    expect(members.map((p) => p.rank)).toEqual([0, 2]);
    const third = workers[2]?.rounds[2];
    expect(third?.exchange.session).not.toBe(first?.exchange.session);
    expect(third?.exchange.session).toBe(sessionOf(members, nonce));
    expect(third?.exchange).toMatchObject({
      rank: 1,
      endpoints: ['tcp://10.0.0.1:5555', 'tcp://10.0.0.3:5555'],
      keys: [key(0), key(2)],
      samples: [3, 3],
    });
    expect(workers[1]?.rounds).toHaveLength(2);
  });

  it('sends weights only to a member that lacks the version, optimizer state only as optimizerFor says', async () => {
    const { hub, workers, peers } = await cluster([answer, answer].map((script) => ({ script })));
    const [current, behind] = peers as [Peer, Peer];
    current.weightsVersion = 4;
    const w = { name: 'dense/kernel', dtype: 'float32' as const, shape: [2], data: Float32Array.of(1.5, -2) };
    const slot = { name: '#0/m', dtype: 'float32' as const, shape: [2], data: Float32Array.of(0.25, 0.5) };
    const state: OptimizerState = { iterations: 12, slots: [slot] };
    await exchangeRound(
      request(hub, {
        weightsFor: (p) => (p.weightsVersion === 4 ? { tensors: [] } : { tensors: [w], indices: [3] }),
        optimizerFor: (p) => (p === behind ? state : undefined),
      }),
      [current, behind],
      batch(4),
    );
    const [held, sent] = [workers[0]?.rounds[0], workers[1]?.rounds[0]];
    expect(held?.groups.weights).toEqual([]);
    expect(held?.weightIndices).toBeUndefined();
    expect(held?.groups.optimizer).toEqual([]);
    expect(held?.optimizerIterations).toBeUndefined();
    expect(sent?.weightIndices).toEqual([3]);
    const plain = (ts: readonly WireTensor[] | undefined) => ts?.map((t) => [t.name, t.shape, Array.from(t.data)]);
    expect(plain(sent?.groups.weights)).toEqual([['dense/kernel', [2], [1.5, -2]]]);
    expect(sent?.optimizerIterations).toBe(12);
    expect(plain(sent?.groups.optimizer)).toEqual([['#0/m', [2], [0.25, 0.5]]]);
    expect([held?.weightsVersion, sent?.weightsVersion]).toEqual([4, 4]);
  });

  it('refuses a reply over the wrong number of samples, then takes a valid one within the strike window', async () => {
    let worker: ScriptedWorker | undefined;
    const wrongFirst: Script = (round, attempt) => {
      if (attempt === 0) setTimeout(() => void worker?.reply(round), 100); // then the right reply
      return attempt === 0 ? { samples: 1 } : {};
    };
    const { hub, workers, peers } = await cluster([{ script: answer }, { script: wrongFirst }]);
    worker = workers[1];
    const done = stepped(await exchangeRound(request(hub), membersFor(hub, 6), batch(6)));
    expect(done.replies.map((r) => r.samples)).toEqual([3, 3]);
    expect(workers[1]?.errors.map((e) => e.code)).toEqual(['FLEET_ERR_TENSOR_SHAPE']);
    expect(workers[1]?.errors[0]?.message).toBe('Expected a step over 3 samples from worker 1. Received: 1');
    expect(peers.map((p) => p.state)).toEqual(['HEALTHY', 'HEALTHY']);
  });

  it('fails the step when a struck member sends no valid reply in time, though it stays alive', async () => {
    const { hub, workers, peers } = await cluster([{ script: answer }, { script: () => ({ samples: 1 }) }], 400);
    const step = exchangeRound(request(hub), membersFor(hub, 6), batch(6));
    await expect(step).rejects.toMatchObject({ code: 'FLEET_ERR_WORKER_LOST' });
    const why = /sent an invalid stepped \(FLEET_ERR_TENSOR_SHAPE: Expected a step over 3 samples from worker 1/;
    await expect(step).rejects.toThrow(why);
    expect(workers[1]?.errors.map((e) => e.code)).toEqual(['FLEET_ERR_TENSOR_SHAPE']);
    expect(peers.map((p) => p.state)).toEqual(['HEALTHY', 'LOST']);
  });

  it('past the deadline names the member that never computed as the straggler, with its examples', async () => {
    const specs = [answer, (): 'computed' => 'computed', (): 'hold' => 'hold'].map((script) => ({ script }));
    const { hub, workers, peers } = await cluster(specs);
    const late = await exchangeRound(request(hub, { roundId: 21, deadlineMs: 300 }), membersFor(hub, 9), batch(9));
    // Worker 1 computed and is exchanging (it waits for worker 2); worker 2 held everyone up.
    expect(late).toEqual({ stragglers: [peers[2]], examples: 3 });
    const shards = workers.map((w) => w.rounds.map(indicesOf));
    expect(shards).toEqual([[[100, 101, 102]], [[103, 104, 105]], [[106, 107, 108]]]);
    expect(membersFor(hub, 9, new Set([peers[2] as Peer])).map((p) => p.rank)).toEqual([0, 1]);
    expect(membersFor(hub, 9, new Set(peers)).map((p) => p.rank)).toEqual([0, 1, 2]); // never none
  });

  it('past the deadline with every late member computed, names them all: the exchange itself was late', async () => {
    const specs = [answer, (): 'computed' => 'computed', (): 'computed' => 'computed'].map((script) => ({ script }));
    const { hub, peers } = await cluster(specs);
    const late = await exchangeRound(request(hub, { roundId: 22, deadlineMs: 300 }), membersFor(hub, 8), batch(8));
    expect(late).toEqual({ stragglers: [peers[1], peers[2]], examples: 5 });
  });
});

describe('commitRound', () => {
  it('tells every member to apply the round, with the new weights version', async () => {
    const { hub, workers, peers } = await cluster([answer, answer, answer].map((script) => ({ script })));
    await exchangeRound(request(hub, { roundId: 30 }), peers, batch(3));
    await commitRound(hub, peers, 30, 5);
    for (let i = 0; i < 200 && workers.some((w) => w.commits.length === 0); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const commit = { kind: 'commit', roundId: 30, weightsVersion: 5, groups: {} };
    expect(workers.map((w) => w.commits)).toEqual([[commit], [commit], [commit]]);
  });
});
