/**
 * The guide's "Layer Types" in one Functional model on MNIST: a convolutional branch (Conv2D,
 * BatchNormalization, MaxPooling2D, GlobalAveragePooling2D) and a recurrent branch that reads each
 * image as a sequence of 28 rows (LSTM with returnSequences, Flatten), joined and classified by
 * Dense layers with Dropout.
 *   npx tensorfleet local --workers 2 --backend wasm examples/layer-types.ts
 * A job factory: `trainCount`/`testCount` (defaults 12,000 / 2,000) size the data.
 */
import * as tf from '@tensorflow/tfjs';
import { defineJob, loadMnist } from '../index.ts';

type Sym = tf.SymbolicTensor;

/** The two-branch model; every layer type from the guide's list appears once at least. */
export function layerTypesModel(): tf.LayersModel {
  const inputs = tf.input({ shape: [28, 28, 1], name: 'image' });
  // Convolutional branch: Conv2D(32, (3, 3), relu), BatchNormalization, MaxPooling2D((2, 2)), Conv2D(64), global pooling.
  let c = tf.layers.conv2d({ filters: 32, kernelSize: [3, 3], activation: 'relu' }).apply(inputs) as Sym;
  c = tf.layers.batchNormalization({}).apply(c) as Sym;
  c = tf.layers.maxPooling2d({ poolSize: [2, 2] }).apply(c) as Sym;
  c = tf.layers.conv2d({ filters: 64, kernelSize: [3, 3], activation: 'relu' }).apply(c) as Sym;
  c = tf.layers.globalAveragePooling2d({}).apply(c) as Sym;
  // Recurrent branch: the 28 rows as 28 time steps of 28 features, LSTM(units=50, return_sequences=True).
  let r = tf.layers.reshape({ targetShape: [28, 28] }).apply(inputs) as Sym;
  r = tf.layers.lstm({ units: 50, returnSequences: true }).apply(r) as Sym;
  r = tf.layers.flatten().apply(r) as Sym;
  // Head: Dense(64, relu), Dropout(0.5), Dense(10, softmax).
  let x = tf.layers.concatenate().apply([c, r]) as Sym;
  x = tf.layers.dense({ units: 64, activation: 'relu' }).apply(x) as Sym;
  x = tf.layers.dropout({ rate: 0.5 }).apply(x) as Sym;
  const outputs = tf.layers.dense({ units: 10, activation: 'softmax' }).apply(x) as Sym;
  return tf.model({ inputs, outputs, name: 'layer_types' });
}

export default function job(args: { trainCount?: number; testCount?: number } = {}) {
  return defineJob({
    name: 'layer-types',
    model: layerTypesModel,
    compile: { optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
    data: () =>
      loadMnist({ layout: 'image', trainCount: args.trainCount ?? 12_000, testCount: args.testCount ?? 2_000 }),
    fit: { epochs: 3, batchSize: 64, validationSplit: 0.1, verbose: 1 },
  });
}
