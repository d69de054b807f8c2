/**
 * The synchronous data-parallel fit loop, split into named steps: shard a round, let the workers
 * exchange and average their gradients among themselves, commit the step (each worker applies it with
 * its own optimizer), pull the model back when the coordinator needs it, and evaluate at epoch end.
 */
import * as tf from '@tensorflow/tfjs';
import { CallbackList, type Logs, type TrainingControl } from '../shared/model/callbacks.ts';
import type { Logger } from '../shared/runtime/log.ts';
import { restoreCheckpoint, writeCheckpoint, type Checkpoint, type TrainerState } from './checkpoint.ts';
import { getLearningRate, setLearningRate } from '../shared/model/keras/learning-rate.ts';
import type { Splits } from '../shared/model/data/dataset.ts';
import { FleetError, isFleetError } from '../shared/runtime/errors.ts';
import type { FitSpec } from '../shared/model/job.ts';
import type { FleetMetrics } from '../shared/runtime/metrics.ts';
import type { MessageOf, WireTensor } from '../shared/wire/protocol.ts';
import { epochPermutation, identityOrder } from '../shared/runtime/rng.ts';
import { readOptimizerState, type OptimizerState } from '../shared/model/keras/optimizer-state.ts';
import { readWeights } from '../shared/wire/weights.ts';
import { WeightBroadcast } from './broadcast.ts';
import type { Hub } from './hub.ts';
import { pullState } from './pull.ts';
import { commitRound, exchangeRound, membersFor, sessionNonce, sessionOf } from './round.ts';
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
  /** Slowest worker's forward and backward pass, per round. */
  compute: number;
  /** From the round request to every member's `stepped`, minus compute: the exchange between workers. */
  exchange: number;
  /** Preparing the requests and sending the commit. */
  control: number;
  /** Pulling the model back from a worker (epoch ends, checkpoints, joining workers). */
  pull: number;
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
  readonly times: PhaseTimes = { rounds: 0, total: 0, compute: 0, exchange: 0, control: 0, pull: 0 };
  private roundId = 0;
  private evalId = 0;
  private pullId = 0;
  private weightsVersion = 0;
  private readonly broadcast: WeightBroadcast;
  /** True after a committed step until the next pull: the workers' model is newer than this one. */
  private ahead = false;
  /** Workers that hold the optimizer's state (they took part in a committed step or were sent it). */
  private readonly optimizerHeld = new WeakSet<Peer>();
  private readonly nonce = sessionNonce();
  /** Workers left out of this step for missing its deadline. */
  private readonly skipped = new Set<Peer>();
  /** Per step: the coordinator's bytes (both ways) and each member's exchange bytes, for run.json and the bench. */
  readonly traffic: { coordinator: number[]; workers: Map<number, { sent: number[]; received: number[] }> } = {
    coordinator: [],
    workers: new Map(),
  };
  /** The progress bar's view of the epoch beyond the batch logs: updated before each onTrainBatchEnd. */
  private readonly soFar: { batchSize: number; logs: Logs } = { batchSize: 0, logs: {} };

  constructor(private readonly ctx: TrainerContext) {
    this.broadcast = new WeightBroadcast(ctx.model);
    this.control = {
      model: ctx.model,
      optimizer: ctx.optimizer,
      stopTraining: false,
      params: { epochs: ctx.fit.epochs, steps: 0, batchSize: ctx.fit.batchSize, verbose: ctx.fit.verbose ?? 1 },
    };
  }

  /** The control object callbacks see (model, optimizer, stopTraining). */
  readonly control: TrainingControl;

  /** Trains from fit.initialEpoch to fit.epochs and returns the History. */
  async fit(): Promise<History> {
    const { fit, splits } = this.ctx;
    const callbacks = this.callbackList();
    const steps = Math.ceil(splits.train.count / fit.batchSize);
    Object.assign(this.control.params, {
      epochs: fit.epochs,
      steps,
      batchSize: fit.batchSize,
      verbose: fit.verbose ?? 1,
    });
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
      // Callbacks read and write the coordinator's model (EarlyStopping, ModelCheckpoint): make it current.
      await this.sync();
      await callbacks.call('onEpochEnd', epoch, logs);
      last = logs;
      if (trained.complete)
        await this.saveCheckpoint(callbacks, epoch + 1, 0, {
          lossSum: 0,
          metricSums: this.ctx.metricNames.map(() => 0),
          seen: 0,
        });
    }
    await this.sync();
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
  private async saveCheckpoint(
    callbacks: CallbackList,
    epoch: number,
    step: number,
    accum: TrainerState['accum'],
  ): Promise<void> {
    const cfg = this.ctx.checkpoint;
    if (!cfg) return;
    await this.sync();
    let learningRate: number | undefined;
    try {
      learningRate = getLearningRate(this.ctx.optimizer);
    } catch {
      learningRate = undefined;
    }
    const uses = this.sampleUses.get(epoch);
    const state: TrainerState = {
      epoch,
      step,
      accum,
      seed: this.ctx.fit.seed ?? 1337,
      history: this.history,
      roundId: this.roundId,
      evalId: this.evalId,
      weightsVersion: this.weightsVersion,
      sampleUses: step > 0 && uses ? Array.from(uses) : [],
      ...(learningRate !== undefined && { learningRate }),
      callbacks: callbacks.getStates(),
    };
    await writeCheckpoint(cfg.dir, this.ctx.model, this.ctx.optimizer, state);
  }

  /** One epoch of rounds in the seeded order, from `from.step` when resuming; stops early when a callback asks. */
  private async trainEpoch(
    epoch: number,
    steps: number,
    callbacks: CallbackList,
    from?: TrainerState,
  ): Promise<{ logs: Logs; complete: boolean }> {
    const { fit, splits } = this.ctx;
    const order =
      fit.shuffle === false
        ? identityOrder(splits.train.count)
        : epochPermutation(splits.train.count, fit.seed ?? 1337, epoch);
    let lossSum = from?.accum.lossSum ?? 0;
    let metricSums = from?.accum.metricSums ?? this.ctx.metricNames.map(() => 0);
    let seen = from?.accum.seen ?? 0;
    const every = this.ctx.checkpoint?.everyRounds ?? 0;
    for (let step = from?.step ?? 0; step < steps; step++) {
      const batch = order.subarray(step * fit.batchSize, (step + 1) * fit.batchSize);
      await callbacks.call('onTrainBatchBegin', step, {});
      const next =
        step + 1 < steps ? order.subarray((step + 1) * fit.batchSize, (step + 2) * fit.batchSize) : undefined;
      const r = await this.trainRound(epoch, step, batch, next);
      lossSum += r.lossSum;
      metricSums = metricSums.map((v, i) => v + (r.metricSums[i] ?? 0));
      seen += batch.length;
      const running = this.logs(
        '',
        lossSum / seen,
        metricSums.map((m) => m / seen),
      );
      Object.assign(this.soFar, { batchSize: batch.length, logs: running });
      await callbacks.call(
        'onTrainBatchEnd',
        step,
        this.logs(
          '',
          r.lossSum / batch.length,
          r.metricSums.map((m) => m / batch.length),
        ),
      );
      if (r.failure && !this.control.stopTraining) throw r.failure;
      if (this.control.stopTraining) return { logs: running, complete: false };
      if (every > 0 && (step + 1) % every === 0 && step + 1 < steps)
        await this.saveCheckpoint(callbacks, epoch, step + 1, { lossSum, metricSums, seen });
    }
    return {
      logs: this.logs(
        '',
        lossSum / seen,
        metricSums.map((m) => m / seen),
      ),
      complete: true,
    };
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
        log?.warn(
          `paused: ${healthy} healthy worker(s), --min-workers ${min}; ` +
            `waiting up to ${Math.round((membership?.waitMs ?? 0) / 1000)} s for workers to join`,
        );
        await hub.waitForHealthy(min, membership?.waitMs ?? 0, `to resume training (--min-workers ${min})`);
        log?.info(`resumed with ${hub.peers.inState('HEALTHY').length} worker(s)`);
      }
      try {
        return await attempt();
      } catch (err) {
        if (!isFleetError(err, 'FLEET_ERR_WORKER_LOST')) throw err;
        log?.warn(
          `${what}: ${err.message}; redoing it on the ${hub.peers.inState('HEALTHY').length} remaining worker(s)`,
        );
      }
    }
  }

  /**
   * One synchronous round: shard, exchange between the workers, commit. A round whose gradients are not
   * finite is not committed: it reports a NaN loss and the failure, and the model is unchanged.
   */
  async trainRound(
    epoch: number,
    step: number,
    batch: Int32Array,
    nextBatch?: Int32Array,
  ): Promise<{ lossSum: number; metricSums: number[]; failure?: FleetError }> {
    this.skipped.clear();
    const what = `epoch ${epoch + 1} step ${step + 1}`;
    const r = await this.resilient(what, () => this.attemptRound(epoch, step, batch, nextBatch));
    if (!r.failure) {
      let uses = this.sampleUses.get(epoch);
      if (!uses) this.sampleUses.set(epoch, (uses = new Uint8Array(this.ctx.splits.train.count)));
      for (const i of batch) uses[i] = (uses[i] as number) + 1;
    }
    return r;
  }

  private async attemptRound(
    epoch: number,
    step: number,
    batch: Int32Array,
    nextBatch?: Int32Array,
  ): Promise<{ lossSum: number; metricSums: number[]; failure?: FleetError }> {
    const { hub, metrics, optimizer } = this.ctx;
    const t0 = performance.now();
    const members = membersFor(hub, batch.length, this.skipped);
    const optimizerState = await this.prepare(members, true);
    const t1 = performance.now();
    const before = hub.traffic.sent + hub.traffic.received;
    const roundId = this.roundId++;
    // With every healthy worker skipped already (or one left), wait for the step without a deadline.
    const deadlineMs =
      members.length > 1 && !members.some((p) => this.skipped.has(p)) ? (this.ctx.roundDeadlineMs ?? 0) : 0;
    let stepped;
    try {
      stepped = await exchangeRound(
        {
          hub,
          roundId,
          epoch,
          step,
          weightsVersion: this.weightsVersion,
          learningRate: getLearningRate(optimizer),
          session: sessionOf(members, this.nonce),
          weightsFor: (peer) =>
            peer.weightsVersion === this.weightsVersion ? { tensors: [] } : this.broadcast.forPeer(peer),
          optimizerFor: (peer) => (this.optimizerHeld.has(peer) ? undefined : optimizerState),
          deadlineMs,
        },
        members,
        batch,
        nextBatch,
      );
    } catch (err) {
      if (!isFleetError(err, 'FLEET_ERR_NONFINITE')) throw err;
      const failure = new FleetError(
        'FLEET_ERR_NONFINITE',
        `Training diverged in epoch ${epoch + 1}, step ${step + 1}: ${err.message}. ` +
          'The model was not updated with it; add TerminateOnNaN to stop cleanly.',
      );
      return { lossSum: NaN, metricSums: this.ctx.metricNames.map(() => NaN), failure };
    }
    if ('stragglers' in stepped) {
      const ranks = stepped.stragglers.map((p) => p.rank).join(', ');
      const faster = members.length - stepped.stragglers.length;
      metrics.stragglers.inc(stepped.stragglers.length);
      this.ctx.log?.warn(
        `round ${roundId}: worker(s) ${ranks} missed the ${deadlineMs} ms deadline; ` +
          `their ${stepped.examples} examples move to the ${faster} faster worker(s)`,
      );
      for (const p of stepped.stragglers) this.skipped.add(p);
      return this.attemptRound(epoch, step, batch, nextBatch);
    }
    const t2 = performance.now();
    const next = this.weightsVersion + 1;
    await commitRound(hub, members, roundId, next);
    stepped.members.forEach((p, i) => {
      p.weightsVersion = next;
      this.broadcast.delivered(p);
      this.optimizerHeld.add(p);
      p.tensorCounts.push((stepped.replies[i] as { numTensors: number }).numTensors);
    });
    this.weightsVersion = next;
    this.ahead = true;
    const t3 = performance.now();
    this.countTraffic(stepped.members, stepped.replies, hub.traffic.sent + hub.traffic.received - before);
    const replies = stepped.replies;
    const compute = Math.max(...replies.map((c) => c.computeSeconds));
    this.accountRound(batch.length, {
      prepare: (t1 - t0) / 1000,
      roundTrip: (t2 - t1) / 1000,
      compute,
      commit: (t3 - t2) / 1000,
    });
    const lossSum = replies.reduce((a, c) => a + c.lossSum, 0);
    const metricSums = this.ctx.metricNames.map((_, i) => replies.reduce((a, c) => a + (c.metricSums[i] ?? 0), 0));
    metrics.loss.set({ scope: 'round', split: 'train' }, lossSum / batch.length);
    this.ctx.metricNames.forEach((name, i) =>
      metrics.metric.set({ name, scope: 'round', split: 'train' }, (metricSums[i] as number) / batch.length),
    );
    return { lossSum, metricSums };
  }

  /** Medians per step of the traffic counted so far: the coordinator's bytes, and each worker's exchange. */
  trafficSummary(): {
    steps: number;
    coordinatorBytesPerStep: number;
    workers: { rank: number; sentPerStep: number; receivedPerStep: number }[];
  } {
    const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    return {
      steps: this.traffic.coordinator.length,
      coordinatorBytesPerStep: median(this.traffic.coordinator),
      workers: [...this.traffic.workers.entries()].map(([rank, w]) => ({
        rank,
        sentPerStep: median(w.sent),
        receivedPerStep: median(w.received),
      })),
    };
  }

  private countTraffic(
    members: readonly Peer[],
    replies: readonly MessageOf<'stepped'>[],
    coordinatorBytes: number,
  ): void {
    this.traffic.coordinator.push(coordinatorBytes);
    members.forEach((p, i) => {
      const r = replies[i] as MessageOf<'stepped'>;
      let w = this.traffic.workers.get(p.rank);
      if (!w) this.traffic.workers.set(p.rank, (w = { sent: [], received: [] }));
      w.sent.push(r.exchangeBytes.sent);
      w.received.push(r.exchangeBytes.received);
    });
  }

  /**
   * Makes the weights (and, for a round, the optimizer state) the `peers` lack sendable: when one lacks
   * them while the workers are ahead, the model is pulled first. Weights written here since the last
   * request (EarlyStopping restoring the best epoch's before the test split) get a new version.
   */
  private async prepare(peers: readonly Peer[], withOptimizer: boolean): Promise<OptimizerState | undefined> {
    if (!this.ahead) this.weightsVersion = this.broadcast.update(readWeights(this.ctx.model), this.weightsVersion);
    const lacks = (p: Peer) =>
      p.weightsVersion !== this.weightsVersion || (withOptimizer && !this.optimizerHeld.has(p));
    if (!peers.some(lacks)) return undefined;
    await this.sync();
    return withOptimizer ? readOptimizerState(this.ctx.model, this.ctx.optimizer) : undefined;
  }

  /** Brings this model and optimizer up to the workers' after committed steps (a no-op when current). */
  async sync(): Promise<void> {
    if (!this.ahead) return;
    const t0 = performance.now();
    await this.resilient('pull the model from a worker', () =>
      pullState(this.ctx.hub, this.pullId++, this.ctx.model, this.ctx.optimizer, this.weightsVersion),
    );
    this.broadcast.adopt(readWeights(this.ctx.model), this.weightsVersion);
    this.ahead = false;
    this.times.pull += (performance.now() - t0) / 1000;
  }

  /** Distributed evaluation of a split: rows sharded across workers, sums gathered; keys get `prefix`. */
  async evaluate(split: 'validation' | 'test' | 'train', prefix: string): Promise<Record<string, number>> {
    const r = await this.evaluateSplit(split, 'metrics');
    return this.logs(
      prefix,
      r.lossSum / r.samples,
      r.metricSums.map((m) => m / r.samples),
    );
  }

  /** Distributed predict over a split, gathered back in row order. */
  async predict(split: 'validation' | 'test' | 'train'): Promise<tf.Tensor> {
    const r = await this.evaluateSplit(split, 'predict');
    const parts = r.predictions;
    const first = parts[0] as WireTensor;
    const rows = parts.reduce((n, p) => n + (p.shape[0] as number), 0);
    const all = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p.data, at);
      at += p.data.length;
    }
    return tf.tensor(all, [rows, ...first.shape.slice(1)]);
  }

  private evaluateSplit(split: 'validation' | 'test' | 'train', mode: 'metrics' | 'predict') {
    return this.resilient(`${mode === 'predict' ? 'predict' : 'evaluate'} ${split}`, () =>
      this.attemptEvaluate(split, mode),
    );
  }

  private async attemptEvaluate(split: 'validation' | 'test' | 'train', mode: 'metrics' | 'predict') {
    const { hub, splits } = this.ctx;
    const view = splits[split];
    if (!view) throw new FleetError('FLEET_ERR_DATA', `Expected a ${split} split to evaluate. Received: none`);
    const evalId = this.evalId++;
    const workers = hub.peers.inState('HEALTHY');
    const ranges = shardRange(view.count, workers.length);
    const participants = workers.filter((_, i) => (ranges[i] as { count: number }).count > 0);
    await this.prepare(participants, false);
    const replies = await hub.collect(
      'evalResult',
      evalId,
      participants,
      (peer: Peer) => {
        const range = ranges[workers.indexOf(peer)] as { start: number; count: number };
        const w = peer.weightsVersion !== this.weightsVersion ? this.broadcast.forPeer(peer) : { tensors: [] };
        return hub.send(peer, {
          kind: 'evaluate',
          evalId,
          split,
          start: range.start,
          count: range.count,
          weightsVersion: this.weightsVersion,
          ...(w.indices && { weightIndices: w.indices }),
          mode,
          groups: { weights: w.tensors },
        });
      },
      (peer, msg) => {
        const want = (ranges[workers.indexOf(peer)] as { count: number }).count;
        if (msg.samples === want) return;
        const expected = `Expected an evalResult of ${want} rows from worker ${peer.rank}`;
        throw new FleetError('FLEET_ERR_UNEXPECTED_MESSAGE', `${expected}. Received: ${msg.samples}`);
      },
    );
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

  private accountRound(
    samples: number,
    t: { prepare: number; roundTrip: number; compute: number; commit: number },
  ): void {
    const { metrics } = this.ctx;
    const total = t.prepare + t.roundTrip + t.commit;
    const exchange = Math.max(t.roundTrip - t.compute, 0);
    Object.assign(this.times, {
      rounds: this.times.rounds + 1,
      total: this.times.total + total,
      compute: this.times.compute + t.compute,
      exchange: this.times.exchange + exchange,
      control: this.times.control + t.prepare + t.commit,
    });
    metrics.rounds.inc();
    metrics.samplesTotal.inc(samples);
    metrics.samplesPerSecond.set(samples / total);
    metrics.roundDuration.observe({ phase: 'total' }, total);
    metrics.roundDuration.observe({ phase: 'compute' }, t.compute);
    metrics.roundDuration.observe({ phase: 'communication' }, exchange);
    metrics.roundDuration.observe({ phase: 'aggregation' }, t.prepare + t.commit);
  }

  private logs(prefix: string, loss: number, metricValues: number[]): Record<string, number> {
    const out: Record<string, number> = { [`${prefix}loss`]: loss };
    this.ctx.metricNames.forEach((name, i) => (out[`${prefix}${name}`] = metricValues[i] as number));
    return out;
  }
}
