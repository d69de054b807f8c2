/**
 * A worker's session with one coordinator: the job loaded, the model rebuilt from the welcome's Keras
 * JSON and weights, the data resolved, and the batch pool that gathers training rows.
 */
import type * as tf from '@tensorflow/tfjs';
import { resolveAugmentSpec, type AugmentPipeline } from '../shared/model/augment/pipeline.ts';
import type { TrainStep } from '../shared/model/custom-step.ts';
import { resolveSplits, type SplitView, type Splits } from '../shared/model/data/dataset.ts';
import { compiledFunctions, loadJob } from '../shared/model/job.ts';
import type { SampleFn } from '../shared/model/keras/losses.ts';
import '../shared/model/layers/index.ts'; // registers RandomFlip, RandomRotation, RandomZoom, RandomContrast for the model JSON
import type { Logger } from '../shared/runtime/log.ts';
import { modelFromKerasJson } from '../shared/io/model-json.ts';
import type { MessageOf } from '../shared/wire/protocol.ts';
import { prepareBatchNorm } from '../shared/model/sync-bn/step.ts';
import { writeWeightsGroup } from '../shared/wire/weights.ts';
import { optimizerFromConfig, writeOptimizerState } from '../shared/model/keras/optimizer-state.ts';
import { BatchPool } from './batch-pool.ts';

/** What a worker holds between requests. */
export interface Session {
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
  /** The coordinator's optimizer, rebuilt here: this worker applies every committed step itself. */
  readonly optimizer: tf.Optimizer;
  weightsVersion: number;
  /** The averaged gradient (then BN statistics) of the round exchanged last, until its commit. */
  pending?: { readonly roundId: number; readonly averaged: Float32Array; readonly learningRate: number };
  /** The batch the pool is gathering for the rows the coordinator said come next (see `round`'s `next`). */
  prefetched?: {
    readonly rows: Int32Array;
    readonly epoch: number;
    readonly batch: Promise<{ x: Float32Array; y: Float32Array }>;
  };
}

/** Builds the session a welcome describes; throws (FleetError or tfjs) when the job, data or model cannot be set up. */
export async function startSession(msg: MessageOf<'welcome'>, log: Logger): Promise<Session> {
  log.info(`joined as rank ${msg.rank}; loading job ${msg.jobPath}`);
  // Arrays that travelled with the welcome reach the job factory as args.arrays (the API's inline job).
  const args = msg.groups.data.length > 0 ? { ...msg.jobArgs, arrays: msg.groups.data } : msg.jobArgs;
  const job = await loadJob(msg.jobPath, args); // registers the job's custom layers in this process
  const splits = resolveSplits(await job.data(), job.fit.validationSplit);
  const model = await modelFromKerasJson(JSON.parse(msg.modelConfig));
  const synchronized = prepareBatchNorm(model, { synchronized: job.syncBatchNorm === true });
  if (job.syncBatchNorm)
    log.info(`syncBatchNorm: ${synchronized} BatchNormalization layer(s) normalise over the global batch`);
  const augment = job.augment && resolveAugmentSpec(job.augment, splits.train.data.xShape);
  writeWeightsGroup(model, msg.groups.weights);
  const optimizer = optimizerFromConfig(msg.optimizer);
  if (msg.optimizerIterations !== undefined) {
    await writeOptimizerState(model, optimizer, {
      iterations: msg.optimizerIterations,
      slots: [...msg.groups.optimizer],
    });
  }
  const sources: Record<string, SplitView['data']> = { train: splits.train.data };
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
    optimizer,
    weightsVersion: 0, // the welcome carried version 0
  };
}
