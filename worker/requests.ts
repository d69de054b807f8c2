/**
 * Answering the coordinator's requests within a session: a training round (this worker's shard of the
 * global batch: gradients, loss and BatchNormalization state) and an evaluation or prediction over a
 * range of a split. Both first take the weights the message's `weights` group carries, if any.
 */
import * as tf from '@tensorflow/tfjs';
import { customGradientStep } from '../shared/model/custom-step.ts';
import type { DataView_ } from '../shared/model/data/dataset.ts';
import { FleetError } from '../shared/runtime/errors.ts';
import type { FleetMetrics } from '../shared/runtime/metrics.ts';
import { firstNonFinite, type MessageOf, type Outbound, type WireTensor } from '../shared/wire/protocol.ts';
import { evaluateBatch, gradientStep } from '../shared/model/step.ts';
import { synchronizedStep } from '../shared/model/sync-bn/step.ts';
import { gradientsToWire, readState, writeWeightsGroup } from '../shared/wire/weights.ts';
import type { ReduceClient } from './reduce-client.ts';
import type { Session } from './session.ts';

/** Rows per evaluation chunk: bounds memory while keeping kernels busy. */
const EVAL_CHUNK = 1024;

/** Sends one message to the coordinator. */
export type Send = (msg: Outbound) => Promise<void>;

/** Answers one compute request (a round or an evaluation); throws a FleetError for one it cannot answer. */
export async function handle(
  msg: MessageOf<'round' | 'evaluate'>,
  s: Session | undefined,
  send: Send,
  metrics: FleetMetrics,
  reducer: ReduceClient,
): Promise<void> {
  if (!s) throw new FleetError('FLEET_ERR_UNEXPECTED_MESSAGE', `Expected "welcome" before "${msg.kind}". Received: "${msg.kind}" first`);
  return msg.kind === 'round' ? onRound(msg, s, send, metrics, reducer) : onEvaluate(msg, s, send);
}

/** Takes the weights a round/evaluate message carries (all, or those at weightIndices), if any. */
function takeWeights(s: Session, msg: MessageOf<'round' | 'evaluate'>): void {
  if (msg.groups.weights.length > 0) {
    writeWeightsGroup(s.model, msg.groups.weights, msg.weightIndices);
    s.weightsVersion = msg.weightsVersion;
  } else if (s.weightsVersion !== msg.weightsVersion) {
    const want = `Expected weights for version ${msg.weightsVersion} (this worker has ${s.weightsVersion})`;
    throw new FleetError('FLEET_ERR_UNEXPECTED_MESSAGE', `${want}. Received: a message without weights`);
  }
}

/** The rows a round's `indices` group names, in the split's source; decodeMessage checked dtype and rank. */
function rowsOf(indices: WireTensor, view: DataView_): Int32Array {
  const idx = indices.data;
  const abs = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i] as number;
    if (v < 0 || v >= view.count) throw new FleetError('FLEET_ERR_TENSOR_SHAPE', `Expected indices in [0, ${view.count}). Received: ${v}`);
    abs[i] = view.offset + v;
  }
  return abs;
}

async function onRound(msg: MessageOf<'round'>, s: Session, send: Send, metrics: FleetMetrics, reducer: ReduceClient): Promise<void> {
  takeWeights(s, msg);
  const indices = rowsOf(msg.groups.indices[0], s.splits.train);
  const started = performance.now();
  const batch = await s.pool.gather('train', indices, s.augment ? msg.epoch : undefined);
  const n = indices.length;
  const view = s.splits.train.data;
  const x = tf.tensor(batch.x, [n, ...view.xShape.slice(1)]);
  const y = tf.tensor(batch.y, [n, ...view.yShape.slice(1)]);
  const compute = () => (s.trainStep ? customGradientStep(s.model, s.trainStep, s.metrics, x, y) : gradientStep(s.model, s.loss, s.metrics, x, y));
  let step;
  try {
    step = s.syncBatchNorm ? await synchronizedStep(n, reducer.forRound(msg.roundId), compute, (r) => tf.dispose(r.grads)) : compute();
  } finally {
    tf.dispose([x, y]);
  }
  const grads = gradientsToWire(s.model, step.grads);
  const bad = !Number.isFinite(step.loss) ? 'the loss' : grads.find((g) => firstNonFinite(g.data) >= 0)?.name;
  if (bad !== undefined) {
    // Never send non-finite gradients: say so, so the coordinator fails the round rather than waiting.
    await send({ kind: 'error', code: 'FLEET_ERR_NONFINITE', message: `Expected finite values; ${bad} is not finite (loss ${step.loss}) in round ${msg.roundId}`, inReplyTo: 'round', replyId: msg.roundId });
    return;
  }
  const state = readState(s.model);
  const computeSeconds = (performance.now() - started) / 1000;
  metrics.roundDuration.observe({ phase: 'compute' }, computeSeconds);
  metrics.samplesTotal.inc(n);
  metrics.samplesPerSecond.set(n / computeSeconds);
  metrics.loss.set({ scope: 'round', split: 'train' }, step.loss);
  await send({
    kind: 'gradients', roundId: msg.roundId, samples: n, lossSum: step.loss * n, metricSums: step.metricSums,
    computeSeconds, numTensors: tf.memory().numTensors, groups: { gradients: grads, state },
  });
}

async function onEvaluate(msg: MessageOf<'evaluate'>, s: Session, send: Send): Promise<void> {
  takeWeights(s, msg);
  const view = s.splits[msg.split];
  if (!view || msg.start + msg.count > view.count) {
    throw new FleetError('FLEET_ERR_UNEXPECTED_MESSAGE', `Expected rows within split "${msg.split}" (${view?.count ?? 0} rows). Received: [${msg.start}, ${msg.start + msg.count})`);
  }
  let lossSum = 0;
  let metricSums = s.metrics.map(() => 0);
  const preds: Float32Array[] = [];
  let outShape: number[] = [];
  for (let at = msg.start; at < msg.start + msg.count; at += EVAL_CHUNK) {
    const n = Math.min(EVAL_CHUNK, msg.start + msg.count - at);
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = view.offset + at + i;
    const batch = await s.pool.gather(view.source, idx);
    const x = tf.tensor(batch.x, [n, ...view.data.xShape.slice(1)]);
    const y = tf.tensor(batch.y, [n, ...view.data.yShape.slice(1)]);
    if (msg.mode === 'metrics') {
      const r = evaluateBatch(s.model, s.loss, s.metrics, x, y);
      lossSum += r.lossSum;
      metricSums = metricSums.map((v, i) => v + (r.metricSums[i] as number));
    } else {
      const p = tf.tidy(() => s.model.predict(x) as tf.Tensor);
      outShape = p.shape.slice(1);
      preds.push(p.dataSync() as Float32Array);
      p.dispose();
    }
    tf.dispose([x, y]);
  }
  const predictions: WireTensor[] = [];
  if (msg.mode === 'predict') {
    const all = new Float32Array(preds.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of preds) { all.set(p, o); o += p.length; }
    predictions.push({ name: 'predictions', dtype: 'float32', shape: [msg.count, ...outShape], data: all });
  }
  const { evalId, count: samples } = msg;
  await send({ kind: 'evalResult', evalId, samples, lossSum, metricSums, groups: { predictions } });
}
