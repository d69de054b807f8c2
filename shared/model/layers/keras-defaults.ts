/**
 * The guide's layers with Keras 3's defaults where tfjs's differ, under tfjs's camelCase options:
 * `layers.lstm({ units: 50, returnSequences: true })` uses sigmoid for its gates, as Keras 3 does
 * (tfjs defaults to Keras 2's hard sigmoid, which Keras 3 no longer computes the same way), so a model
 * built from these saves to .h5/.keras and predicts the same in Python Keras.
 */
import * as tf from '@tensorflow/tfjs';
import { randomContrast, randomFlip, randomRotation, randomZoom } from './index.ts';

type Args<F extends (...a: never[]) => unknown> = NonNullable<Parameters<F>[0]>;

/**
 * Keras-default layer factories; each returns the tfjs layer, so models mix them with tf.layers freely.
 * Where tfjs's defaults already are Keras 3's, the factory is tfjs's own.
 */
export const layers = {
  dense: tf.layers.dense,
  dropout: tf.layers.dropout,
  flatten: tf.layers.flatten,
  conv2d: tf.layers.conv2d,
  // Return types spelled out: inferred ones emit deep tfjs-layers paths into our .d.ts that NodeNext cannot resolve.
  maxPooling2d: (args: Args<typeof tf.layers.maxPooling2d> = {}): ReturnType<typeof tf.layers.maxPooling2d> =>
    tf.layers.maxPooling2d(args),
  batchNormalization: tf.layers.batchNormalization,
  embedding: tf.layers.embedding,
  simpleRNN: tf.layers.simpleRNN,
  lstm: (args: Args<typeof tf.layers.lstm>): ReturnType<typeof tf.layers.lstm> =>
    tf.layers.lstm({ recurrentActivation: 'sigmoid', ...args }),
  gru: (args: Args<typeof tf.layers.gru>): ReturnType<typeof tf.layers.gru> =>
    tf.layers.gru({ recurrentActivation: 'sigmoid', ...args }),
  randomFlip,
  randomRotation,
  randomZoom,
  randomContrast,
} as const;
