/**
 * The programmatic API in the Keras guide's style:
 *
 *   await using cluster = await tensorfleet.local({ workers: 2 });     // or cluster({ bind, workers, ... })
 *   const history = await cluster.fit(model, xTrain, yTrain, { epochs: 5, batchSize: 64, validationSplit: 0.1 });
 *   const [loss, accuracy] = await cluster.evaluate(model, xTest, yTest);
 *   const predictions = await cluster.predict(model, xTest);
 *
 * A cluster is a handle on what runs: the coordinator's hub in this process and its workers, kept across
 * calls until `close()`. The model stays in the caller's process (it is the coordinator's model, so it ends
 * up trained, and a second fit continues from its weights and optimizer state, as Keras does). Each call
 * welcomes the same workers again with its job, model, weights and data; the data goes through a
 * temporary folder for `local()` and travels with the welcome for `cluster({ bind })`.
 *
 * Room: api/ is the programmatic entry (this cluster and the local launcher); it may import
 * coordinator/ and shared/, and nothing in the library imports cli/ or bench/.
 */
import { rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { prepareTask, runTask, type CoordinatorOptions, type RunResult, type Task } from '../coordinator/run.ts';
import type { History } from '../coordinator/training.ts';
import type { OpenHub } from '../coordinator/open-hub.ts';
import type { Callback } from '../shared/model/callbacks.ts';
import type { CompileSpec, FitSpec, Job } from '../shared/model/job.ts';
import { makeOptimizer } from '../shared/model/keras/optimizers.ts';
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import {
  compileOf,
  lossRefOf,
  splitShapes,
  toArrays,
  wireArrays,
  writeCallFolder,
  type CallSplits,
} from './call-data.ts';
import { INLINE_JOB, type ClusterSpec } from './open.ts';
import { reap } from './launcher.ts';
import type { InlineMeta } from './inline-job.ts';

export { local, cluster, type LocalClusterOptions, type ClusterOptions } from './open.ts';

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

/** evaluate and predict arguments. */
export interface EvaluateArgs {
  batchSize?: number;
  compile?: CompileSpec;
}

/**
 * A running cluster: a hub in this process and its workers, reused by every fit, evaluate and predict
 * until `close()`. Calls on one cluster run one at a time, in the order they were made.
 */
export class Cluster implements AsyncDisposable {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** The optimizer made for a model from a compile spec given by name, kept so a second fit continues it. */
  private readonly optimizers = new WeakMap<tf.LayersModel, { key: string; optimizer: tf.Optimizer }>();

  /** Use `local()` or `cluster()`; this wraps what they opened. */
  constructor(
    private readonly open: OpenHub,
    private readonly spec: ClusterSpec,
    private readonly children: readonly ChildProcess[],
  ) {}

  /** The endpoint the hub is bound to (workers connect here). */
  get endpoint(): string {
    return this.open.endpoint;
  }

  /** Process ids of the workers healthy now, by rank. */
  get workerPids(): number[] {
    return this.open.hub.peers.inState('HEALTHY').map((p) => p.pid);
  }

  /** Trains `model` on (x, y), distributed; returns the Keras History. */
  fit(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, args: FitArgs = {}): Promise<History> {
    if (args.validationSplit !== undefined && !(args.validationSplit > 0 && args.validationSplit < 1)) {
      return Promise.reject(fleetError('API_VALIDATION_SPLIT', { received: args.validationSplit }));
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
    return this.enqueue('fit', async () => {
      const v = args.validationData;
      const validation = v && toArrays('validationData[0]', v[0], 'validationData[1]', v[1]);
      const splits: CallSplits = { train: toArrays('x', x, 'y', y), ...(validation && { validation }) };
      const compile = this.compileForFit(model, args.compile);
      return (await this.run('fit', model, splits, fit, compile, args.callbacks)).history;
    });
  }

  /** Distributed evaluation: returns [loss, ...metrics] in compile order, as Keras's evaluate does. */
  evaluate(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, args: EvaluateArgs = {}): Promise<number[]> {
    return this.enqueue('evaluate', async () => {
      const fit: FitSpec = { epochs: 1, batchSize: args.batchSize ?? 32, verbose: 0 };
      const compile = args.compile ?? compileOf(model);
      const r = await this.run('evaluate', model, { test: toArrays('x', x, 'y', y) }, fit, compile);
      return Object.values(r.test ?? {});
    });
  }

  /** Distributed prediction: the rows are sharded across workers and gathered back in order. */
  predict(model: tf.LayersModel, x: tf.Tensor, args: EvaluateArgs = {}): Promise<tf.Tensor> {
    return this.enqueue('predict', async () => {
      const n = x.shape[0] ?? 0;
      // predict computes no loss, but the data path wants labels of the output's shape.
      const outShape = (model.outputs[0]?.shape ?? []).slice(1).map((d) => d ?? 1);
      const yDummy = tf.zeros([n, ...outShape]);
      try {
        const fit: FitSpec = { epochs: 1, batchSize: args.batchSize ?? 32, verbose: 0 };
        const compile = args.compile ?? { optimizer: 'sgd', loss: 'mse' };
        const r = await this.run('predict', model, { test: toArrays('x', x, 'y', yDummy) }, fit, compile);
        if (!r.predictions) throw fleetError('API_NO_PREDICTIONS');
        return r.predictions;
      } finally {
        yDummy.dispose();
      }
    });
  }

  /** Tells the workers done (they exit 0), closes the hub and waits for local workers to exit. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => {});
    try {
      await this.open.close('cluster closed', true);
    } finally {
      await reap(this.children, 10_000);
    }
  }

  /** `await using cluster = await local(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Runs `call` after the calls before it; refuses calls after close(). */
  private enqueue<T>(name: string, call: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(fleetError('API_CLUSTER_CLOSED', { call: name }));
    const result = this.queue.then(call, call);
    this.queue = result.catch(() => {});
    return result;
  }

  /**
   * The compile options of a fit. An optimizer given by name is made once per model and kept, so that
   * a second fit continues its state (Adam's moments and step count), as a second model.fit does.
   */
  private compileForFit(model: tf.LayersModel, given: CompileSpec | undefined): CompileSpec {
    const spec = given ?? compileOf(model);
    if (spec.optimizer instanceof tf.Optimizer) return spec;
    const key = JSON.stringify(spec.optimizer);
    const kept = this.optimizers.get(model);
    if (kept?.key === key) return { ...spec, optimizer: kept.optimizer };
    const optimizer = makeOptimizer(spec.optimizer);
    kept?.optimizer.dispose();
    this.optimizers.set(model, { key, optimizer });
    return { ...spec, optimizer };
  }

  private async run(
    task: Task,
    model: tf.LayersModel,
    splits: CallSplits,
    fit: FitSpec,
    compile: CompileSpec,
    callbacks: Callback[] = [],
  ): Promise<RunResult> {
    const spec = this.spec;
    for (const child of this.children) {
      if (child.exitCode !== null || child.signalCode !== null) {
        const how = child.signalCode ?? `exit code ${child.exitCode}`;
        throw fleetError('API_WORKER_EXITED', { pid: child.pid, how });
      }
    }
    const meta: InlineMeta = {
      compile: { loss: await lossRefOf(compile.loss, spec.modules), metrics: compile.metrics ?? [] },
      fit,
      splits: splitShapes(splits),
      modules: [...spec.modules],
      ...(spec.syncBatchNorm && { syncBatchNorm: true }),
    };
    const xRow = splits.test?.xShape.slice(1) ?? [];
    const empty = { x: new Float32Array(0), xShape: [0, ...xRow], y: new Float32Array(0), yShape: [0] };
    const { validation, test } = splits;
    const job: Job = {
      model: () => model,
      compile,
      fit,
      callbacks: () => callbacks,
      ...(spec.syncBatchNorm && { syncBatchNorm: true }),
      data: () => ({ train: splits.train ?? empty, ...(validation && { validation }), ...(test && { test }) }),
    };
    const healthy = this.open.hub.peers.inState('HEALTHY').length;
    const workers = spec.carry === 'folder' ? spec.workers : Math.max(spec.minWorkers, healthy);
    const opts: CoordinatorOptions & { task: Task } = { ...spec.coordinator, workers, task };
    const dir = spec.carry === 'folder' ? writeCallFolder(meta, splits) : undefined;
    try {
      const args = dir !== undefined ? { dir } : { meta: JSON.stringify(meta) };
      const ref = { path: INLINE_JOB, args, label: `${task}()` };
      const prepared = await prepareTask(job, ref, opts);
      const data = dir === undefined ? { data: wireArrays(splits) } : {};
      return await runTask(this.open, job, ref, prepared, { ...opts, ...data });
    } finally {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      // Between calls, newcomers are welcomed into the lobby (no data), not into a finished call.
      await this.open.hub.admit(0, spec.lobby, 0, spec.maxWorkers);
    }
  }
}

/** The cluster `local()` returns (the name the API had before `cluster()` joined it). */
export { Cluster as LocalCluster };
