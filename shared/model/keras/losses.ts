/**
 * Keras loss and metric names resolved to per-sample functions built from tfjs ops.
 * Both take (yTrue, yPred) and return one value per example; callers reduce with a mean (loss) or sum.
 */
import * as tf from '@tensorflow/tfjs';
import { FleetError } from '../../runtime/errors.ts';

/** A per-sample loss or metric: returns a tensor of shape [batch]. */
export type SampleFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

const EPS = 1e-7;

function sparseCategoricalCrossentropy(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  // Same composition as tfjs-layers' own loss, so single-process and distributed runs agree to rounding.
  const depth = yPred.shape[yPred.shape.length - 1] as number;
  const labels = tf.cast(tf.floor(tf.reshape(yTrue, [-1])), 'int32');
  const clipped = tf.clipByValue(yPred, EPS, 1 - EPS);
  const oneHot = tf.reshape(tf.oneHot(labels, depth), clipped.shape);
  return tf.metrics.categoricalCrossentropy(oneHot, clipped);
}

function sparseCategoricalAccuracy(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  const labels = tf.cast(tf.reshape(yTrue, [-1]), 'int32');
  return tf.cast(tf.equal(tf.argMax(yPred, -1), labels), 'float32');
}

const LOSSES: Record<string, SampleFn> = {
  sparse_categorical_crossentropy: sparseCategoricalCrossentropy,
  categorical_crossentropy: (t, p) => tf.metrics.categoricalCrossentropy(t, p),
  binary_crossentropy: (t, p) => tf.metrics.binaryCrossentropy(t, p),
  mean_squared_error: (t, p) => tf.metrics.meanSquaredError(t, p),
  mean_absolute_error: (t, p) => tf.metrics.meanAbsoluteError(t, p),
};
const LOSS_ALIASES: Record<string, string> = { mse: 'mean_squared_error', mae: 'mean_absolute_error' };

const METRICS: Record<string, SampleFn> = {
  sparse_categorical_accuracy: sparseCategoricalAccuracy,
  categorical_accuracy: (t, p) => tf.metrics.categoricalAccuracy(t, p),
  binary_accuracy: (t, p) => tf.metrics.binaryAccuracy(t, p),
  mean_squared_error: (t, p) => tf.metrics.meanSquaredError(t, p),
  mean_absolute_error: (t, p) => tf.metrics.meanAbsoluteError(t, p),
  ...Object.fromEntries(Object.entries(LOSSES).filter(([k]) => k.includes('crossentropy'))),
};

/** Keras spelling of a name: camelCase and PascalCase become snake_case. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Canonical Keras loss name for a user-given one, or a FLEET_ERR_LOSS listing the known names. */
export function canonicalLoss(name: string): string {
  const snake = snakeCase(name);
  const canonical = LOSS_ALIASES[snake] ?? snake;
  if (!(canonical in LOSSES)) {
    throw new FleetError('FLEET_ERR_LOSS', `Expected a loss among ${[...Object.keys(LOSSES), ...Object.keys(LOSS_ALIASES)].join(', ')}. Received: "${name}"`);
  }
  return canonical;
}

/** The per-sample loss function for a Keras loss name. */
export function lossFunction(name: string): SampleFn {
  return LOSSES[canonicalLoss(name)] as SampleFn;
}

/**
 * Canonical metric name. Like Keras, 'accuracy'/'acc' resolve by the loss: sparse categorical,
 * categorical or binary accuracy. The History key stays the name the user wrote.
 */
export function canonicalMetric(name: string, loss: string): string {
  const snake = snakeCase(name);
  if (snake === 'accuracy' || snake === 'acc') {
    // A custom loss gives no hint; Keras then falls back to categorical accuracy.
    const l = loss === 'custom' ? 'categorical_crossentropy' : canonicalLoss(loss);
    if (l === 'sparse_categorical_crossentropy') return 'sparse_categorical_accuracy';
    if (l === 'binary_crossentropy') return 'binary_accuracy';
    return 'categorical_accuracy';
  }
  const canonical = LOSS_ALIASES[snake] ?? snake;
  if (!(canonical in METRICS)) throw new FleetError('FLEET_ERR_METRIC', `Expected a metric among accuracy, ${Object.keys(METRICS).join(', ')}. Received: "${name}"`);
  return canonical;
}

/** The per-sample metric function for a metric name, given the compiled loss. */
export function metricFunction(name: string, loss: string): SampleFn {
  return METRICS[canonicalMetric(name, loss)] as SampleFn;
}
