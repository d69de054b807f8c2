/**
 * The GradientTape-style training step, shared by workers and exported for users' own loops.
 * `tapeGradients` is `tf.GradientTape.gradient`; `gradientStep` is one worker's share of a round.
 */
import * as tf from '@tensorflow/tfjs';
import type { SampleFn } from './keras/losses.ts';

/** Runs `f` under a tape and returns its scalar value and d value / d variables, in `variables` order. */
export function tapeGradients(
  f: () => tf.Scalar,
  variables: readonly tf.Variable[],
): { value: tf.Scalar; grads: tf.Tensor[] } {
  const { value, grads } = tf.variableGrads(f, [...variables]);
  return { value, grads: variables.map((v) => grads[v.name] as tf.Tensor) };
}

/** The trainable tf.Variables of a model, in model.trainableWeights order. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Result of one step: gradients (caller disposes), mean loss, and per-metric sums over the batch. */
export interface StepResult {
  readonly grads: tf.Tensor[];
  readonly loss: number;
  readonly metricSums: number[];
}

/**
 * Forward in training mode, mean loss plus regularization losses, backward. The gradient is of the
 * batch *mean*, so a coordinator recovers the global-batch gradient by a sample-weighted average.
 */
export function gradientStep(
  model: tf.LayersModel,
  loss: SampleFn,
  metrics: readonly SampleFn[],
  x: tf.Tensor,
  y: tf.Tensor,
): StepResult {
  let metricTensors: tf.Tensor[] = [];
  const { value, grads } = tapeGradients(() => {
    const pred = model.apply(x, { training: true }) as tf.Tensor;
    metricTensors = metrics.map((m) => tf.keep(tf.sum(m(y, pred))));
    const main = tf.mean(loss(y, pred)) as tf.Scalar;
    const regs = model.calculateLosses();
    return regs.length > 0 ? (tf.addN([main, ...regs]) as tf.Scalar) : main;
  }, trainableVariables(model));
  const lossValue = value.dataSync()[0] as number;
  const metricSums = metricTensors.map((t) => t.dataSync()[0] as number);
  tf.dispose([value, ...metricTensors]);
  return { grads, loss: lossValue, metricSums };
}

/** Loss and metric sums over a batch in inference mode, without gradients. */
export function evaluateBatch(
  model: tf.LayersModel,
  loss: SampleFn,
  metrics: readonly SampleFn[],
  x: tf.Tensor,
  y: tf.Tensor,
): { lossSum: number; metricSums: number[] } {
  return tf.tidy(() => {
    const pred = model.apply(x, { training: false }) as tf.Tensor;
    const lossSum = tf.sum(loss(y, pred)).dataSync()[0] as number;
    const metricSums = metrics.map((m) => tf.sum(m(y, pred)).dataSync()[0] as number);
    return { lossSum, metricSums };
  });
}
