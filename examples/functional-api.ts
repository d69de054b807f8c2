/**
 * The guide's Functional API: the same MLP as the Sequential examples, built from keras.Input and
 * layer calls (tf.input / layer.apply), trained on MNIST on the cluster.
 *   npx tensorfleet local --workers 2 examples/functional-api.ts
 * A job factory: `trainCount`/`testCount` (defaults: all of MNIST) shrink the data for quick runs.
 */
import * as tf from '@tensorflow/tfjs';
import { defineJob, loadMnist } from '../index.ts';

/** inputs 784 → Dense 128 relu → Dropout 0.2 → Dense 64 relu → Dropout 0.2 → Dense 10 softmax. */
export function functionalMlp(): tf.LayersModel {
  const inputs = tf.input({ shape: [784] });
  let x = tf.layers.dense({ units: 128, activation: 'relu' }).apply(inputs) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 64, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.2 }).apply(x) as tf.SymbolicTensor;
  const outputs = tf.layers.dense({ units: 10, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs, outputs, name: 'functional_mlp' });
}

export default function job(args: { trainCount?: number; testCount?: number } = {}) {
  return defineJob({
    name: 'functional-api',
    model: functionalMlp,
    compile: { optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
    data: () => loadMnist({ trainCount: args.trainCount, testCount: args.testCount }),
    fit: { epochs: 5, batchSize: 64, validationSplit: 0.1, verbose: 1 },
  });
}
