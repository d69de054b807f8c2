/**
 * A rogue peer sends random bytes, a wrong protocol version, a message before hello, and then — as an
 * admitted worker — gradients with wrong shapes, wrong dtypes, NaN, a wrong sample count, a group its kind
 * does not declare, group counts that disagree with the frames, stale round ids and duplicates, before each
 * correct reply. Every bad message is answered with its typed error,
 * the coordinator keeps running, and it ends with exactly the weights of an undisturbed run.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as zmq from 'zeromq';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCoordinator } from '../../coordinator/run.ts';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { resolveSplits } from '../../shared/model/data/dataset.ts';
import { compiledFunctions, loadJob } from '../../shared/model/job.ts';
import { PROTOCOL_VERSION, decodeMessage, encodeMessage, type Message, type WireTensor } from '../../shared/wire/protocol.ts';
import { evaluateBatch, gradientStep } from '../../shared/model/step.ts';
import { gradientsToWire, writeWeightsGroup } from '../../shared/wire/weights.ts';
import { pack } from 'msgpackr';
import { JOBS, runTestCluster } from '../helpers/local.ts';
import { handMade } from '../helpers/wire.ts';
import { killAll, startCli, type Proc } from '../helpers/procs.ts';
import { maxRelativeDiff } from '../helpers/weights.ts';

const JOB = path.join(JOBS, 'dense-sgd.ts');
const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));
beforeAll(async () => {
  await selectBackend('cpu');
});

/** Plays an admitted-but-hostile worker until the coordinator says done; returns the error codes it got back. */
async function rogue(endpoint: string): Promise<{ codes: string[]; evaluations: number }> {
  let evaluations = 0;
  const job = await loadJob(JOB);
  const splits = resolveSplits(await job.data(), job.fit.validationSplit);
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(endpoint);
  const codes: string[] = [];
  const send = (frames: Buffer[]) => dealer.send(frames);
  // Before hello: garbage, a wrong version, and a message from an unknown peer.
  await send([Buffer.from([0xc1, 0xff, 0x00, 0x13])]);
  await send([pack({ v: PROTOCOL_VERSION + 7, kind: 'heartbeat', sentAtMs: 0, tensors: [] })]);
  await send(encodeMessage({ kind: 'heartbeat', sentAtMs: Date.now() }));
  await send(encodeMessage({ kind: 'hello', pid: process.pid, host: 'rogue', backend: 'cpu' }));
  let model: tf.LayersModel | undefined;
  const { loss, metrics } = compiledFunctions(job.compile);
  for await (const frames of dealer) {
    const msg: Message = decodeMessage(frames);
    if (msg.kind === 'error') codes.push(msg.code);
    if (msg.kind === 'done') break;
    if (msg.kind === 'welcome') {
      model = await tf.models.modelFromJSON({ modelTopology: JSON.parse(msg.modelConfig) });
      writeWeightsGroup(model, msg.groups.weights);
      await send(encodeMessage({ kind: 'ready', numTensors: 0 }));
      await send(encodeMessage({ kind: 'ready', numTensors: 0 })); // a second ready is out of place
    }
    if (!model) continue;
    if (msg.kind === 'round') {
      if (msg.groups.weights.length > 0) writeWeightsGroup(model, msg.groups.weights, msg.weightIndices);
      const idx = msg.groups.indices[0].data;
      const n = idx.length;
      const d = splits.train.data;
      const x = tf.tidy(() => tf.gather(tf.tensor(d.x, [...d.xShape]), Array.from(idx)));
      const y = tf.tidy(() => tf.gather(tf.tensor(d.y, [...d.yShape]), Array.from(idx)));
      const step = gradientStep(model, loss, metrics, x, y);
      tf.dispose([x, y]);
      const good = gradientsToWire(model, step.grads);
      const header = { kind: 'gradients' as const, roundId: msg.roundId, samples: n, lossSum: step.loss * n, metricSums: step.metricSums, computeSeconds: 0, numTensors: 0 };
      const g0 = good[0] as WireTensor;
      const gradients = (tensors: readonly WireTensor[]) =>
        encodeMessage({ ...header, groups: { gradients: tensors } });
      await send(gradients([{ ...g0, shape: [...g0.shape].reverse() }, ...good.slice(1)]));
      await send(gradients([{ ...g0, dtype: 'int32', data: new Int32Array(g0.data.length) }, ...good.slice(1)]));
      const nan = Float32Array.from(g0.data);
      nan[0] = NaN;
      await send(gradients([{ ...g0, data: nan }, ...good.slice(1)]));
      await send(encodeMessage({ ...header, samples: n + 1, groups: { gradients: good } }));
      await send(encodeMessage({ ...header, roundId: msg.roundId + 1000, groups: { gradients: good } }));
      await send(gradients(good.slice(1)));
      // Hand-made headers: a group gradients do not declare; counts that leave the last frame out of every group.
      await send(handMade({ ...header, groups: { gradients: good.length - 1, weights: 1 } }, good));
      await send(handMade({ ...header, groups: { gradients: good.length - 1 } }, good));
      await send(gradients(good));
      await send(gradients(good)); // duplicate
    }
    if (msg.kind === 'evaluate') {
      if (msg.groups.weights.length > 0) writeWeightsGroup(model, msg.groups.weights, msg.weightIndices);
      const view = splits[msg.split]!;
      const rows = Array.from({ length: msg.count }, (_, i) => view.offset + msg.start + i);
      const x = tf.tidy(() => tf.gather(tf.tensor(view.data.x, [...view.data.xShape]), rows));
      const y = tf.tidy(() => tf.gather(tf.tensor(view.data.y, [...view.data.yShape]), rows));
      const r = evaluateBatch(model, loss, metrics, x, y);
      tf.dispose([x, y]);
      // One row too many: a plain Error in the coordinator once (it exited 1); now a typed rejection.
      await send(encodeMessage({ kind: 'evalResult', evalId: msg.evalId, samples: msg.count + 1, lossSum: r.lossSum, metricSums: r.metricSums }));
      await send(encodeMessage({ kind: 'evalResult', evalId: msg.evalId, samples: msg.count, lossSum: r.lossSum, metricSums: r.metricSums }));
      evaluations += 1;
    }
  }
  dealer.close();
  return { codes, evaluations };
}

describe('bad messages on the wire', () => {
  it('are each rejected with a typed error while training completes with untouched results', async () => {
    let rogueDone: Promise<{ codes: string[]; evaluations: number }> | undefined;
    const result = await runCoordinator({
      bind: 'tcp://127.0.0.1:*', workers: 2, job: JOB, backend: 'cpu', metricsHost: '127.0.0.1', metricsPort: 0,
      heartbeatIntervalMs: 500, heartbeatTimeoutMs: 10_000, joinTimeoutMs: 60_000, quiet: true,
      onListening: ({ endpoint }) => {
        procs.push(startCli(['worker', '--connect', endpoint, '--backend', 'cpu', '--metrics-port', '0', '--quiet']));
        rogueDone = rogue(endpoint);
      },
    });
    const { codes, evaluations } = await rogueDone!;
    expect(evaluations).toBeGreaterThan(0);
    const count = (c: string) => codes.filter((x) => x === c).length;
    expect(count('FLEET_ERR_PROTOCOL_DECODE')).toBe(1);
    expect(count('FLEET_ERR_PROTOCOL_VERSION')).toBe(1);
    expect(count('FLEET_ERR_UNKNOWN_PEER')).toBe(1);
    // transposed, wrong count, missing tensor, counts short of the frames
    expect(count('FLEET_ERR_TENSOR_SHAPE')).toBe(4 * 20);
    expect(count('FLEET_ERR_TENSOR_DTYPE')).toBe(20); // an int32 tensor in the float32 gradients group
    expect(count('FLEET_ERR_PROTOCOL_SCHEMA')).toBe(20); // a weights group in gradients
    expect(count('FLEET_ERR_NONFINITE')).toBe(20);
    expect(count('FLEET_ERR_STALE_ROUND')).toBe(2 * 20); // future round id, duplicate
    expect(count('FLEET_ERR_UNEXPECTED_MESSAGE')).toBe(1 + evaluations); // the second ready, each evalResult one row over
    const clean = await runTestCluster('dense-sgd.ts', 2);
    expect(maxRelativeDiff(result.model, clean.model)).toBeLessThan(1e-6);
    expect(result.history.history['val_loss']?.[0]).toBeCloseTo(clean.history.history['val_loss']?.[0] as number, 5);
  });
});

describe('a worker that only ever sends invalid gradients', () => {
  it('is evicted after the heartbeat timeout instead of stalling the round, and its share is redone', async () => {
    const job = await loadJob(JOB);
    let rogueDone: Promise<void> | undefined;
    const logs: string[] = [];
    const result = await runCoordinator({
      bind: 'tcp://127.0.0.1:*', workers: 2, job: JOB, backend: 'cpu', metricsHost: '127.0.0.1', metricsPort: 0,
      heartbeatIntervalMs: 200, heartbeatTimeoutMs: 2000, joinTimeoutMs: 60_000, quiet: true,
      onListening: ({ endpoint }) => {
        procs.push(startCli(['worker', '--connect', endpoint, '--backend', 'cpu', '--metrics-port', '0', '--quiet']));
        rogueDone = (async () => {
          const dealer = new zmq.Dealer({ linger: 0 });
          dealer.connect(endpoint);
          await dealer.send(encodeMessage({ kind: 'hello', pid: process.pid, host: 'broken', backend: 'cpu' }));
          // Alive (heartbeats) but useless: every gradient it sends has the wrong shape.
          const beat = setInterval(() => void dealer.send(encodeMessage({ kind: 'heartbeat', sentAtMs: Date.now() })).catch(() => {}), 200);
          for await (const frames of dealer) {
            const msg = decodeMessage(frames);
            if (msg.kind === 'welcome') await dealer.send(encodeMessage({ kind: 'ready', numTensors: 0 }));
            if (msg.kind === 'error') logs.push(msg.code);
            if (msg.kind === 'round') {
              const n = msg.groups.indices[0].data.length;
              const header = {
                kind: 'gradients' as const, roundId: msg.roundId, samples: n, lossSum: 1, metricSums: [0],
                computeSeconds: 0, numTensors: 0,
              };
              await dealer.send(encodeMessage({ ...header, groups: { gradients: msg.groups.weights.slice(0, 1) } }));
            }
            if (msg.kind === 'done' || logs.includes('FLEET_ERR_UNKNOWN_PEER')) break;
          }
          clearInterval(beat);
          dealer.close();
        })();
      },
    });
    await rogueDone;
    expect(logs[0]).toBe('FLEET_ERR_TENSOR_SHAPE');
    expect(logs).toContain('FLEET_ERR_UNKNOWN_PEER'); // evicted: its heartbeats are no longer accepted
    const clean = await runTestCluster('dense-sgd.ts', 2);
    expect(maxRelativeDiff(result.model, clean.model)).toBeLessThan(1e-5);
    expect(job.fit.epochs).toBe(1);
  });
});
