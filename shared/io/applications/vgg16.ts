/**
 * Keras's VGG16 (keras.applications.VGG16) built with tfjs layers under Keras's layer names
 * (block1_conv1 ... block5_pool, then flatten/fc1/fc2/predictions with the top), for transfer
 * learning. ImageNet weights cannot be downloaded here: pass `weights` as a folder written by
 * saveModelFiles (TensorFlow.js format), or null for a seeded random initialisation.
 */
import * as tf from '@tensorflow/tfjs';
import { fleetError } from '../../runtime/catalogue/index.ts';
import { loadWeightsSync } from './weights-file.ts';

/** keras.applications.VGG16's arguments, camelCased. */
export interface Vgg16Options {
  /** Include the 3 fully connected layers on top (default false here; Keras's default is true). */
  includeTop?: boolean;
  /** [height, width, channels]; height and width at least 32 (default [224, 224, 3]). */
  inputShape?: [number, number, number];
  /** A folder with model.json + weights.bin holding these layers' weights by name, or null (default). */
  weights?: string | null;
  /** Without the top: 'avg' or 'max' global pooling of the last block, or null (default: block5_pool's 4-D output). */
  pooling?: 'avg' | 'max' | null;
  /** Classes of the top's predictions layer (default 1000). */
  classes?: number;
  /** Activation of the predictions layer (default 'softmax'). */
  classifierActivation?: 'softmax' | 'sigmoid' | 'linear';
  /** Seed of the random initialisation (glorot uniform kernels, zero biases; default 0). */
  seed?: number;
}

/** Filters of each convolution, block by block. */
const BLOCKS: readonly (readonly number[])[] = [
  [64, 64],
  [128, 128],
  [256, 256, 256],
  [512, 512, 512],
  [512, 512, 512],
];

/** Builds VGG16 as a functional model named 'vgg16'. */
export function vgg16(opts: Vgg16Options = {}): tf.LayersModel {
  const inputShape = opts.inputShape ?? [224, 224, 3];
  const [h, w, c] = inputShape;
  if (!(h >= 32 && w >= 32 && c >= 1) || !inputShape.every(Number.isInteger)) {
    throw fleetError('VGG16_INPUT_SHAPE', { inputShape });
  }
  let seed = opts.seed ?? 0;
  const kernel = () => tf.initializers.glorotUniform({ seed: seed++ });
  const input = tf.input({ shape: inputShape, name: 'input_layer' });
  let x: tf.SymbolicTensor = input;
  BLOCKS.forEach((filters, b) => {
    filters.forEach((f, i) => {
      x = tf.layers
        .conv2d({
          filters: f,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: kernel(),
          name: `block${b + 1}_conv${i + 1}`,
        })
        .apply(x) as tf.SymbolicTensor;
    });
    x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }).apply(x) as tf.SymbolicTensor;
  });
  if (opts.includeTop) {
    x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .dense({ units: 4096, activation: 'relu', kernelInitializer: kernel(), name: 'fc1' })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .dense({ units: 4096, activation: 'relu', kernelInitializer: kernel(), name: 'fc2' })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .dense({
        units: opts.classes ?? 1000,
        activation: opts.classifierActivation ?? 'softmax',
        kernelInitializer: kernel(),
        name: 'predictions',
      })
      .apply(x) as tf.SymbolicTensor;
  } else if (opts.pooling === 'avg') {
    x = tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as tf.SymbolicTensor;
  } else if (opts.pooling === 'max') {
    x = tf.layers.globalMaxPooling2d({ name: 'global_max_pooling2d' }).apply(x) as tf.SymbolicTensor;
  }
  const model = tf.model({ inputs: input, outputs: x, name: 'vgg16' });
  if (opts.weights) loadWeightsSync(model, opts.weights);
  return model;
}
