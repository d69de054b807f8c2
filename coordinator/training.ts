/**
 * The synchronous data-parallel fit loop, split into named steps: shard a round, collect gradients,
 * average them, apply the optimizer (whose state lives only here), and evaluate at epoch end.
 */
import * as tf from '@tensorflow/tfjs';
import { CallbackList, type Logs, type TrainingControl } from '../shared/model/callbacks.ts';
import type { Logger } from '../shared/runtime/log.ts';
import { restoreCheckpoint, writeCheckpoint, type Checkpoint, type TrainerState } from './checkpoint.ts';
import { getLearningRate, setLearningRate } from './callbacks/learning-rate.ts';
import type { Splits } from '../shared/model/data/dataset.ts';
import { FleetError, isFleetError } from '../shared/runtime/errors.ts';
import type { FitSpec } from '../shared/model/job.ts';
import type { FleetMetrics } from '../shared/runtime/metrics.ts';
import type { WireTensor } from '../shared/wire/protocol.ts';
import { epochPermutation, identityOrder } from '../shared/runtime/rng.ts';
import { trainableVariables } from '../shared/model/step.ts';
import { gradientSpecs, readWeights, stateSpecs, writeState } from '../shared/wire/weights.ts';
import { WeightBroadcast } from './broadcast.ts';
import { weightedAverage } from './aggregate.ts';
import type { Hub } from './hub.ts';
import { gatherGradients, type Accepted } from './round.ts';
import type { Peer } from './peers.ts';
import type { ProgressSink } from './progress.ts';
import { EpochMetrics } from './callbacks/epoch-metrics.ts';
import { History as HistoryCallback } from './callbacks/history.ts';
import { HistoryFile } from './callbacks/history-file.ts';
import { ProgbarLogger } from './callbacks/progbar-logger.ts';
import { shardRange } from './shard.ts';

/** Keras's History: per-epoch logs under their Keras keys (loss, accuracy, val_loss, ...). */
export interface History {
  epoch: number[];
  history: Record<string, number[]>;
}

/** Seconds spent per phase over a fit, for the benchmark's breakdown. */
export interface PhaseTimes {
  rounds: number;
  /** Wall time of all rounds, end to end. */
  total: number;
  /** Slowest worker's step, per round. */
  compute: number;
  /** Reading weights out of the backend and framing them. */
  encode: number;
  /** Round trip minus the slowest worker's compute: the network and (de)serialisation. */
  transfer: number;
  /** Weighted averaging of gradients. */
  aggregate: number;
  /** Optimizer update on the coordinator. */
  apply: number;
}

/** Everything the loop needs; the hub is already holding the participating workers. */
export interface TrainerContext {
  readonly hub: Hub;
  readonly model: tf.LayersModel;
  readonly optimizer: tf.Optimizer;
  readonly splits: Splits;
  readonly fit: FitSpec;
  /** Metric names as the user wrote them: the History keys. */
  readonly metricNames: readonly string[];
  readonly metrics: FleetMetrics;
  readonly sink?: ProgressSink;
  /** Keras callbacks, dispatched in order; the trainer adds ProgbarLogger before them, History after. */
  readonly callbacks?: CallbackList;
  /** Fewest healthy workers to train with, and how long (ms) to wait for more when below it. */
  readonly membership?: { readonly minWorkers: number; readonly waitMs: number };
  /** Where and how often (every N rounds, and at every epoch end) to checkpoint; absent: never. */
  readonly checkpoint?: { readonly dir: string; readonly everyRounds: number };
  /** A checkpoint to continue from. */
  readonly resume?: Checkpoint;
  /** Per-round deadline in ms (0: none): late workers' shares move to the faster workers. */
  readonly roundDeadlineMs?: number;
  readonly log?: Logger;
  /** Where to rewrite the History as JSON after each epoch (history.json); absent: nowhere. */
  readonly historyFile?: string;
}

/** Runs the synchronous fit loop; state that must survive between steps lives on the instance. */
export class Trainer {
  /** The History callback: its record is what fit returns and history.json holds. */
  readonly history = new HistoryCallback();
  readonly times: PhaseTimes = { rounds: 0, total: 0, compute: 0, encode: 0, transfer: 0, aggregate: 0, apply: 0 };
  private roundId = 0;
  private evalId = 0;
  private weightsVersion = 0;
  private readonly gradSpecs;
  private readonly variables: tf.Variable[];
  private readonly broadcast: WeightBroadcast;
  /** The progress bar's view of the epoch beyond the batch logs: updated before each onTrainBatchEnd. */
  private readonly soFar: { batchSize: number; logs: Logs } = { batchSize: 0, logs: {} };

  constructor(private readonly ctx: TrainerContext) {
    this.gradSpecs = [...gradientSpecs(ctx.model), ...stateSpecs(ctx.model)];
    this.variables = trainableVariables(ctx.model);
    this.broadcast = new WeightBroadcast(ctx.model);
    this.control = { model: ctx.model, optimizer: ctx.optimizer, stopTraining: false, params: { epochs: ctx.fit.epochs, steps: 0, batchSize: ctx.fit.batchSize, verbose: ctx.fit.verbose ?? 1 } };
  }

  /** The control object callbacks see (model, optimizer, stopTraining). */
  readonly control: TrainingControl;

  /** Trains from fit.initialEpoch to fit.epochs and returns the History. */
  async fit(): Promise<History> {
    const { fit, splits } = this.ctx;
    const callbacks = this.callbackList();
    const steps = Math.ceil(splits.train.count / fit.batchSize);
    Object.assign(this.control.params, { epochs: fit.epochs, steps, batchSize: fit.batchSize, verbose: fit.verbose ?? 1 });
    callbacks.setControl(this.control);
    const start = await this.restore(callbacks);
    await callbacks.call('onTrainBegin', {});
    let last: Logs = {};
    for (let epoch = start?.epoch ?? fit.initialEpoch ?? 0; epoch < fit.epochs && !this.control.stopTraining; epoch++) {
      await callbacks.call('onEpochBegin', epoch, {});
      const trained = await this.trainEpoch(epoch, steps, callbacks, epoch === start?.epoch ? start : undefined);
      const logs = trained.logs;
      if (splits.validation && trained.complete) {
        await callbacks.call('onTestBegin', {});
        const val = await this.evaluate('validation', 'val_');
        await callbacks.call('onTestEnd', val);
        Object.assign(logs, val);
      }
      await callbacks.call('onEpochEnd', epoch, logs);
      last = logs;
      if (trained.complete) await this.saveCheckpoint(callbacks, epoch + 1, 0, { lossSum: 0, metricSums: this.ctx.metricNames.map(() => 0), seen: 0 });
    }
    await callbacks.call('onTrainEnd', last);
    return this.history;
  }

  /**
   * The user's callbacks with the built-ins around them, as Keras's CallbackList(add_history=True,
   * add_progbar=verbose != 0) builds them: the progress bar first; History, the epoch gauges and
   * history.json last, so they see the keys the user's callbacks add to the epoch logs.
   */
  private callbackList(): CallbackList {
    const { fit, sink, metrics, historyFile } = this.ctx;
    const first = (fit.verbose ?? 1) !== 0 ? [new ProgbarLogger(this.soFar, sink)] : [];
    const file = historyFile ? [new HistoryFile(historyFile, this.history)] : [];
    const last = [this.history, new EpochMetrics(metrics), ...file];
    return (this.ctx.callbacks ?? new CallbackList([])).withBuiltIns({ first, last });
  }

  /** Restores a checkpoint given in the context; returns where to continue. */
  private async restore(callbacks: CallbackList): Promise<TrainerState | undefined> {
    const ckpt = this.ctx.resume;
    if (!ckpt) return undefined;
    const t = ckpt.trainer;
    await restoreCheckpoint(ckpt, this.ctx.model, this.ctx.optimizer);
    if (t.learningRate !== undefined) setLearningRate(this.ctx.optimizer, t.learningRate);
    this.history.restore(t.history);
    this.roundId = t.roundId;
    this.evalId = t.evalId;
    this.weightsVersion = t.weightsVersion;
    if (t.sampleUses.length > 0) this.sampleUses.set(t.epoch, Uint8Array.from(t.sampleUses));
    callbacks.setStates(t.callbacks);
    this.ctx.log?.info(`resumed from ${ckpt.path}: epoch ${t.epoch + 1}, step ${t.step + 1}`);
    return t;
  }

  /** Writes a checkpoint of the state after `step` rounds of `epoch`, when checkpointing is on. */
  private async saveCheckpoint(callbacks: CallbackList, epoch: number, step: number, accum: TrainerState['accum']): Promise<void> {
    const cfg = this.ctx.checkpoint;
    if (!cfg) return;
    let learningRate: number | undefined;
    try { learningRate = getLearningRate(this.ctx.optimizer); } catch { learningRate = undefined; }
    const uses = this.sampleUses.get(epoch);
    const state: TrainerState = {
      epoch, step, accum, seed: this.ctx.fit.seed ?? 1337, history: this.history, roundId: this.roundId, evalId: this.evalId,
      weightsVersion: this.weightsVersion, sampleUses: step > 0 && uses ? Array.from(uses) : [], ...(learningRate !== undefined && { learningRate }), callbacks: callbacks.getStates(),
    };
    await writeCheckpoint(cfg.dir, this.ctx.model, this.ctx.optimizer, state);
  }

  /** One epoch of rounds in the seeded order, from `from.step` when resuming; stops early when a callback asks. */
  private async trainEpoch(
    epoch: number, steps: number, callbacks: CallbackList, from?: TrainerState,
  ): Promise<{ logs: Logs; complete: boolean }> {
    const { fit, splits } = this.ctx;
    const order = fit.shuffle === false ? identityOrder(splits.train.count) : epochPermutation(splits.train.count, fit.seed ?? 1337, epoch);
    let lossSum = from?.accum.lossSum ?? 0;
    let metricSums = from?.accum.metricSums ?? this.ctx.metricNames.map(() => 0);
    let seen = from?.accum.seen ?? 0;
    const every = this.ctx.checkpoint?.everyRounds ?? 0;
    for (let step = from?.step ?? 0; step < steps; step++) {
      const batch = order.subarray(step * fit.batchSize, (step + 1) * fit.batchSize);
      await callbacks.call('onTrainBatchBegin', step, {});
      const r = await this.trainRound(epoch, step, batch);
      lossSum += r.lossSum;
      metricSums = metricSums.map((v, i) => v + (r.metricSums[i] ?? 0));
      seen += batch.length;
      const running = this.logs('', lossSum / seen, metricSums.map((m) => m / seen));
      Object.assign(this.soFar, { batchSize: batch.length, logs: running });
      await callbacks.call('onTrainBatchEnd', step, this.logs('', r.lossSum / batch.length, r.metricSums.map((m) => m / batch.length)));
      if (r.failure && !this.control.stopTraining) throw r.failure;
      if (this.control.stopTraining) return { logs: running, complete: false };
      if (every > 0 && (step + 1) % every === 0 && step + 1 < steps) await this.saveCheckpoint(callbacks, epoch, step + 1, { lossSum, metricSums, seen });
    }
    return { logs: this.logs('', lossSum / seen, metricSums.map((m) => m / seen)), complete: true };
  }

  /** Per epoch: how many times each training example was used in an applied round (for audits). */
  readonly sampleUses = new Map<number, Uint8Array>();

  /**
   * Runs `attempt` on the current healthy workers; when one is lost mid-way, it runs again on those
   * that remain (after waiting, if needed, for --min-workers), so a lost worker's share is redone by
   * the others and nothing is applied twice. Only a missing quorum or a failed join ends training.
   */
  private async resilient<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    const { hub, membership, log } = this.ctx;
    for (;;) {
      const min = membership?.minWorkers ?? 1;
      const healthy = hub.peers.inState('HEALTHY').length;
      if (healthy < min) {
        log?.warn(`paused: ${healthy} healthy worker(s), --min-workers ${min}; waiting up to ${Math.round((membership?.waitMs ?? 0) / 1000)} s for workers to join`);
        await hub.waitForHealthy(min, membership?.waitMs ?? 0, `to resume training (--min-workers ${min})`);
        log?.info(`resumed with ${hub.peers.inState('HEALTHY').length} worker(s)`);
      }
      try {
        return await attempt();
      } catch (err) {
        if (!isFleetError(err, 'FLEET_ERR_WORKER_LOST')) throw err;
        log?.warn(`${what}: ${err.message}; redoing it on the ${hub.peers.inState('HEALTHY').length} remaining worker(s)`);
      }
    }
  }

  /**
   * One synchronous round: shard, broadcast weights, collect, average, apply. A round whose gradients
   * are not finite is not applied: it reports a NaN loss and the failure, and the model is unchanged.
   */
  async trainRound(epoch: number, step: number, batch: Int32Array): Promise<{ lossSum: number; metricSums: number[]; failure?: FleetError }> {
    const r = await this.resilient(`epoch ${epoch + 1} step ${step + 1}`, () => this.attemptRound(epoch, step, batch));
    if (!r.failure) {
      let uses = this.sampleUses.get(epoch);
      if (!uses) this.sampleUses.set(epoch, (uses = new Uint8Array(this.ctx.splits.train.count)));
      for (const i of batch) uses[i] = (uses[i] as number) + 1;
    }
    return r;
  }

  private async attemptRound(epoch: number, step: number, batch: Int32Array): Promise<{ lossSum: number; metricSums: number[]; failure?: FleetError }> {
    const { hub, metrics } = this.ctx;
    const t0 = performance.now();
    this.takeWeights();
    const t1 = performance.now();
    let accepted: Accepted[];
    try {
      accepted = await gatherGradients({
        hub, nextId: () => this.roundId++, epoch, step, weightsFor: (peer) => this.broadcast.forPeer(peer), weightsVersion: this.weightsVersion, specs: this.gradSpecs,
        deadlineMs: this.ctx.roundDeadlineMs ?? 0, metrics, ...(this.ctx.log && { log: this.ctx.log }),
      }, batch);
    } catch (err) {
      if (!isFleetError(err, 'FLEET_ERR_NONFINITE')) throw err;
      const failure = new FleetError('FLEET_ERR_NONFINITE', `Training diverged in epoch ${epoch + 1}, step ${step + 1}: ${err.message}. The model was not updated with it; add TerminateOnNaN to stop cleanly.`);
      return { lossSum: NaN, metricSums: this.ctx.metricNames.map(() => NaN), failure };
    }
    const contributions = accepted.map((a) => a.msg);
    const t2 = performance.now();
    // Gradients first, then the BatchNormalization moving statistics, both sample-weighted.
    const averaged = weightedAverage(contributions);
    const t3 = performance.now();
    this.applyGradients(averaged.slice(0, this.variables.length));
    if (averaged.length > this.variables.length) writeState(this.ctx.model, averaged.slice(this.variables.length));
    const t4 = performance.now();
    for (const a of accepted) {
      a.peer.weightsVersion = this.weightsVersion;
      this.broadcast.delivered(a.peer);
      a.peer.tensorCounts.push(a.msg.numTensors);
    }
    this.weightsVersion++;
    const compute = Math.max(...contributions.map((c) => c.computeSeconds));
    this.accountRound(batch.length, { encode: (t1 - t0) / 1000, roundTrip: (t2 - t1) / 1000, compute, aggregate: (t3 - t2) / 1000, apply: (t4 - t3) / 1000 });
    const lossSum = contributions.reduce((a, c) => a + c.lossSum, 0);
    const metricSums = this.ctx.metricNames.map((_, i) => contributions.reduce((a, c) => a + (c.metricSums[i] ?? 0), 0));
    metrics.loss.set({ scope: 'round', split: 'train' }, lossSum / batch.length);
    this.ctx.metricNames.forEach((name, i) => metrics.metric.set({ name, scope: 'round', split: 'train' }, (metricSums[i] as number) / batch.length));
    return { lossSum, metricSums };
  }

  /**
   * Reads the weights the next request sends. Weights written since the last request without a round
   * (EarlyStopping restoring the best epoch's before the test split) get a new version.
   */
  private takeWeights(): void {
    this.weightsVersion = this.broadcast.update(readWeights(this.ctx.model), this.weightsVersion);
  }

  /** Distributed evaluation of a split: rows sharded across workers, sums gathered; keys get `prefix`. */
  async evaluate(split: 'validation' | 'test' | 'train', prefix: string): Promise<Record<string, number>> {
    const r = await this.evaluateSplit(split, 'metrics');
    return this.logs(prefix, r.lossSum / r.samples, r.metricSums.map((m) => m / r.samples));
  }

  /** Distributed predict over a split, gathered back in row order. */
  async predict(split: 'validation' | 'test' | 'train'): Promise<tf.Tensor> {
    const r = await this.evaluateSplit(split, 'predict');
    const parts = r.predictions;
    const first = parts[0] as WireTensor;
    const rows = parts.reduce((n, p) => n + (p.shape[0] as number), 0);
    const all = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
    let at = 0;
    for (const p of parts) { all.set(p.data, at); at += p.data.length; }
    return tf.tensor(all, [rows, ...first.shape.slice(1)]);
  }

  private evaluateSplit(split: 'validation' | 'test' | 'train', mode: 'metrics' | 'predict') {
    return this.resilient(`${mode === 'predict' ? 'predict' : 'evaluate'} ${split}`, () => this.attemptEvaluate(split, mode));
  }

  private async attemptEvaluate(split: 'validation' | 'test' | 'train', mode: 'metrics' | 'predict') {
    const { hub, splits } = this.ctx;
    const view = splits[split];
    if (!view) throw new FleetError('FLEET_ERR_DATA', `Expected a ${split} split to evaluate. Received: none`);
    const evalId = this.evalId++;
    this.takeWeights();
    const workers = hub.peers.inState('HEALTHY');
    const ranges = shardRange(view.count, workers.length);
    const participants = workers.filter((_, i) => (ranges[i] as { count: number }).count > 0);
    const replies = await hub.collect('evalResult', evalId, participants, (peer: Peer) => {
      const range = ranges[workers.indexOf(peer)] as { start: number; count: number };
      const w = peer.weightsVersion !== this.weightsVersion ? this.broadcast.forPeer(peer) : { tensors: [] };
      return hub.send(peer, {
        kind: 'evaluate', evalId, split, start: range.start, count: range.count, weightsVersion: this.weightsVersion,
        ...(w.indices && { weightIndices: w.indices }), mode, groups: { weights: w.tensors },
      });
    }, (peer, msg) => {
      const want = (ranges[workers.indexOf(peer)] as { count: number }).count;
      if (msg.samples === want) return;
      const expected = `Expected an evalResult of ${want} rows from worker ${peer.rank}`;
      throw new FleetError('FLEET_ERR_UNEXPECTED_MESSAGE', `${expected}. Received: ${msg.samples}`);
    });
    for (const p of participants) {
      p.weightsVersion = this.weightsVersion;
      this.broadcast.delivered(p);
    }
    const ordered = participants.map((p) => replies.get(p.id) as NonNullable<ReturnType<typeof replies.get>>);
    return {
      samples: ordered.reduce((a, r) => a + r.samples, 0),
      lossSum: ordered.reduce((a, r) => a + r.lossSum, 0),
      metricSums: this.ctx.metricNames.map((_, i) => ordered.reduce((a, r) => a + (r.metricSums[i] ?? 0), 0)),
      predictions: ordered.flatMap((r) => [...r.groups.predictions]),
    };
  }

  private applyGradients(averaged: Float32Array[]): void {
    const named = this.variables.map((v, i) => ({ name: v.name, tensor: tf.tensor(averaged[i] as Float32Array, v.shape, 'float32') }));
    this.ctx.optimizer.applyGradients(named);
    tf.dispose(named.map((n) => n.tensor));
  }

  private accountRound(samples: number, t: { encode: number; roundTrip: number; compute: number; aggregate: number; apply: number }): void {
    const { metrics } = this.ctx;
    const total = t.encode + t.roundTrip + t.aggregate + t.apply;
    const transfer = Math.max(t.roundTrip - t.compute, 0);
    Object.assign(this.times, {
      rounds: this.times.rounds + 1,
      total: this.times.total + total,
      compute: this.times.compute + t.compute,
      encode: this.times.encode + t.encode,
      transfer: this.times.transfer + transfer,
      aggregate: this.times.aggregate + t.aggregate,
      apply: this.times.apply + t.apply,
    });
    metrics.rounds.inc();
    metrics.samplesTotal.inc(samples);
    metrics.samplesPerSecond.set(samples / total);
    metrics.roundDuration.observe({ phase: 'total' }, total);
    metrics.roundDuration.observe({ phase: 'compute' }, t.compute);
    metrics.roundDuration.observe({ phase: 'communication' }, transfer + t.encode);
    metrics.roundDuration.observe({ phase: 'aggregation' }, t.aggregate + t.apply);
  }

  private logs(prefix: string, loss: number, metricValues: number[]): Record<string, number> {
    const out: Record<string, number> = { [`${prefix}loss`]: loss };
    this.ctx.metricNames.forEach((name, i) => (out[`${prefix}${name}`] = metricValues[i] as number));
    return out;
  }
}
