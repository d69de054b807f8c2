/** tensorfleet's public API: define jobs, load data, run the GradientTape-style step, run a local cluster. */
export { defineJob, loadJob, type Job, type JobData, type CompileSpec, type FitSpec } from './shared/job.ts';
export { loadMnist, type MnistOptions } from './shared/data/mnist.ts';
export type { ArrayData } from './shared/data/dataset.ts';
export { tapeGradients, gradientStep, evaluateBatch, trainableVariables } from './shared/step.ts';
export { lossFunction, metricFunction } from './shared/keras/losses.ts';
export { makeOptimizer } from './shared/keras/optimizers.ts';
export { selectBackend, describeChoice } from './shared/backend/select.ts';
export { FleetError, ERROR_CODES } from './shared/errors.ts';
export { PROTOCOL_VERSION } from './shared/protocol.ts';
export { runLocal } from './cli/local.ts';
