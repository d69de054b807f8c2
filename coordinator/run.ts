/**
 * A whole coordinator run: backend, metrics, job, model and optimizer; admit the workers; fit;
 * evaluate the test split; write history.json; tell the workers done. `finally` always shuts down.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeChoice, selectBackend, type BackendRequest } from '../shared/backend/select.ts';
import { resolveSplits } from '../shared/data/dataset.ts';
import { FleetError, isFleetError } from '../shared/errors.ts';
import { loadJob, type FitSpec } from '../shared/job.ts';
import { createLogger } from '../shared/log.ts';
import { makeOptimizer } from '../shared/keras/optimizers.ts';
import { createMetrics, serveMetrics } from '../shared/metrics.ts';
import { readWeights } from '../shared/weights.ts';
import { Hub } from './coordinator.ts';
import { formatLogs, type ProgressSink } from './progress.ts';
import { Trainer, type History, type PhaseTimes } from './training.ts';

/** Coordinator settings, parsed and frozen by the CLI (or given by the programmatic API). */
export interface CoordinatorOptions {
  readonly bind: string;
  readonly workers: number;
  readonly job: string;
  readonly backend: BackendRequest;
  readonly metricsHost: string;
  readonly metricsPort: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly joinTimeoutMs: number;
  readonly out?: string;
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
  readonly model: tf.LayersModel;
  readonly times: PhaseTimes;
  /** Per worker rank: tf.memory().numTensors reported after each step. */
  readonly workerTensorCounts: number[][];
  readonly backend: string;
}

/** Runs a coordinator to completion; throws FleetError (e.g. FLEET_ERR_WORKER_LOST) on failure. */
export async function runCoordinator(opts: CoordinatorOptions): Promise<RunResult> {
  const log = createLogger('coordinator', opts.quiet);
  const job = await loadJob(opts.job);
  const fit: FitSpec = { ...job.fit, ...opts.fit };
  const splits = resolveSplits(await job.data(), fit.validationSplit);
  const choice = await selectBackend(opts.backend);
  log.info(describeChoice(choice));
  const metrics = createMetrics('coordinator', choice.taken, () => tf.memory());
  const server = await serveMetrics(metrics.registry, opts.metricsHost, opts.metricsPort);
  log.info(`metrics: http://${opts.metricsHost}:${server.port}/metrics`);

  const model = job.model();
  const optimizer = makeOptimizer(job.compile.optimizer);
  checkDataMatchesModel(model, splits.train.data.xShape, opts.job);
  const hub = new Hub({ bind: opts.bind, heartbeatIntervalMs: opts.heartbeatIntervalMs, heartbeatTimeoutMs: opts.heartbeatTimeoutMs, setupTimeoutMs: opts.joinTimeoutMs, now: () => Date.now() }, metrics, log);
  let ok = false;
  let reason = 'training failed';
  try {
    const endpoint = await hub.bind();
    log.info(`listening on ${endpoint}; waiting for ${opts.workers} worker(s)`);
    await opts.onListening?.({ endpoint, metricsPort: server.port, backend: choice.taken });
    const compile = { optimizer: job.compile.optimizer, loss: job.compile.loss, metrics: job.compile.metrics ?? [] } as Record<string, unknown>;
    await hub.admit(opts.workers, { jobPath: path.resolve(opts.job), modelConfig: JSON.stringify(model.toJSON(null, false)), compile, backend: choice.taken, weights: readWeights(model) }, opts.joinTimeoutMs);
    const metricNames = job.compile.metrics ?? [];
    const trainer = new Trainer({
      hub, model, optimizer, splits, fit, metricNames, metrics,
      ...(opts.sink && { sink: opts.sink }),
      onEpochEnd: (_epoch, _logs, history) => { if (opts.out) writeJsonAtomic(path.join(opts.out, 'history.json'), history); },
    });
    const history = await trainer.fit();
    let test: Record<string, number> | undefined;
    if (splits.test) {
      test = await trainer.evaluate('test', 'test_');
      if ((fit.verbose ?? 1) > 0) (opts.sink ?? { write: (t: string) => process.stdout.write(t) }).write(`Test:${formatLogs(test).replace(/^ -/, '')}\n`);
    }
    ok = true;
    reason = 'training complete';
    const workerTensorCounts = hub.peers.all().map((p) => [...p.tensorCounts]);
    return { history, ...(test && { test }), model, times: trainer.times, workerTensorCounts, backend: choice.taken };
  } catch (err) {
    reason = isFleetError(err) ? `${err.code}: ${err.message}` : String(err);
    throw err;
  } finally {
    await hub.close(reason, ok);
    await server.close();
    optimizer.dispose();
  }
}

function checkDataMatchesModel(model: tf.LayersModel, xShape: readonly number[], file: string): void {
  const want = model.inputs[0]?.shape.slice(1) ?? [];
  const got = xShape.slice(1);
  if (want.length !== got.length || want.some((d, i) => d !== null && d !== got[i])) {
    throw new FleetError('FLEET_ERR_DATA', `Job ${file}: expected training x of shape [n, ${want.map((d) => d ?? 'any').join(', ')}] for the model's input. Received: [${xShape.join(', ')}]`);
  }
}

/** Writes JSON through a temporary file and a rename, so readers never see half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2));
  renameSync(tmp, file);
}
