/**
 * A job is a TypeScript module whose default export is `defineJob({...})`: the model, the compile
 * options, the data and the fit options. The coordinator and every worker import the same module,
 * so custom layers registered at its top level exist in every process.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { augmentSpecSchema, type AugmentSpec } from './augment/config.ts';
import type { Callback } from './callbacks.ts';
import type { TrainStep } from './custom-step.ts';
import type { ArrayData } from './data/dataset.ts';
import { fleetError } from '../runtime/catalogue/index.ts';
import { isFleetError, type ErrorCode } from '../runtime/errors.ts';
import { siblingPath } from '../runtime/module-path.ts';
import { importUserModule } from '../runtime/tsx.ts';
import {
  canonicalLoss,
  canonicalMetric,
  customLoss,
  lossFunction,
  metricFunction,
  type SampleFn,
} from './keras/losses.ts';
import { makeOptimizer, type OptimizerSpec } from './keras/optimizers.ts';

/** Model.compile options, Keras-style. */
export interface CompileSpec {
  /** A Keras name or config, or a tfjs optimizer instance (kept on the coordinator only). */
  optimizer: OptimizerSpec | tf.Optimizer;
  /** A Keras loss name, or a custom per-sample function (yTrue, yPred) => Tensor. */
  loss: string | SampleFn;
  metrics?: string[];
}

/** Model.fit options. `batchSize` is the global batch, split across workers. */
export interface FitSpec {
  epochs: number;
  batchSize: number;
  /** Shuffle the training order every epoch with a seeded permutation (default true). */
  shuffle?: boolean;
  /** Seed of the data order (default 1337). */
  seed?: number;
  /** Fraction of train held out for validation, from the tail, as Keras does. */
  validationSplit?: number;
  /** 0 silent, 1 progress bar, 2 one line per epoch (default 1). */
  verbose?: 0 | 1 | 2;
  /** Epoch to start at (0-based), e.g. to continue an earlier run. */
  initialEpoch?: number;
}

/** The data a job provides; every process calls `data()` and must get the same arrays. */
export interface JobData {
  train: ArrayData;
  validation?: ArrayData;
  test?: ArrayData;
}

/** A tensorfleet job. */
export interface Job {
  name?: string;
  /** Builds the model; called on the coordinator only (workers rebuild it from its Keras JSON). */
  model(): tf.LayersModel;
  compile: CompileSpec;
  data(): JobData | Promise<JobData>;
  fit: FitSpec;
  /** Keras callbacks for this fit; a function so that workers, which import the job too, build none. */
  callbacks?: () => Callback[];
  /**
   * Keras augmentation layers ({ class_name, config }) applied to every training batch in the workers'
   * batch threads.
   */
  augment?: AugmentSpec;
  /**
   * A custom training step (model, x, y) => { loss, predictions? } that every worker runs instead of the
   * compiled loss.
   */
  trainStep?: TrainStep;
  /**
   * Every BatchNormalization layer normalises with the statistics of the whole global batch, across
   * workers (Keras `synchronized=True`, PyTorch SyncBatchNorm), so training matches one process at
   * the global batch size. Costs 2 round trips per layer per step and re-runs the step (shared/model/sync-bn).
   */
  syncBatchNorm?: boolean;
}

/** Identity helper that gives job modules type checking. */
export function defineJob(job: Job): Job {
  return job;
}

const fnSchema = z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function', 'a function');
const optimizerSchema = z.union([
  z.string(),
  z.looseObject({
    name: z.string(),
    learningRate: z.number().positive().optional(),
    momentum: z.number().min(0).optional(),
    nesterov: z.boolean().optional(),
  }),
]);
const jobSchema = z.looseObject({
  name: z.string().optional(),
  model: fnSchema,
  data: fnSchema,
  compile: z.strictObject({
    optimizer: z.union([optimizerSchema, z.instanceof(tf.Optimizer)]),
    loss: z.union([z.string(), fnSchema]),
    metrics: z.array(z.string()).optional(),
  }),
  fit: z.strictObject({
    epochs: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    shuffle: z.boolean().optional(),
    seed: z.number().int().min(0).optional(),
    validationSplit: z.number().gt(0).lt(1).optional(),
    verbose: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    initialEpoch: z.number().int().min(0).optional(),
  }),
  callbacks: fnSchema.optional(),
  augment: augmentSpecSchema.optional(),
  trainStep: fnSchema.optional(),
  syncBatchNorm: z.boolean().optional(),
});

/**
 * Prefix of a job path that names a module of the loading process's own tensorfleet, e.g.
 * `tensorfleet:api/inline-job` (the programmatic API's job): a worker on another host finds its own copy.
 */
export const OWN_MODULE_PREFIX = 'tensorfleet:';

/** Imports and validates a job module (a Job, or a factory called with `args`); errors name the file. */
export async function loadJob(file: string, args?: Record<string, unknown>): Promise<Job> {
  const own = file.startsWith(OWN_MODULE_PREFIX) ? file.slice(OWN_MODULE_PREFIX.length) : undefined;
  const abs = own !== undefined ? siblingPath(`../../${own}.ts`, import.meta.url) : path.resolve(file);
  if (!existsSync(abs)) throw fleetError('JOB_NOT_FOUND', { file: abs }, { file: abs });
  let mod: Record<string, unknown>;
  try {
    mod = await importUserModule(abs);
  } catch (err) {
    throw fleetError('JOB_LOAD_FAILED', { file: abs, reason: (err as Error).message }, { file: abs });
  }
  let job = mod['default'] ?? mod['job'];
  if (typeof job === 'function') {
    try {
      job = await (job as (a: unknown) => unknown)(args ?? {});
    } catch (err) {
      throw fleetError('JOB_FACTORY_FAILED', { file: abs, reason: (err as Error).message }, { file: abs });
    }
  }
  const parsed = jobSchema.safeParse(job);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const values = {
      file: abs,
      fields: '{ model, compile, data, fit }',
      path: issue?.path.join('.') || 'export',
      issue: issue?.message,
    };
    throw fleetError('JOB_NOT_DEFINED', values, { file: abs });
  }
  try {
    checkCompile((job as Job).compile);
  } catch (err) {
    const id = (isFleetError(err) && COMPILE_ERRORS[err.code]) || 'JOB_COMPILE_INVALID';
    throw fleetError(id, { file: abs, reason: (err as Error).message }, { file: abs });
  }
  return job as Job;
}

type CompileErrorId = 'JOB_COMPILE_LOSS' | 'JOB_COMPILE_METRIC' | 'JOB_COMPILE_OPTIMIZER';
/** The message of a compile spec's error, by the code checkCompile raised; any other error is FLEET_ERR_JOB_INVALID. */
const COMPILE_ERRORS: Partial<Record<ErrorCode, CompileErrorId>> = {
  FLEET_ERR_LOSS: 'JOB_COMPILE_LOSS',
  FLEET_ERR_METRIC: 'JOB_COMPILE_METRIC',
  FLEET_ERR_OPTIMIZER: 'JOB_COMPILE_OPTIMIZER',
};

/** Validates loss, metrics and optimizer names before any worker starts. */
export function checkCompile(spec: CompileSpec): void {
  const lossName = typeof spec.loss === 'string' ? canonicalLoss(spec.loss) : 'custom';
  for (const m of spec.metrics ?? []) canonicalMetric(m, lossName);
  if (!(spec.optimizer instanceof tf.Optimizer)) makeOptimizer(spec.optimizer).dispose();
}

/** The per-sample loss and metric functions of a compile spec (custom functions pass through). */
export function compiledFunctions(spec: CompileSpec): { loss: SampleFn; metrics: SampleFn[] } {
  const lossName = typeof spec.loss === 'string' ? spec.loss : 'custom';
  return {
    loss: typeof spec.loss === 'string' ? lossFunction(spec.loss) : customLoss(spec.loss),
    metrics: (spec.metrics ?? []).map((m) => metricFunction(m, lossName)),
  };
}
