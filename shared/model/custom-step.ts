/**
 * A user's own training step on the cluster: the guide's GradientTape loop body, written as a
 * function of (model, x, y) that returns the loss, runs on every worker for its shard under
 * tensorfleet's tape, and the coordinator averages the gradients as for the built-in step.
 */
import * as tf from '@tensorflow/tfjs';
import { describe } from '../runtime/errors.ts';
import { fleetError } from '../runtime/catalogue/index.ts';
import type { SampleFn } from './keras/losses.ts';
import { tapeGradients, trainableVariables, type StepResult } from './step.ts';

/** What a train step returns: the batch-mean loss, and the predictions when compile.metrics are to be reported. */
export interface TrainStepOutput {
  /** Scalar loss of the batch, a *mean* over its rows (the coordinator weights shards by size). */
  loss: tf.Scalar;
  /** The model's outputs for x, used for compile.metrics; required when metrics are set. */
  predictions?: tf.Tensor;
}

/**
 * A job's `trainStep(model, x, y)`: forward in training mode (`model.apply(x, { training: true })`)
 * with the user's own loss (add `model.calculateLosses()` yourself for regularizers, as a Keras
 * custom loop adds `model.losses`). Runs under a tape; tensors it creates are freed by the step.
 */
export type TrainStep = (model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor) => TrainStepOutput;

function checkOutput(out: unknown, wantPredictions: boolean): TrainStepOutput {
  const o = out as Partial<TrainStepOutput> | undefined;
  if (!o || !(o.loss instanceof tf.Tensor) || o.loss.rank !== 0) {
    const got =
      o?.loss instanceof tf.Tensor
        ? `loss of shape [${o.loss.shape.join(', ')}]`
        : describe(out === undefined ? undefined : Object.keys(out as object));
    throw fleetError('STEP_BAD_LOSS', { form: '{ loss: tf.Scalar, predictions? }', received: got });
  }
  if (wantPredictions && !(o.predictions instanceof tf.Tensor)) {
    throw fleetError('STEP_NO_PREDICTIONS', { keys: Object.keys(o) });
  }
  return o as TrainStepOutput;
}

/**
 * gradientStep with the user's step in place of the compiled loss: d(loss)/d(trainable weights) in
 * model.trainableWeights order (zeros for weights the loss does not reach), the loss value, and
 * metric sums over the batch computed from the returned predictions.
 */
export function customGradientStep(
  model: tf.LayersModel,
  trainStep: TrainStep,
  metrics: readonly SampleFn[],
  x: tf.Tensor,
  y: tf.Tensor,
): StepResult {
  const variables = trainableVariables(model);
  let metricTensors: tf.Tensor[] = [];
  const { value, grads } = tapeGradients(() => {
    const out = checkOutput(trainStep(model, x, y), metrics.length > 0);
    const predictions = out.predictions;
    if (predictions) metricTensors = metrics.map((m) => tf.keep(tf.sum(m(y, predictions))));
    return out.loss;
  }, variables);
  const filled = grads.map((g, i) => g ?? tf.zerosLike(variables[i] as tf.Variable));
  const loss = value.dataSync()[0] as number;
  const metricSums = metricTensors.map((t) => t.dataSync()[0] as number);
  tf.dispose([value, ...metricTensors]);
  return { grads: filled, loss, metricSums };
}
