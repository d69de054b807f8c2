/**
 * A whole coordinator run: backend, metrics, job, model and optimizer; admit the workers; fit;
 * evaluate the test split; write history.json; tell the workers done. `finally` always shuts down.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { consumeCpuBanner, type BackendRequest } from '../shared/runtime/backend/select.ts';
import { CallbackList } from '../shared/model/callbacks.ts';
import { resolveSplits, type Splits } from '../shared/model/data/dataset.ts';
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import { isFleetError } from '../shared/runtime/errors.ts';
import { checkCompile, compiledFunctions, loadJob, type FitSpec, type Job } from '../shared/model/job.ts';
import { makeOptimizer } from '../shared/model/keras/optimizers.ts';
import { optimizerConfig } from '../shared/model/keras/optimizer-state.ts';
import { saveModel } from '../shared/io/saving/index.ts';
import { modelToKerasJson } from '../shared/io/model-json.ts';
import type { WireTensor } from '../shared/wire/protocol.ts';
import { readWeights } from '../shared/wire/weights.ts';
import type { Security } from '../shared/wire/security/index.ts';
import { readLatestCheckpoint } from './checkpoint.ts';
import type { WelcomePayload } from './hub.ts';
import { openHub, welcomeAgain, type OpenHub } from './open-hub.ts';
import { formatLogs, type ProgressSink } from './progress.ts';
import { Trainer, type History, type PhaseTimes } from './training.ts';

/** Coordinator settings, parsed and frozen by the CLI (or given by the programmatic API). */
export interface CoordinatorOptions {
  readonly bind: string;
  readonly workers: number;
  /**
   * Fewest healthy workers to train with (default 1), the most admitted (default `workers`), and how long
   * to wait paused (ms).
   */
  readonly minWorkers?: number;
  readonly maxWorkers?: number;
  readonly minWorkersTimeoutMs?: number;
  readonly job: string;
  readonly backend: BackendRequest;
  readonly metricsHost: string;
  readonly metricsPort: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly joinTimeoutMs: number;
  readonly out?: string;
  /** CURVE keys, allow-list, join token and frame cap (shared/wire/security); unset: none, default cap. */
  readonly security?: Security;
  /** Checkpoint every N rounds too (0: epoch ends only); checkpoints go to <out>/checkpoints. */
  readonly checkpointEvery?: number;
  /** Continue from the latest checkpoint under <out>/checkpoints, if any. */
  readonly resume?: boolean;
  /** Per-round deadline in ms for stragglers (0: none). */
  readonly roundDeadlineMs?: number;
  /** Overrides of the job's fit options. */
  readonly fit?: Partial<FitSpec>;
  readonly quiet: boolean;
  readonly sink?: ProgressSink;
  /** Called once the socket is bound and the metrics server listens (local mode starts workers here). */
  readonly onListening?: (info: { endpoint: string; metricsPort: number; backend: string }) => void | Promise<void>;
}

/** What a finished run returns. */
export interface RunResult {
  readonly history: History;
  readonly test?: Record<string, number>;
  /** Outputs for the test split, in row order, when the task was 'predict'. */
  readonly predictions?: tf.Tensor;
  readonly model: tf.LayersModel;
  readonly times: PhaseTimes;
  /** Per worker rank: tf.memory().numTensors reported after each step. */
  readonly workerTensorCounts: number[][];
  readonly backend: string;
  /** Bytes per step (medians): the coordinator's control traffic, and each worker's gradient exchange. */
  readonly traffic: ReturnType<Trainer['trafficSummary']>;
}

/** Runs a coordinator for the job module at `opts.job` to completion; throws FleetError on failure. */
export async function runCoordinator(opts: CoordinatorOptions): Promise<RunResult> {
  const job = await loadJob(opts.job);
  return runJob(job, { path: path.resolve(opts.job) }, opts);
}

/** How workers find the job: a module path, plus arguments when its default export is a factory. */
export interface JobRef {
  readonly path: string;
  readonly args?: Record<string, unknown>;
  /** How error messages name the job (default `Job <path>`); the programmatic API's generated job is `fit()`. */
  readonly label?: string;
}

/** What to do once the workers are ready: fit (the default), or only evaluate or predict the test split. */
export type Task = 'fit' | 'evaluate' | 'predict';

/** A task checked and ready to run: its fit options, resolved splits and model. */
export interface PreparedTask {
  readonly task: Task;
  readonly fit: FitSpec;
  readonly splits: Splits;
  readonly model: tf.LayersModel;
}

/** Checks a job's compile options, data and model against each other before any worker is involved. */
export async function prepareTask(
  job: Job,
  ref: JobRef,
  opts: CoordinatorOptions & { task?: Task },
): Promise<PreparedTask> {
  // The job builds its model and optimizer before the backend is chosen, on tfjs's default cpu backend.
  consumeCpuBanner();
  const fit: FitSpec = { ...job.fit, ...opts.fit };
  checkCompile(job.compile);
  const splits = resolveSplits(await job.data(), fit.validationSplit);
  const model = job.model();
  const label = ref.label ?? `Job ${ref.path}`;
  checkDataMatchesModel(model, splits, label);
  checkLabelsFitLoss(model, job, splits, label);
  if (job.syncBatchNorm && (opts.roundDeadlineMs ?? 0) > 0) {
    // A straggler's shard cannot move mid-round: the others wait for its share of every all-reduce.
    throw fleetError('RUN_SYNC_BN_DEADLINE', { job: ref.path, deadline: opts.roundDeadlineMs });
  }
  return { task: opts.task ?? 'fit', fit, splits, model };
}

/** Runs a coordinator for an already-loaded job; workers load `ref`. */
export async function runJob(job: Job, ref: JobRef, opts: CoordinatorOptions & { task?: Task }): Promise<RunResult> {
  const prepared = await prepareTask(job, ref, opts);
  const open = await openHub(opts);
  let ok = false;
  let reason = 'training failed';
  try {
    const result = await runTask(open, job, ref, prepared, opts);
    ok = true;
    reason = prepared.task === 'fit' ? 'training complete' : `${prepared.task} complete`;
    return result;
  } catch (err) {
    reason = isFleetError(err) ? `${err.code}: ${err.message}` : String(err);
    throw err;
  } finally {
    await open.close(reason, ok);
  }
}

/**
 * Runs one prepared task on an open hub: welcomes the workers (again, when they are healthy from an
 * earlier task), waits for `opts.workers` of them, then fits, evaluates or predicts. The hub stays open.
 */
export async function runTask(
  open: OpenHub,
  job: Job,
  ref: JobRef,
  prepared: PreparedTask,
  /** `data`: the job's arrays, sent with the welcome (for workers that cannot read the caller's files). */
  opts: CoordinatorOptions & { data?: readonly WireTensor[] },
): Promise<RunResult> {
  const { hub, metrics, log } = open;
  const { task, fit, splits, model } = prepared;
  const checkpointDir = opts.out ? path.join(opts.out, 'checkpoints') : undefined;
  const skipped = (ckpt: string, why: string) => log.warn(`skipping checkpoint ${ckpt}: ${why}`);
  const resume = opts.resume && checkpointDir ? readLatestCheckpoint(checkpointDir, skipped) : undefined;
  if (opts.resume) {
    log.info(resume ? `resuming from ${resume.path}` : `--resume: no checkpoint in ${checkpointDir}; starting fresh`);
  }
  const ownsOptimizer = !(job.compile.optimizer instanceof tf.Optimizer);
  const optimizer = makeOptimizer(job.compile.optimizer);
  try {
    log.info(`waiting for ${opts.workers} worker(s)`);
    const compile = {
      loss: typeof job.compile.loss === 'string' ? job.compile.loss : 'custom',
      metrics: job.compile.metrics ?? [],
    };
    const welcome: WelcomePayload = {
      jobPath: ref.path,
      ...(ref.args && { jobArgs: ref.args }),
      modelConfig: JSON.stringify(modelToKerasJson(model)),
      compile,
      optimizer: optimizerConfig(optimizer),
      backend: open.backend,
      weights: readWeights(model),
      ...(opts.data && { data: opts.data }),
    };
    const maxWorkers = opts.maxWorkers ?? opts.workers;
    // Newcomers get this task's welcome from now on; then the workers of an earlier task get it too.
    await hub.admit(0, welcome, opts.joinTimeoutMs, maxWorkers);
    await welcomeAgain(open, welcome);
    await hub.admit(opts.workers, welcome, opts.joinTimeoutMs, maxWorkers);
    const metricNames = job.compile.metrics ?? [];
    const trainer = new Trainer({
      hub,
      model,
      optimizer,
      splits,
      fit,
      metricNames,
      metrics,
      callbacks: new CallbackList(job.callbacks?.() ?? []),
      membership: { minWorkers: opts.minWorkers ?? 1, waitMs: opts.minWorkersTimeoutMs ?? 60_000 },
      ...(checkpointDir && { checkpoint: { dir: checkpointDir, everyRounds: opts.checkpointEvery ?? 0 } }),
      ...(resume && { resume }),
      roundDeadlineMs: opts.roundDeadlineMs ?? 0,
      log,
      ...(opts.sink && { sink: opts.sink }),
      ...(opts.out && { historyFile: path.join(opts.out, 'history.json') }),
    });
    const history = task === 'fit' ? await trainer.fit() : trainer.history;
    // The end-of-training save: a Keras 3 archive that Python Keras opens as it is.
    if (task === 'fit' && opts.out) {
      await saveModel(model, path.join(opts.out, 'model.keras'), { trainingConfig: job.compile });
      log.info(`saved ${path.join(opts.out, 'model.keras')}`);
    }
    let test: Record<string, number> | undefined;
    let predictions: tf.Tensor | undefined;
    if (splits.test && task !== 'predict') {
      test = await trainer.evaluate('test', 'test_');
      const sink = opts.sink ?? { write: (t: string) => process.stdout.write(t) };
      if ((fit.verbose ?? 1) > 0) sink.write(`Test:${formatLogs(test).replace(/^ -/, '')}\n`);
    }
    if (splits.test && task === 'predict') predictions = await trainer.predict('test');
    const workerTensorCounts = hub.peers.all().map((p) => [...p.tensorCounts]);
    const sampleUses = [...trainer.sampleUses.entries()].map(([epoch, uses]) => ({
      epoch,
      examples: uses.length,
      min: uses.reduce((a, b) => Math.min(a, b), 255),
      max: uses.reduce((a, b) => Math.max(a, b), 0),
    }));
    if (opts.out) {
      writeJsonAtomic(path.join(opts.out, 'run.json'), {
        test,
        sampleUses,
        traffic: trainer.trafficSummary(),
        stragglerDrops: (await metrics.stragglers.get()).values[0]?.value ?? 0,
        workers: hub.peers.all().map((p) => ({
          rank: p.rank,
          pid: p.pid,
          host: p.host,
          state: p.state,
          rounds: Math.max(p.tensorCounts.length - 1, 0),
          lostReason: p.lostReason,
        })),
      });
    }
    const outputs = { ...(test && { test }), ...(predictions && { predictions }) };
    const traffic = trainer.trafficSummary();
    return { history, ...outputs, model, times: trainer.times, workerTensorCounts, backend: open.backend, traffic };
  } finally {
    if (ownsOptimizer) optimizer.dispose();
  }
}

/** Fails before any worker starts when a split's x does not fit the model's input. */
function checkDataMatchesModel(model: tf.LayersModel, splits: Splits, label: string): void {
  const want = model.inputs[0]?.shape.slice(1) ?? [];
  for (const view of [splits.train, splits.validation, splits.test]) {
    if (!view) continue;
    const got = view.data.xShape.slice(1);
    if (want.length !== got.length || want.some((d, i) => d !== null && d !== got[i])) {
      const values = {
        label,
        source: view.source,
        want: want.map((d) => d ?? 'any').join(', '),
        received: view.data.xShape.join(', '),
      };
      throw fleetError('RUN_X_SHAPE', values);
    }
  }
}

/** Runs the loss once on two rows of each split, so labels that do not fit fail before workers start. */
function checkLabelsFitLoss(model: tf.LayersModel, job: Job, splits: Splits, label: string): void {
  const { loss } = compiledFunctions(job.compile);
  for (const view of [splits.train, splits.validation, splits.test]) {
    if (!view || view.count === 0) continue;
    const d = view.data;
    const rows = Math.min(2, view.count);
    const xRow = d.x.length / (d.xShape[0] as number);
    const yRow = d.y.length / (d.yShape[0] as number);
    try {
      tf.tidy(() => {
        const xData = d.x.subarray(view.offset * xRow, (view.offset + rows) * xRow);
        const yData = d.y.subarray(view.offset * yRow, (view.offset + rows) * yRow);
        const x = tf.tensor(xData, [rows, ...d.xShape.slice(1)]);
        const y = tf.tensor(yData, [rows, ...d.yShape.slice(1)]);
        loss(y, model.predict(x) as tf.Tensor).dataSync();
      });
    } catch (err) {
      const out = model.outputs[0]?.shape ?? [];
      const values = {
        label,
        source: view.source,
        output: out.map((v) => v ?? 'n'),
        loss: typeof job.compile.loss === 'string' ? job.compile.loss : 'custom',
        yShape: d.yShape,
        reason: (err as Error).message,
      };
      throw fleetError('RUN_Y_SHAPE', values);
    }
  }
}

/** Writes JSON through a temporary file and a rename, so readers never see half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2));
  renameSync(tmp, file);
}
