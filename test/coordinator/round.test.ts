/**
 * gatherGradients on a real hub (ZeroMQ) with scripted workers on DEALER sockets: the batch is sharded
 * over the healthy workers in rank order and each example is computed exactly once; a reply that fails
 * validation is refused and the round waits for a good one; with a deadline, a straggler's shard moves
 * to the workers that answered, in a follow-up request, and its late reply is refused as stale.
 */
import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { Hub } from '../../coordinator/hub.ts';
import { gatherGradients, type RoundRequest } from '../../coordinator/round.ts';
import { createLogger } from '../../shared/runtime/log.ts';
import { createMetrics, type FleetMetrics } from '../../shared/runtime/metrics.ts';
import { decodeMessage, encodeMessage, type Message, type MessageOf } from '../../shared/wire/protocol.ts';

/** What a scripted worker does with a round: reply with these samples (default: its shard's size), or hold. */
type Script = (round: MessageOf<'round'>, attempt: number) => { samples?: number } | 'hold';

/** A scripted worker: joins, then answers each round by `script` and records every message. */
class ScriptedWorker {
  readonly dealer = new zmq.Dealer({ linger: 0 });
  readonly rounds: { roundId: number; epoch: number; step: number; indices: number[] }[] = [];
  readonly errors: MessageOf<'error'>[] = [];
  readonly held: MessageOf<'round'>[] = [];
  private attempts = 0;

  constructor(private readonly script: Script) {}

  async join(endpoint: string): Promise<void> {
    this.dealer.connect(endpoint);
    await this.dealer.send(encodeMessage({ kind: 'hello', pid: 1, host: 'scripted', backend: 'cpu' }));
    void this.serve();
  }

  /** Replies with gradients g = [sum of the shard's indices, its size], which the test can add up. */
  reply(round: MessageOf<'round'>, samples?: number): Promise<void> {
    const idx = Array.from(round.groups.indices[0].data);
    const data = Float32Array.from([idx.reduce((a, b) => a + b, 0), idx.length]);
    const g = { name: 'g', dtype: 'float32' as const, shape: [2], data };
    return this.dealer.send(encodeMessage({
      kind: 'gradients', roundId: round.roundId, samples: samples ?? idx.length, lossSum: idx.length, metricSums: [],
      computeSeconds: 0, numTensors: 0, groups: { gradients: [g] },
    }));
  }

  private async serve(): Promise<void> {
    for await (const frames of this.dealer) {
      const msg: Message = decodeMessage(frames);
      if (msg.kind === 'welcome') await this.dealer.send(encodeMessage({ kind: 'ready', numTensors: 0 }));
      if (msg.kind === 'error') this.errors.push(msg);
      if (msg.kind !== 'round') continue;
      const indices = Array.from(msg.groups.indices[0].data);
      this.rounds.push({ roundId: msg.roundId, epoch: msg.epoch, step: msg.step, indices });
      const act = this.script(msg, this.attempts++);
      if (act === 'hold') this.held.push(msg);
      else await this.reply(msg, act.samples);
    }
  }
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A bound hub with `scripts.length` scripted workers admitted and healthy. */
async function cluster(scripts: Script[]) {
  const metrics = createMetrics('coordinator', 'cpu', () => ({ numTensors: 0, numBytes: 0 }));
  const warnings: string[] = [];
  const log = { ...createLogger('test', true), warn: (m: string) => void warnings.push(m) };
  const opts = {
    bind: 'tcp://127.0.0.1:*', heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 30_000, setupTimeoutMs: 30_000,
    now: () => Date.now(),
  };
  const hub = new Hub(opts, metrics, log);
  const endpoint = await hub.bind();
  cleanup.push(() => hub.close('test over', true));
  const workers = scripts.map((s) => new ScriptedWorker(s));
  const welcome = { jobPath: '/nowhere.ts', modelConfig: '{}', compile: {}, backend: 'cpu', weights: [] };
  const admitted = hub.admit(workers.length, welcome, 30_000);
  // Join one at a time so ranks follow the array order.
  for (const w of workers) {
    await w.join(endpoint);
    cleanup.push(async () => w.dealer.close());
    while (hub.peers.all().length < workers.indexOf(w) + 1) await new Promise((r) => setTimeout(r, 5));
  }
  await admitted;
  return { hub, workers, metrics, warnings };
}

function request(hub: Hub, metrics: FleetMetrics, deadlineMs: number, log?: RoundRequest['log']): RoundRequest {
  let id = 10;
  return {
    hub, nextId: () => id++, epoch: 2, step: 5, weightsFor: () => ({ tensors: [] }), weightsVersion: 0,
    specs: [{ name: 'g', dtype: 'float32', shape: [2] }], deadlineMs, metrics, ...(log && { log }),
  };
}

const batch = (n: number) => Int32Array.from({ length: n }, (_, i) => 100 + i);
/** Every example's index once: the sum of each accepted gradient's first element, and the shard sizes. */
const totals = (accepted: Awaited<ReturnType<typeof gatherGradients>>) => ({
  indexSum: accepted.reduce((a, r) => a + (r.msg.tensors[0]?.data[0] as number), 0),
  samples: accepted.reduce((a, r) => a + r.msg.samples, 0),
});
const sumOf = (b: Int32Array) => b.reduce((a, v) => a + v, 0);

describe('gatherGradients', () => {
  it('shards the batch over the healthy workers in rank order, each example once', async () => {
    const answer: Script = () => ({});
    const { hub, workers, metrics } = await cluster([answer, answer, answer]);
    const b = batch(10);
    const accepted = await gatherGradients(request(hub, metrics, 0), b);
    expect(workers.map((w) => w.rounds)).toEqual([
      [{ roundId: 10, epoch: 2, step: 5, indices: [100, 101, 102, 103] }],
      [{ roundId: 10, epoch: 2, step: 5, indices: [104, 105, 106] }],
      [{ roundId: 10, epoch: 2, step: 5, indices: [107, 108, 109] }],
    ]);
    const replies = accepted.map((a) => [a.peer.rank, a.msg.samples, a.msg.roundId]);
    expect(replies).toEqual([[0, 4, 10], [1, 3, 10], [2, 3, 10]]);
    expect(totals(accepted)).toEqual({ indexSum: sumOf(b), samples: 10 });
    expect((await metrics.stragglers.get()).values[0]?.value ?? 0).toBe(0);
  });

  it('refuses a reply over the wrong number of samples and waits for a valid one', async () => {
    let worker: ScriptedWorker | undefined;
    const wrongFirst: Script = (round, attempt) => {
      if (attempt === 0) setTimeout(() => void worker?.reply(round), 100); // then the right reply
      return attempt === 0 ? { samples: 1 } : {};
    };
    const { hub, workers, metrics } = await cluster([() => ({}), wrongFirst]);
    worker = workers[1];
    const accepted = await gatherGradients(request(hub, metrics, 0), batch(6));
    expect(accepted.map((a) => a.msg.samples)).toEqual([3, 3]);
    expect(workers[1]?.errors.map((e) => e.code)).toEqual(['FLEET_ERR_TENSOR_SHAPE']);
    expect(workers[1]?.errors[0]?.message).toBe('Expected gradients over 3 samples from worker 1. Received: 1');
  });

  it('moves a straggler\'s shard to the workers that answered, and refuses its late reply as stale', async () => {
    const answer: Script = () => ({});
    const { hub, workers, metrics, warnings } = await cluster([answer, answer, () => 'hold']);
    const b = batch(9);
    const log = { ...createLogger('test', true), warn: (m: string) => void warnings.push(m) };
    const accepted = await gatherGradients(request(hub, metrics, 1000, log), b);
    // Round 10: 3 + 3 + 3; the last worker holds. Round 11: its 3 examples over the two fast workers.
    expect(workers.map((w) => w.rounds.map((r) => `${r.roundId}:${r.indices.join(',')}`))).toEqual([
      ['10:100,101,102', '11:106,107'],
      ['10:103,104,105', '11:108'],
      ['10:106,107,108'],
    ]);
    const replies = accepted.map((a) => [a.peer.rank, a.msg.roundId, a.msg.samples]);
    expect(replies).toEqual([[0, 10, 3], [1, 10, 3], [0, 11, 2], [1, 11, 1]]);
    expect(totals(accepted)).toEqual({ indexSum: sumOf(b), samples: 9 });
    expect((await metrics.stragglers.get()).values[0]?.value).toBe(1);
    const moved = 'round 10: worker(s) 2 missed the 1000 ms deadline; their 3 examples move to the 2 faster worker(s)';
    expect(warnings).toContain(moved);
    const straggler = workers[2] as ScriptedWorker;
    await straggler.reply(straggler.held[0] as MessageOf<'round'>);
    for (let i = 0; i < 100 && straggler.errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(straggler.errors.map((e) => e.code)).toEqual(['FLEET_ERR_STALE_ROUND']);
  });
});
