/**
 * One worker process: connects a DEALER to the coordinator, rebuilds the model from the Keras JSON it
 * is sent, and answers each round with the gradients of its shard. It holds no optimizer state.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import * as zmq from 'zeromq';
import { describeChoice, selectBackend, type BackendRequest } from '../shared/backend/select.ts';
import { resolveSplits, type DataView_, type Splits } from '../shared/data/dataset.ts';
import { FleetError, isFleetError } from '../shared/errors.ts';
import { compiledFunctions, loadJob } from '../shared/job.ts';
import type { SampleFn } from '../shared/keras/losses.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import { createMetrics, serveMetrics, type FleetMetrics } from '../shared/metrics.ts';
import { checkTensors, decodeMessage, encodeMessage, firstNonFinite, type Header, type Message, type MessageOf, type WireTensor } from '../shared/protocol.ts';
import { NO_SECURITY, clientSocketOptions, describeSecurity, watchWorkerHandshakes, type Security } from '../shared/security.ts';
import { evaluateBatch, gradientStep } from '../shared/step.ts';
import { resolveAugmentSpec, type AugmentPipeline } from '../shared/augment/pipeline.ts';
import { customGradientStep, type TrainStep } from '../shared/custom-step.ts';
import '../shared/layers/index.ts'; // registers RandomFlip, RandomRotation, RandomZoom, RandomContrast for the model JSON
import { modelFromKerasJson } from '../shared/model-json.ts';
import { SendQueue, frameBytes } from '../shared/transport.ts';
import { gradientsToWire, readState, subsetSpecs, weightSpecs, writeWeights, writeWeightsAt } from '../shared/weights.ts';
import { prepareBatchNorm, synchronizedStep } from '../shared/sync-bn/step.ts';
import { BatchPool } from './batch-pool.ts';
import { ReduceClient } from './reduce-client.ts';

/** Worker options, parsed and frozen by the CLI. */
export interface WorkerOptions {
  readonly connect: string;
  readonly backend: BackendRequest;
  readonly metricsHost: string;
  /** Port of this worker's /metrics; 0 picks a free one. */
  readonly metricsPort: number;
  /** Give up when the coordinator has been silent this long, in milliseconds. */
  readonly coordinatorTimeoutMs: number;
  readonly quiet: boolean;
  /** CURVE keys, join token and frame cap (shared/security.ts); unset: NO_SECURITY. */
  readonly security?: Security;
}

/** Rows per evaluation chunk: bounds memory while keeping kernels busy. */
const EVAL_CHUNK = 1024;

interface Session {
  readonly model: tf.LayersModel;
  readonly loss: SampleFn;
  readonly metrics: SampleFn[];
  readonly splits: Splits;
  readonly pool: BatchPool;
  /** The job's own train step, used instead of the compiled loss. */
  readonly trainStep?: TrainStep;
  /** The job's batch-pipeline augmentation, applied to training batches in the pool threads. */
  readonly augment?: AugmentPipeline;
  /** The job's BatchNormalization layers normalise over the global batch (job.syncBatchNorm). */
  readonly syncBatchNorm: boolean;
  weightsVersion: number;
}

/** Runs a worker until the coordinator says done (exit code 0) or is lost (exit code 1). */
export async function runWorker(opts: WorkerOptions): Promise<number> {
  let log = createLogger(`worker pid ${process.pid}`, opts.quiet);
  const choice = await selectBackend(opts.backend);
  log.info(describeChoice(choice));
  const metrics = createMetrics('worker', choice.taken, () => tf.memory());
  const server = await serveMetrics(metrics.registry, opts.metricsHost, opts.metricsPort);
  log.info(`metrics: http://${opts.metricsHost}:${server.port}/metrics`);

  const security = opts.security ?? NO_SECURITY;
  log.info(describeSecurity(security));
  const dealer = new zmq.Dealer({ linger: 0, ...clientSocketOptions(security) });
  // A coordinator that refuses this worker's key will never change its mind: stop (exit code 1).
  if (security.keys) watchWorkerHandshakes(dealer, security, log, (err) => { log.error(`${err.code}: ${err.message}`); dealer.close(); });
  dealer.connect(opts.connect);
  const out = new SendQueue(dealer, (n) => metrics.bytesSent.inc(n));
  const send = <K extends Message['kind']>(h: Header<K>, t: readonly WireTensor[] = []) => out.send(encodeMessage(h, t));
  let session: Session | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let lastHeard = Date.now();
  let exitCode = 1;
  const reducer = new ReduceClient((h, t) => send(h, t));
  // Requests run one at a time, off the receive loop, so the loop can still take the `reduced` sums a
  // synchronized step waits for.
  let work: Promise<void> = Promise.resolve();
  const watchdog = setInterval(() => {
    if (Date.now() - lastHeard > opts.coordinatorTimeoutMs) {
      log.error(`coordinator at ${opts.connect} silent for ${opts.coordinatorTimeoutMs} ms; giving up`);
      dealer.close();
    }
  }, 250);

  /** A failure on one request (say, labels the loss cannot take) is reported to the coordinator, not fatal. */
  const reportFailure = async (msg: Message | undefined, caught: unknown): Promise<void> => {
    const err = isFleetError(caught) ? caught : new FleetError('FLEET_ERR_COMPUTE', `Failed to compute ${msg?.kind ?? 'a request'}: ${(caught as Error).message}`);
    metrics.rejectedMessages.inc({ code: err.code });
    log.warn(`rejected a message: ${err.code}: ${err.message}`);
    // Name the request this answers, so the coordinator fails it instead of waiting for a reply.
    const replyId = msg?.kind === 'round' ? msg.roundId : msg?.kind === 'evaluate' ? msg.evalId : undefined;
    await send({ kind: 'error', code: err.code, message: err.message, ...(msg && { inReplyTo: msg.kind }), ...(replyId !== undefined && { replyId }) }).catch(() => {});
  };

  const hello = () => send({ kind: 'hello', pid: process.pid, host: os.hostname(), backend: choice.taken, ...(security.joinToken !== undefined && { token: security.joinToken }) });
  await hello();
  // Until welcomed, say hello again every 2 s: the coordinator may not have been admitting yet.
  const joinLoop = setInterval(() => { if (!session && !heartbeat) void hello(); }, 2000);
  try {
    for await (const frames of dealer) {
      lastHeard = Date.now();
      metrics.bytesReceived.inc(frameBytes(frames));
      let msg: Message | undefined;
      try {
        msg = decodeMessage(frames);
        if (msg.kind === 'reduced') {
          reducer.deliver(msg);
          continue;
        }
        if (msg.kind === 'error' && msg.inReplyTo === 'reduce' && msg.replyId !== undefined) {
          reducer.refused(msg.replyId, new FleetError('FLEET_ERR_REMOTE', `the coordinator refused a reduce of round ${msg.replyId}: ${msg.code}: ${msg.message}`));
          continue;
        }
        if (msg.kind === 'round' || msg.kind === 'evaluate') {
          reducer.supersede(msg.kind === 'round' ? msg.roundId : undefined);
          const request = msg;
          const current = session;
          work = work.then(() => handle(request, current, send, metrics, log, reducer).catch((caught: unknown) => reportFailure(request, caught)));
          continue;
        }
        if (msg.kind === 'done') {
          reducer.supersede();
          log.info(`coordinator says done: ${msg.reason}`);
          exitCode = msg.ok ? 0 : 1;
          break;
        }
        if (msg.kind === 'error' && msg.code === 'FLEET_ERR_AUTH') {
          // A wrong or missing join token: saying hello again will not help.
          log.error(`the coordinator refused this worker: ${msg.code}: ${msg.message}`);
          break;
        }
        if (msg.kind === 'error' && msg.code === 'FLEET_ERR_UNKNOWN_PEER') {
          // The coordinator does not know us: it restarted (e.g. --resume after a crash). Start over.
          log.warn('the coordinator does not know this worker (restarted?); joining again');
          if (heartbeat) clearInterval(heartbeat);
          heartbeat = undefined;
          reducer.reset();
          await session?.pool.close();
          session = undefined;
          await hello();
          continue;
        }
        if (msg.kind === 'welcome') {
          reducer.reset();
          log = createLogger(`worker ${msg.rank}`, opts.quiet);
          heartbeat = setInterval(() => void send({ kind: 'heartbeat', sentAtMs: Date.now() }), msg.heartbeatIntervalMs);
          try {
            session = await startSession(msg, log);
          } catch (err) {
            // Setup failures (job file, data, model) will not go away: tell the coordinator and stop.
            const e = isFleetError(err) ? err : new FleetError('FLEET_ERR_JOB_LOAD', `Worker setup failed: ${(err as Error).message}`);
            log.error(`${e.code}: ${e.message}`);
            await send({ kind: 'error', code: e.code, message: e.message, inReplyTo: 'welcome' });
            break;
          }
          await send({ kind: 'ready', numTensors: tf.memory().numTensors });
          continue;
        }
        await handle(msg, session, send, metrics, log, reducer);
      } catch (caught) {
        if (!isFleetError(caught)) throw caught;
        await reportFailure(msg, caught);
      }
    }
  } finally {
    reducer.supersede();
    await work;
    clearInterval(watchdog);
    clearInterval(joinLoop);
    if (heartbeat) clearInterval(heartbeat);
    out.close();
    dealer.close();
    await session?.pool.close();
    await server.close();
  }
  return exitCode;
}

async function startSession(msg: MessageOf<'welcome'>, log: Logger): Promise<Session> {
  log.info(`joined as rank ${msg.rank}; loading job ${msg.jobPath}`);
  const job = await loadJob(msg.jobPath, msg.jobArgs); // registers the job's custom layers in this process
  const splits = resolveSplits(await job.data(), job.fit.validationSplit);
  const model = await modelFromKerasJson(JSON.parse(msg.modelConfig));
  const synchronized = prepareBatchNorm(model, { synchronized: job.syncBatchNorm === true });
  if (job.syncBatchNorm) log.info(`syncBatchNorm: ${synchronized} BatchNormalization layer(s) normalise over the global batch`);
  const augment = job.augment && resolveAugmentSpec(job.augment, splits.train.data.xShape);
  const specs = weightSpecs(model);
  checkTensors(msg.tensors, specs, { finite: true });
  writeWeights(model, msg.tensors);
  const sources: Record<string, DataView_['data']> = { train: splits.train.data };
  if (splits.validation) sources['validation'] = splits.validation.data;
  if (splits.test) sources['test'] = splits.test.data;
  return {
    model,
    ...compiledFunctions(job.compile),
    splits,
    pool: new BatchPool(sources, 1, augment),
    ...(job.trainStep && { trainStep: job.trainStep }),
    ...(augment && { augment }),
    syncBatchNorm: synchronized > 0,
    weightsVersion: 0, // the welcome carried version 0
  };
}

type Send = <K extends Message['kind']>(h: Header<K>, t?: readonly WireTensor[]) => Promise<void>;

async function handle(msg: Message, s: Session | undefined, send: Send, metrics: FleetMetrics, log: Logger, reducer: ReduceClient): Promise<void> {
  switch (msg.kind) {
    case 'round':
    case 'evaluate':
      if (!s) throw new FleetError('FLEET_ERR_UNEXPECTED_MESSAGE', `Expected "welcome" before "${msg.kind}". Received: "${msg.kind}" first`);
      return msg.kind === 'round' ? onRound(msg, s, send, metrics, reducer) : onEvaluate(msg, s, send);
    case 'heartbeat':
      return;
    case 'error':
      log.warn(`coordinator reported ${msg.code}: ${msg.message}`);
      return;
    case 'hello':
    case 'ready':
    case 'gradients':
    case 'evalResult':
    case 'reduce':
    case 'reduced':
    case 'welcome':
    case 'done':
      throw new FleetError('FLEET_ERR_UNEXPECTED_MESSAGE', `Expected round, evaluate, heartbeat or done from the coordinator. Received: "${msg.kind}"`);
    default: {
      const never: never = msg;
      throw new FleetError('FLEET_ERR_PROTOCOL_SCHEMA', `Unhandled kind ${String(never)}`);
    }
  }
}

/** Applies the weights carried at the front of a round/evaluate message (all, or those at `indices`), if any. */
function takeWeights(s: Session, tensors: readonly WireTensor[], weightCount: number, version: number, indices?: readonly number[]): WireTensor[] {
  if (weightCount > 0) {
    const weights = tensors.slice(0, weightCount);
    const specs = weightSpecs(s.model);
    if (indices) {
      checkTensors(weights, subsetSpecs(specs, indices, weightCount), { finite: true });
      writeWeightsAt(s.model, indices, weights);
    } else {
      checkTensors(weights, specs, { finite: true });
      writeWeights(s.model, weights);
    }
    s.weightsVersion = version;
  } else if (s.weightsVersion !== version) {
    throw new FleetError('FLEET_ERR_UNEXPECTED_MESSAGE', `Expected weights for version ${version} (this worker has ${s.weightsVersion}). Received: a message without weights`);
  }
  return tensors.slice(weightCount);
}

function indicesOf(rest: readonly WireTensor[], view: DataView_): Int32Array {
  const t = rest[0];
  if (!t || t.dtype !== 'int32' || t.shape.length !== 1) throw new FleetError('FLEET_ERR_TENSOR_SHAPE', `Expected one int32 index vector after the weights. Received: ${t ? `${t.dtype} [${t.shape}]` : 'none'}`);
  const idx = t.data as Int32Array;
  const abs = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i] as number;
    if (v < 0 || v >= view.count) throw new FleetError('FLEET_ERR_TENSOR_SHAPE', `Expected indices in [0, ${view.count}). Received: ${v}`);
    abs[i] = view.offset + v;
  }
  return abs;
}

async function onRound(msg: MessageOf<'round'>, s: Session, send: Send, metrics: FleetMetrics, reducer: ReduceClient): Promise<void> {
  const rest = takeWeights(s, msg.tensors, msg.weightCount, msg.weightsVersion, msg.weightIndices);
  const indices = indicesOf(rest, s.splits.train);
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
  await send(
    { kind: 'gradients', roundId: msg.roundId, samples: n, lossSum: step.loss * n, metricSums: step.metricSums, computeSeconds, numTensors: tf.memory().numTensors },
    [...grads, ...state],
  );
}

async function onEvaluate(msg: MessageOf<'evaluate'>, s: Session, send: Send): Promise<void> {
  takeWeights(s, msg.tensors, msg.weightCount, msg.weightsVersion, msg.weightIndices);
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
  const tensors: WireTensor[] = [];
  if (msg.mode === 'predict') {
    const all = new Float32Array(preds.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of preds) { all.set(p, o); o += p.length; }
    tensors.push({ name: 'predictions', dtype: 'float32', shape: [msg.count, ...outShape], data: all });
  }
  await send({ kind: 'evalResult', evalId: msg.evalId, samples: msg.count, lossSum, metricSums }, tensors);
}
