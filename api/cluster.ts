/**
 * The programmatic API in the Keras guide's style:
 *
 *   const cluster = await tensorfleet.local({ workers: 2 });
 *   const history = await cluster.fit(model, xTrain, yTrain, { epochs: 5, batchSize: 64, validationSplit: 0.1 });
 *   const [loss, accuracy] = await cluster.evaluate(model, xTest, yTest);
 *   const predictions = await cluster.predict(model, xTest);
 *
 * The model stays in the caller's process (it is the coordinator's model, so it ends up trained);
 * each call starts its worker processes, hands them the data through a temporary folder, and reaps them.
 *
 * Room: api/ is the programmatic entry (this cluster and the local launcher); it may import
 * coordinator/ and shared/, and nothing in the library imports cli/ or bench/.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runLocalJob, type LocalOptions } from './launcher.ts';
import type { RunResult, Task } from '../coordinator/run.ts';
import type { History } from '../coordinator/training.ts';
import type { BackendRequest } from '../shared/runtime/backend/select.ts';
import type { Callback } from '../shared/model/callbacks.ts';
import type { ArrayData } from '../shared/model/data/dataset.ts';
import { DEFAULTS } from '../shared/runtime/config.ts';
import { FleetError, describe } from '../shared/runtime/errors.ts';
import { siblingPath } from '../shared/runtime/module-path.ts';
import { importUserModule } from '../shared/runtime/tsx.ts';
import type { InlineMeta } from './inline-job.ts';
import type { CompileSpec, FitSpec, Job } from '../shared/model/job.ts';

const INLINE_JOB = siblingPath('./inline-job.ts', import.meta.url);

/** Options of `tensorfleet.local(...)`. */
export interface LocalClusterOptions {
  workers: number;
  backend?: BackendRequest;
  /** Modules every worker imports first, e.g. ones that register custom layers. */
  modules?: string[];
  /** Port of the coordinator's /metrics (0, the default here, picks a free one). */
  metricsPort?: number;
  quiet?: boolean;
  /** BatchNormalization over the whole global batch, across workers (a job's `syncBatchNorm`). */
  syncBatchNorm?: boolean;
}

/** Keras fit arguments, camelCased; `batchSize` is the global batch. */
export interface FitArgs {
  epochs?: number;
  batchSize?: number;
  validationData?: [tf.Tensor, tf.Tensor];
  validationSplit?: number;
  shuffle?: boolean;
  initialEpoch?: number;
  verbose?: 0 | 1 | 2;
  callbacks?: Callback[];
  seed?: number;
  /** Compile options, when the model was not compiled with tfjs's model.compile. */
  compile?: CompileSpec;
}

/** A local cluster: a coordinator in this process and `workers` child processes per call. */
export class LocalCluster {
  constructor(private readonly opts: Readonly<LocalClusterOptions>) {}

  /** Trains `model` on (x, y), distributed; returns the Keras History. */
  async fit(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, args: FitArgs = {}): Promise<History> {
    if (args.validationSplit !== undefined && !(args.validationSplit > 0 && args.validationSplit < 1)) {
      throw new FleetError('FLEET_ERR_CONFIG', `Expected validationSplit in (0, 1). Received: ${describe(args.validationSplit)}`);
    }
    const fit: FitSpec = {
      epochs: args.epochs ?? 1,
      batchSize: args.batchSize ?? 32,
      verbose: args.verbose ?? 1,
      ...(args.shuffle !== undefined && { shuffle: args.shuffle }),
      ...(args.seed !== undefined && { seed: args.seed }),
      ...(args.validationSplit !== undefined && { validationSplit: args.validationSplit }),
      ...(args.initialEpoch !== undefined && { initialEpoch: args.initialEpoch }),
    };
    const splits = { train: toArrays('x', x, 'y', y), ...(args.validationData && { validation: toArrays('validationData[0]', args.validationData[0], 'validationData[1]', args.validationData[1]) }) };
    return (await this.run('fit', model, splits, fit, args.compile, args.callbacks)).history;
  }

  /** Distributed evaluation: returns [loss, ...metrics] in compile order, as Keras's evaluate does. */
  async evaluate(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, args: { batchSize?: number; compile?: CompileSpec } = {}): Promise<number[]> {
    const r = await this.run('evaluate', model, { test: toArrays('x', x, 'y', y) }, { epochs: 1, batchSize: args.batchSize ?? 32, verbose: 0 }, args.compile);
    return Object.values(r.test ?? {});
  }

  /** Distributed prediction: the rows are sharded across workers and gathered back in order. */
  async predict(model: tf.LayersModel, x: tf.Tensor, args: { batchSize?: number; compile?: CompileSpec } = {}): Promise<tf.Tensor> {
    const n = x.shape[0] as number;
    // predict computes no loss, but the data path wants labels of the output's shape.
    const yDummy = tf.zeros([n, ...(model.outputs[0]?.shape.slice(1) as number[])]);
    try {
      const r = await this.run('predict', model, { test: toArrays('x', x, 'y', yDummy) }, { epochs: 1, batchSize: args.batchSize ?? 32, verbose: 0 }, args.compile ?? { optimizer: 'sgd', loss: 'mse' });
      if (!r.predictions) throw new FleetError('FLEET_ERR_DATA', 'Expected predictions from the workers. Received: none');
      return r.predictions;
    } finally {
      yDummy.dispose();
    }
  }

  private async run(task: Task, model: tf.LayersModel, splits: Partial<Record<'train' | 'validation' | 'test', ArrayData>>, fit: FitSpec, compileArg: CompileSpec | undefined, callbacks: Callback[] = []): Promise<RunResult> {
    const compile = compileArg ?? compileOf(model);
    if (typeof compile.loss !== 'string') throw new FleetError('FLEET_ERR_LOSS', 'Expected a loss name for the programmatic API (custom loss functions need a job module, which workers import). Received: a function');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tensorfleet-inline-'));
    try {
      const meta: InlineMeta = { compile: { loss: compile.loss, metrics: compile.metrics ?? [] }, fit, splits: {}, modules: (this.opts.modules ?? []).map((m) => path.resolve(m)), ...(this.opts.syncBatchNorm && { syncBatchNorm: true }) };
      mkdirSync(dir, { recursive: true });
      for (const [name, d] of Object.entries(splits)) {
        if (!d) continue;
        writeFileSync(path.join(dir, `${name}.x.f32`), Buffer.from(d.x.buffer, d.x.byteOffset, d.x.byteLength));
        writeFileSync(path.join(dir, `${name}.y.f32`), Buffer.from(d.y.buffer, d.y.byteOffset, d.y.byteLength));
        meta.splits[name as keyof InlineMeta['splits']] = { xShape: [...d.xShape], yShape: [...d.yShape] };
      }
      writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta));
      const empty: ArrayData = { x: new Float32Array(0), xShape: [0, ...(splits.test?.xShape.slice(1) ?? [])], y: new Float32Array(0), yShape: [0] };
      const job: Job = { model: () => model, compile, data: () => ({ train: splits.train ?? empty, ...(splits.validation && { validation: splits.validation }), ...(splits.test && { test: splits.test }) }), fit, callbacks: () => callbacks, ...(this.opts.syncBatchNorm && { syncBatchNorm: true }) };
      for (const m of meta.modules) await importUserModule(m);
      const local: LocalOptions & { task: Task } = {
        job: INLINE_JOB, workers: this.opts.workers, backend: this.opts.backend ?? 'auto', metricsHost: '127.0.0.1', metricsPort: this.opts.metricsPort ?? 0,
        heartbeatIntervalMs: DEFAULTS.heartbeatIntervalSeconds * 1000,
        heartbeatTimeoutMs: DEFAULTS.heartbeatTimeoutSeconds * 1000,
        joinTimeoutMs: DEFAULTS.joinTimeoutSeconds * 1000,
        quiet: this.opts.quiet ?? true, task,
      };
      return await runLocalJob(job, { path: INLINE_JOB, args: { dir }, label: 'fit()' }, local);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Starts a local cluster handle (workers are started per call). */
export async function local(opts: LocalClusterOptions): Promise<LocalCluster> {
  if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new FleetError('FLEET_ERR_CONFIG', `Expected workers to be an integer >= 1. Received: ${describe(opts.workers)}`);
  return new LocalCluster(Object.freeze({ ...opts }));
}

function toArrays(xName: string, x: tf.Tensor, yName: string, y: tf.Tensor): ArrayData {
  if (!(x instanceof tf.Tensor) || !(y instanceof tf.Tensor)) throw new FleetError('FLEET_ERR_DATA', `Expected ${xName} and ${yName} to be tf.Tensors. Received: ${describe(x?.constructor?.name)}, ${describe(y?.constructor?.name)}`);
  if (x.shape[0] !== y.shape[0]) throw new FleetError('FLEET_ERR_DATA', `Expected ${xName} and ${yName} to have the same number of rows. Received: ${x.shape[0]} and ${y.shape[0]}`);
  return { x: x.dataSync() instanceof Float32Array ? (x.dataSync() as Float32Array) : Float32Array.from(x.dataSync()), xShape: x.shape, y: Float32Array.from(y.dataSync()), yShape: y.shape };
}

/** Reads the compile options tfjs's model.compile recorded: optimizer instance, loss name, metric names. */
function compileOf(model: tf.LayersModel): CompileSpec {
  const optimizer = (model as unknown as { optimizer?: tf.Optimizer }).optimizer;
  const loss = (model as unknown as { loss?: unknown }).loss;
  if (!optimizer || loss === undefined) throw new FleetError('FLEET_ERR_CONFIG', 'Expected a compiled model: call model.compile({ optimizer, loss, metrics }) or pass { compile }. Received: an uncompiled model');
  const lossName = Array.isArray(loss) ? loss[0] : loss;
  if (typeof lossName !== 'string') throw new FleetError('FLEET_ERR_LOSS', 'Expected a loss name for the programmatic API. Received: a function');
  const names = ((model as unknown as { metricsNames?: string[] }).metricsNames ?? []).slice(1).map((m) => (m === 'acc' ? 'accuracy' : m));
  return { optimizer, loss: lossName, metrics: names };
}
