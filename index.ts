/** tensorfleet's public API: define jobs, load data, run the GradientTape-style step, run a cluster (local or on several hosts). */
export { defineJob, loadJob, type Job, type JobData, type CompileSpec, type FitSpec } from './shared/model/job.ts';
export { loadMnist, type MnistOptions } from './shared/model/data/mnist.ts';
export type { ArrayData } from './shared/model/data/dataset.ts';
export { tapeGradients, gradientStep, evaluateBatch, trainableVariables } from './shared/model/step.ts';
export { lossFunction, metricFunction } from './shared/model/keras/losses.ts';
export { makeOptimizer } from './shared/model/keras/optimizers.ts';
export { selectBackend, describeChoice } from './shared/runtime/backend/select.ts';
export { FleetError, ERROR_CODES } from './shared/runtime/errors.ts';
export { PROTOCOL_VERSION } from './shared/wire/protocol.ts';
export { runLocal } from './api/launcher.ts';
export {
  local,
  cluster,
  Cluster,
  LocalCluster,
  type LocalClusterOptions,
  type ClusterOptions,
  type FitArgs,
  type EvaluateArgs,
} from './api/cluster.ts';
export type { History } from './coordinator/training.ts';
export {
  CallbackList,
  BaseCallback,
  type Callback,
  type Logs,
  type TrainingControl,
} from './shared/model/callbacks.ts';
export { EarlyStopping } from './coordinator/callbacks/early-stopping.ts';
export { ReduceLROnPlateau } from './coordinator/callbacks/reduce-lr-on-plateau.ts';
export { ModelCheckpoint } from './coordinator/callbacks/model-checkpoint.ts';
export { CSVLogger } from './coordinator/callbacks/csv-logger.ts';
export { LearningRateScheduler } from './coordinator/callbacks/lr-scheduler.ts';
export { TerminateOnNaN } from './coordinator/callbacks/terminate-on-nan.ts';
export { TensorBoard } from './coordinator/callbacks/tensorboard.ts';
export { layers } from './shared/model/layers/keras-defaults.ts';
export {
  RandomFlip,
  RandomRotation,
  RandomZoom,
  RandomContrast,
  randomFlip,
  randomRotation,
  randomZoom,
  randomContrast,
} from './shared/model/layers/index.ts';
export type { AugmentSpec, KerasAugmentationConfig } from './shared/model/augment/config.ts';
export { customGradientStep, type TrainStep, type TrainStepOutput } from './shared/model/custom-step.ts';
export { modelFromKerasJson, modelToKerasJson } from './shared/io/model-json.ts';
export { vgg16, type Vgg16Options } from './shared/io/applications/vgg16.ts';
export { saveModelFiles, modelFilesHandler, loadWeightsSync } from './shared/io/applications/weights-file.ts';
