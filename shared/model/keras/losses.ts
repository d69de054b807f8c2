/**
 * Keras loss and metric names resolved to per-sample functions built from tfjs ops.
 * Both take (yTrue, yPred) and return one value per example; callers reduce with a mean (loss) or sum.
 */
import * as tf from '@tensorflow/tfjs';
import { fleetError } from '../../runtime/catalogue/index.ts';

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

/**
 * Keras's `squeeze_or_expand_to_same_rank`: labels one rank short of the output gain a trailing axis of
 * 1 and labels one rank over it with a trailing 1 lose it, so `(n,)` labels meet an `(n, 1)` output
 * row by row instead of broadcasting to `(n, n)`.
 */
export function matchLabelRank(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  const last = (t: tf.Tensor) => t.shape[t.rank - 1];
  if (yTrue.rank === yPred.rank - 1 && last(yPred) === 1) return tf.expandDims(yTrue, -1);
  if (yTrue.rank === yPred.rank + 1 && last(yTrue) === 1) return tf.squeeze(yTrue, [-1]);
  return yTrue;
}

/** A loss or metric of same-shaped labels and outputs, with labels brought to the output's rank first. */
const ranked =
  (f: SampleFn): SampleFn =>
  (t, p) =>
    perRow(f(matchLabelRank(t, p), p), p);

/** A loss value as one value per row: a scalar (already a batch mean) repeated, extra axes averaged. */
function perRow(out: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  if (out.rank === 0) return tf.mul(tf.ones([yPred.shape[0] ?? 1]), out);
  return out.rank === 1 ? out : tf.mean(out, [...Array(out.rank).keys()].slice(1));
}

/**
 * A user's loss as a per-sample one, following Keras's LossFunctionWrapper: labels matched to the
 * output's rank, a scalar result taken as every row's value (it is already the batch mean), and extra
 * axes averaged, so training and evaluation reduce it the same way.
 */
export function customLoss(f: SampleFn): SampleFn {
  return ranked(f);
}

const LOSSES: Record<string, SampleFn> = {
  sparse_categorical_crossentropy: sparseCategoricalCrossentropy,
  categorical_crossentropy: ranked((t, p) => tf.metrics.categoricalCrossentropy(t, p)),
  binary_crossentropy: ranked((t, p) => tf.metrics.binaryCrossentropy(t, p)),
  mean_squared_error: ranked((t, p) => tf.metrics.meanSquaredError(t, p)),
  mean_absolute_error: ranked((t, p) => tf.metrics.meanAbsoluteError(t, p)),
};
const LOSS_ALIASES: Record<string, string> = { mse: 'mean_squared_error', mae: 'mean_absolute_error' };

const METRICS: Record<string, SampleFn> = {
  sparse_categorical_accuracy: sparseCategoricalAccuracy,
  categorical_accuracy: ranked((t, p) => tf.metrics.categoricalAccuracy(t, p)),
  binary_accuracy: ranked((t, p) => tf.metrics.binaryAccuracy(t, p)),
  mean_squared_error: ranked((t, p) => tf.metrics.meanSquaredError(t, p)),
  mean_absolute_error: ranked((t, p) => tf.metrics.meanAbsoluteError(t, p)),
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
    throw fleetError('LOSS_UNKNOWN', {
      names: [...Object.keys(LOSSES), ...Object.keys(LOSS_ALIASES)].join(', '),
      name,
    });
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
  if (!(canonical in METRICS)) throw fleetError('METRIC_UNKNOWN', { names: Object.keys(METRICS).join(', '), name });
  return canonical;
}

/** The per-sample metric function for a metric name, given the compiled loss. */
export function metricFunction(name: string, loss: string): SampleFn {
  return METRICS[canonicalMetric(name, loss)] as SampleFn;
}
