/**
 * Synchronized BatchNormalization on real processes and sockets. With it, what the cluster computes
 * does not depend on how many workers share a batch: 3 workers, one of them SIGKILLed mid-run (its
 * round redone by the other two), end where plain model.fit at the global batch ends. And bad
 * `reduce` messages from an admitted worker are each refused with a typed error naming the round,
 * while training ends exactly as an undisturbed run does.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as zmq from 'zeromq';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCoordinator } from '../../coordinator/run.ts';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { resolveSplits } from '../../shared/model/data/dataset.ts';
import { isFleetError } from '../../shared/runtime/errors.ts';
import { compiledFunctions, loadJob } from '../../shared/model/job.ts';
import {
  decodeMessage,
  encodeMessage,
  type Message,
  type MessageOf,
  type WireTensor,
} from '../../shared/wire/protocol.ts';
import { gradientStep } from '../../shared/model/step.ts';
import { synchronizeBatchNorm, synchronizedStep } from '../../shared/model/sync-bn/step.ts';
import { gradientsToWire, readState, readWeights, writeState, writeWeightsGroup } from '../../shared/wire/weights.ts';
import {
  optimizerFromConfig,
  readOptimizerState,
  writeOptimizerState,
} from '../../shared/model/keras/optimizer-state.ts';
import { PeerMesh } from '../../worker/exchange/mesh.ts';
import { ExchangeRouter } from '../../worker/exchange/rounds.ts';
import { applyStep, exchangeStep, flatten, membershipOf } from '../../worker/exchange/step.ts';
import { JOBS, runTestCluster } from '../helpers/local.ts';
import { killAll, startCli, type Proc } from '../helpers/procs.ts';
import { fitReference } from '../helpers/reference.ts';
import { maxRelativeDiff } from '../helpers/weights.ts';
import { handMade } from '../helpers/wire.ts';

const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));
beforeAll(async () => {
  await selectBackend('cpu');
});

const base = {
  bind: 'tcp://127.0.0.1:*',
  backend: 'cpu' as const,
  metricsHost: '127.0.0.1',
  metricsPort: 0,
  joinTimeoutMs: 60_000,
  quiet: true,
};
const cliWorker = (endpoint: string) => {
  const w = startCli(['worker', '--connect', endpoint, '--backend', 'cpu', '--metrics-port', '0', '--quiet']);
  procs.push(w);
  return w;
};

/** Plain tfjs model.fit at the job's global batch, in order: what synchronized workers must reproduce. */
async function fitJob(file: string): Promise<tf.LayersModel> {
  const job = await loadJob(path.join(JOBS, file));
  const d = (await job.data()).train;
  const [x, y] = [tf.tensor(d.x, [...d.xShape]), tf.tensor(d.y, [...d.yShape])];
  const model = await fitReference(job, x, y);
  tf.dispose([x, y]);
  return model;
}

describe('synchronized BatchNormalization on a cluster (cpu backend)', () => {
  it('3 workers, one SIGKILLed mid-run, end where model.fit at batch 32 ends', async () => {
    const job = path.join(JOBS, 'conv-bn-sync-long.ts');
    const workers: Proc[] = [];
    let killed = false;
    const result = await runCoordinator({
      ...base,
      job,
      workers: 3,
      minWorkers: 2,
      heartbeatIntervalMs: 200,
      heartbeatTimeoutMs: 2000,
      fit: { verbose: 2 },
      sink: {
        isTTY: false,
        now: () => Date.now(),
        write: (text: string) => {
          // verbose 2 prints "Epoch 1/4" as epoch 1 begins: lose a worker 20-170 ms into it (an epoch takes seconds).
          if (!killed && /Epoch 1\/4/.test(text)) {
            killed = true;
            setTimeout(() => workers[0]?.child.kill('SIGKILL'), 20 + Math.random() * 150);
          }
        },
      },
      onListening: ({ endpoint }) => {
        for (let i = 0; i < 3; i++) workers.push(cliWorker(endpoint));
      },
    });
    expect(killed).toBe(true);
    expect(await workers[0]?.exited.then((e) => e.signal)).toBe('SIGKILL');
    const expected = await fitJob('conv-bn-sync-long.ts');
    expect(result.history.history['loss']).toHaveLength(4);
    expect(maxRelativeDiff(result.model, expected)).toBeLessThan(1e-4);
    expect(maxRelativeDiff((await loadJob(job)).model(), expected)).toBeGreaterThan(1e-2);
  });

  it('a job with syncBatchNorm refuses --round-deadline before any worker starts', async () => {
    const err = await runCoordinator({
      ...base,
      job: path.join(JOBS, 'conv-bn-sync.ts'),
      workers: 2,
      heartbeatIntervalMs: 500,
      heartbeatTimeoutMs: 10_000,
      roundDeadlineMs: 500,
    }).catch((e: unknown) => e);
    expect(isFleetError(err, 'FLEET_ERR_CONFIG')).toBe(true);
    expect((err as Error).message).toMatch(
      /Expected --round-deadline 0 with syncBatchNorm .* Received: --round-deadline 500/,
    );
  });
});

/**
 * An admitted worker that computes honest synchronized steps, but before each honest reduce sends
 * four bad ones and after it a duplicate. Returns the error codes it got back for reduces.
 */
async function rogue(endpoint: string, file: string): Promise<{ codes: string[]; replyIdsMatch: boolean }> {
  const job = await loadJob(path.join(JOBS, file));
  const splits = resolveSplits(await job.data(), job.fit.validationSplit);
  const { loss, metrics } = compiledFunctions(job.compile);
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(endpoint);
  const send = (frames: Buffer[]) => dealer.send(frames);
  const codes: string[] = [];
  let replyIdsMatch = true;
  let model: tf.LayersModel | undefined;
  let optimizer: tf.Optimizer | undefined;
  let pending: { roundId: number; averaged: Float32Array; learningRate: number } | undefined;
  // The rogue takes part in the gradient exchange honestly, with the workers' own modules.
  const mesh = await PeerMesh.open({ host: '127.0.0.1' });
  const exchange = new ExchangeRouter(mesh, 1 << 24);
  const sums = new Map<number, (v: Float32Array) => void>();
  let work = Promise.resolve();
  const onRound = async (msg: MessageOf<'round'>) => {
    const m = model as tf.LayersModel;
    if (msg.groups.weights.length > 0) {
      writeWeightsGroup(m, msg.groups.weights, msg.weightIndices);
      version = msg.weightsVersion;
    }
    const idx = Array.from(msg.groups.indices[0].data);
    const d = splits.train.data;
    const x = tf.tidy(() => tf.gather(tf.tensor(d.x, [...d.xShape]), idx));
    const y = tf.tidy(() => tf.gather(tf.tensor(d.y, [...d.yShape]), idx));
    let seq = 0;
    const allReduce = async (local: Float32Array) => {
      const s = seq++;
      const header = { kind: 'reduce' as const, roundId: msg.roundId, seq: s };
      const vec = { name: 'local', dtype: 'float32' as const, shape: [local.length], data: local };
      const reduce = (v: WireTensor, roundId = msg.roundId) =>
        encodeMessage({ ...header, roundId, groups: { local: [v] } });
      await send(reduce(vec, msg.roundId + 1000)); // a round not in flight
      await send(handMade({ ...header, groups: { local: 2 } }, [vec, vec])); // two vectors
      await send(reduce({ ...vec, dtype: 'int32', data: new Int32Array(local.length) })); // int32
      await send(reduce({ ...vec, shape: [0], data: new Float32Array(0) })); // empty
      const sum = new Promise<Float32Array>((resolve) => sums.set(s, resolve));
      await send(reduce(vec));
      await send(reduce(vec)); // duplicate
      return sum;
    };
    if (mesh.current?.session !== msg.exchange.session) mesh.setMembership(membershipOf(msg.exchange));
    if (msg.optimizerIterations !== undefined) {
      const slots = [...msg.groups.optimizer];
      await writeOptimizerState(m, optimizer as tf.Optimizer, { iterations: msg.optimizerIterations, slots });
    }
    const before = readState(m);
    const step = await synchronizedStep(
      idx.length,
      allReduce,
      () => gradientStep(m, loss, metrics, x, y),
      (r) => tf.dispose(r.grads),
    );
    tf.dispose([x, y]);
    const after = readState(m);
    writeState(
      m,
      before.map((t) => Float32Array.from(t.data)),
    );
    const flat = flatten([...gradientsToWire(m, step.grads).map((g) => g.data), ...after.map((t) => t.data)]);
    tf.dispose(step.grads);
    const averaged = await exchangeStep(exchange, msg, flat);
    pending = { roundId: msg.roundId, averaged, learningRate: msg.learningRate };
    const n = idx.length;
    const reply = {
      kind: 'stepped' as const,
      roundId: msg.roundId,
      samples: n,
      lossSum: step.loss * n,
      metricSums: step.metricSums,
      computeSeconds: 0,
      numTensors: 0,
      exchangeBytes: mesh.takeBytes(msg.roundId),
    };
    await send(encodeMessage(reply));
  };
  const onPull = async (msg: MessageOf<'pull'>, version: number) => {
    const m = model as tf.LayersModel;
    const state = await readOptimizerState(m, optimizer as tf.Optimizer);
    await send(
      encodeMessage({
        kind: 'pulled',
        pullId: msg.pullId,
        weightsVersion: version,
        optimizerIterations: state.iterations,
        groups: { weights: readWeights(m), optimizer: [...state.slots] },
      }),
    );
  };
  let version = 0;
  await send(encodeMessage({ kind: 'hello', pid: process.pid, host: 'rogue', backend: 'cpu' }));
  for await (const frames of dealer) {
    const msg: Message = decodeMessage(frames);
    if (msg.kind === 'done') break;
    if (msg.kind === 'error' && msg.inReplyTo === 'reduce') {
      codes.push(msg.code);
      if (msg.replyId === undefined) replyIdsMatch = false;
    }
    if (msg.kind === 'reduced') sums.get(msg.seq)?.(Float32Array.from(msg.groups.sum[0].data));
    if (msg.kind === 'welcome') {
      model = await tf.models.modelFromJSON({ modelTopology: JSON.parse(msg.modelConfig) });
      synchronizeBatchNorm(model);
      writeWeightsGroup(model, msg.groups.weights);
      optimizer = optimizerFromConfig(msg.optimizer);
      await send(encodeMessage({ kind: 'ready', numTensors: 0, peerEndpoint: mesh.endpoint }));
    }
    if (msg.kind === 'commit') {
      const p = pending;
      const v = msg.weightsVersion;
      work = work.then(() => {
        if (p?.roundId === msg.roundId)
          applyStep(model as tf.LayersModel, optimizer as tf.Optimizer, p.averaged, p.learningRate);
        version = v;
      });
    }
    if (msg.kind === 'pull') {
      const r = msg;
      work = work.then(() => onPull(r, version));
    }
    if (msg.kind === 'round') {
      const r = msg;
      work = work.then(() => onRound(r));
    }
  }
  await work;
  dealer.close();
  await mesh.close();
  return { codes, replyIdsMatch };
}

describe('bad reduce messages', () => {
  it('are each refused with a typed error naming the round, and training ends as an undisturbed run', async () => {
    let rogueDone: Promise<{ codes: string[]; replyIdsMatch: boolean }> | undefined;
    const result = await runCoordinator({
      ...base,
      job: path.join(JOBS, 'conv-bn-sync.ts'),
      workers: 2,
      heartbeatIntervalMs: 500,
      heartbeatTimeoutMs: 10_000,
      onListening: ({ endpoint }) => {
        cliWorker(endpoint);
        rogueDone = rogue(endpoint, 'conv-bn-sync.ts');
      },
    });
    const { codes, replyIdsMatch } = await rogueDone!;
    const count = (c: string) => codes.filter((x) => x === c).length;
    const reduces = 10 * 2; // 10 steps, a forward and a backward reduction for the one BatchNormalization layer
    expect(count('FLEET_ERR_STALE_ROUND')).toBe(2 * reduces); // a round not in flight; a duplicate
    expect(count('FLEET_ERR_TENSOR_SHAPE')).toBe(2 * reduces); // two vectors in the one-vector group; empty
    expect(count('FLEET_ERR_TENSOR_DTYPE')).toBe(reduces); // an int32 vector in the float32 group
    expect(codes).toHaveLength(5 * reduces);
    expect(replyIdsMatch).toBe(true);
    const clean = await runTestCluster('conv-bn-sync.ts', 2);
    expect(maxRelativeDiff(result.model, clean.model)).toBeLessThan(1e-6);
  });
});
