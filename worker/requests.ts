/**
 * Answering the coordinator's requests within a session: a training round (this worker's shard of the
 * global batch: gradients, loss and BatchNormalization state) and an evaluation or prediction over a
 * range of a split. Both first take the weights the message's `weights` group carries, if any.
 */
import * as tf from '@tensorflow/tfjs';
import { customGradientStep } from '../shared/model/custom-step.ts';
import type { SplitView } from '../shared/model/data/dataset.ts';
import { FleetError, isFleetError } from '../shared/runtime/errors.ts';
import type { FleetMetrics } from '../shared/runtime/metrics.ts';
import { firstNonFinite, type MessageOf, type Outbound, type WireTensor } from '../shared/wire/protocol.ts';
import { evaluateBatch, gradientStep } from '../shared/model/step.ts';
import { synchronizedStep } from '../shared/model/sync-bn/step.ts';
import { gradientsToWire, readState, readWeights, writeState, writeWeightsGroup } from '../shared/wire/weights.ts';
import { readOptimizerState, writeOptimizerState } from '../shared/model/keras/optimizer-state.ts';
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import type { PeerMesh } from './exchange/mesh.ts';
import type { ExchangeRouter } from './exchange/rounds.ts';
import { applyStep, exchangeStep, flatten, membershipOf } from './exchange/step.ts';
import type { ReduceClient } from './reduce-client.ts';
import type { Session } from './session.ts';

/** Rows per evaluation chunk: bounds memory while keeping kernels busy. */
const EVAL_CHUNK = 1024;

/** Sends one message to the coordinator. */
export type Send = (msg: Outbound) => Promise<void>;

/** What the requests of one worker share: its link to the coordinator and its links to its peers. */
export interface WorkerLinks {
  readonly send: Send;
  readonly metrics: FleetMetrics;
  readonly reducer: ReduceClient;
  readonly mesh: PeerMesh;
  readonly exchange: ExchangeRouter;
}

/** Answers one request (a round, a commit, a pull or an evaluation); throws a FleetError for one it cannot answer. */
export async function handle(
  msg: MessageOf<'round' | 'evaluate' | 'commit' | 'pull'>,
  s: Session | undefined,
  links: WorkerLinks,
): Promise<void> {
  if (!s)
    throw new FleetError(
      'FLEET_ERR_UNEXPECTED_MESSAGE',
      `Expected "welcome" before "${msg.kind}". Received: "${msg.kind}" first`,
    );
  switch (msg.kind) {
    case 'round':
      return onRound(msg, s, links);
    case 'commit':
      return onCommit(msg, s);
    case 'pull':
      return onPull(msg, s, links.send);
    case 'evaluate':
      return onEvaluate(msg, s, links.send);
  }
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
function rowsOf(indices: WireTensor, view: SplitView): Int32Array {
  const idx = indices.data;
  const abs = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i] as number;
    if (v < 0 || v >= view.count)
      throw new FleetError('FLEET_ERR_TENSOR_SHAPE', `Expected indices in [0, ${view.count}). Received: ${v}`);
    abs[i] = view.offset + v;
  }
  return abs;
}

async function onRound(msg: MessageOf<'round'>, s: Session, links: WorkerLinks): Promise<void> {
  const { send, metrics, reducer } = links;
  s.pending = undefined;
  // A straggler's queue may hold rounds the coordinator has already redone without it: compute the newest only.
  if (links.exchange.isSuperseded(msg.roundId)) return;
  // Dial the members first: their contributions may already be on the way.
  if (links.mesh.current?.session !== msg.exchange.session) links.mesh.setMembership(membershipOf(msg.exchange));
  takeWeights(s, msg);
  if (msg.optimizerIterations !== undefined) {
    await writeOptimizerState(s.model, s.optimizer, {
      iterations: msg.optimizerIterations,
      slots: [...msg.groups.optimizer],
    });
  }
  const indices = rowsOf(msg.groups.indices[0], s.splits.train);
  const started = performance.now();
  const n = indices.length;
  // The statistics as they were: a training pass moves them, and only a committed step may.
  const before = readState(s.model);
  const batch = await takeBatch(s, indices, msg.epoch);
  // The pool's threads gather the next batch while this one computes.
  const next = msg.groups.next[0];
  if (next) {
    const rows = rowsOf(next, s.splits.train);
    const pending = s.pool.gather('train', rows, s.augment ? msg.epoch : undefined);
    pending.catch(() => {}); // a failed prefetch is gathered again when its round comes
    s.prefetched = { rows, epoch: msg.epoch, batch: pending };
  }
  const view = s.splits.train.data;
  const x = tf.tensor(batch.x, [n, ...view.xShape.slice(1)]);
  const y = tf.tensor(batch.y, [n, ...view.yShape.slice(1)]);
  const compute = () =>
    s.trainStep
      ? customGradientStep(s.model, s.trainStep, s.metrics, x, y)
      : gradientStep(s.model, s.loss, s.metrics, x, y);
  let step;
  try {
    step = s.syncBatchNorm
      ? await synchronizedStep(n, reducer.forRound(msg.roundId), compute, (r) => tf.dispose(r.grads))
      : compute();
  } finally {
    tf.dispose([x, y]);
  }
  const grads = gradientsToWire(s.model, step.grads);
  tf.dispose(step.grads);
  const after = readState(s.model);
  writeState(
    s.model,
    before.map((t) => t.data as Float32Array),
  );
  const bad = !Number.isFinite(step.loss) ? 'the loss' : grads.find((g) => firstNonFinite(g.data) >= 0)?.name;
  if (bad !== undefined) {
    // Never exchange non-finite gradients: say so, so the coordinator fails the round rather than waiting.
    const message = `Expected finite values; ${bad} is not finite (loss ${step.loss}) in round ${msg.roundId}`;
    await send({ kind: 'error', code: 'FLEET_ERR_NONFINITE', message, inReplyTo: 'round', replyId: msg.roundId });
    return;
  }
  const flat = flatten([...grads.map((g) => g.data), ...after.map((t) => t.data)]);
  const { loss, metricSums } = step;
  const computeSeconds = (performance.now() - started) / 1000;
  // Tells the coordinator this worker is not the straggler, should the round miss its deadline.
  await send({ kind: 'computed', roundId: msg.roundId });
  let averaged: Float32Array;
  try {
    averaged = await exchangeStep(links.exchange, msg, flat);
  } catch (err) {
    // The coordinator dropped this step (a member was lost) and sent a newer one: nothing to answer.
    if (isFleetError(err) && err.details['messageId'] === 'EXCHANGE_SUPERSEDED') return;
    throw err;
  }
  s.pending = { roundId: msg.roundId, averaged, learningRate: msg.learningRate };
  metrics.roundDuration.observe({ phase: 'compute' }, computeSeconds);
  metrics.samplesTotal.inc(n);
  metrics.samplesPerSecond.set(n / computeSeconds);
  metrics.loss.set({ scope: 'round', split: 'train' }, loss);
  await send({
    kind: 'stepped',
    roundId: msg.roundId,
    samples: n,
    lossSum: loss * n,
    metricSums,
    computeSeconds,
    numTensors: tf.memory().numTensors,
    exchangeBytes: links.mesh.takeBytes(msg.roundId),
  });
}

/** The rows' batch: the prefetched one when it is for the same rows and epoch, else gathered now. */
async function takeBatch(s: Session, rows: Int32Array, epoch: number): Promise<{ x: Float32Array; y: Float32Array }> {
  const p = s.prefetched;
  s.prefetched = undefined;
  const same = p && p.epoch === epoch && p.rows.length === rows.length && p.rows.every((v, i) => v === rows[i]);
  if (p && same) {
    try {
      return await p.batch;
    } catch {
      // gathered again below
    }
  }
  return s.pool.gather('train', rows, s.augment ? epoch : undefined);
}

/** Applies the step the coordinator commits: the one this worker exchanged last. */
async function onCommit(msg: MessageOf<'commit'>, s: Session): Promise<void> {
  const p = s.pending;
  if (!p || p.roundId !== msg.roundId)
    throw fleetError('COMMIT_NOT_PENDING', { roundId: msg.roundId, pending: p?.roundId ?? 'none' });
  s.pending = undefined;
  applyStep(s.model, s.optimizer, p.averaged, p.learningRate);
  s.weightsVersion = msg.weightsVersion;
}

/** Sends this worker's weights and optimizer state back to the coordinator. */
async function onPull(msg: MessageOf<'pull'>, s: Session, send: Send): Promise<void> {
  const state = await readOptimizerState(s.model, s.optimizer);
  await send({
    kind: 'pulled',
    pullId: msg.pullId,
    weightsVersion: s.weightsVersion,
    optimizerIterations: state.iterations,
    groups: { weights: readWeights(s.model), optimizer: [...state.slots] },
  });
}

async function onEvaluate(msg: MessageOf<'evaluate'>, s: Session, send: Send): Promise<void> {
  takeWeights(s, msg);
  const view = s.splits[msg.split];
  if (!view || msg.start + msg.count > view.count) {
    throw new FleetError(
      'FLEET_ERR_UNEXPECTED_MESSAGE',
      `Expected rows within split "${msg.split}" (${view?.count ?? 0} rows). Received: [${msg.start}, ${msg.start + msg.count})`,
    );
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
    for (const p of preds) {
      all.set(p, o);
      o += p.length;
    }
    predictions.push({ name: 'predictions', dtype: 'float32', shape: [msg.count, ...outShape], data: all });
  }
  const { evalId, count: samples } = msg;
  await send({ kind: 'evalResult', evalId, samples, lossSum, metricSums, groups: { predictions } });
}
