/**
 * The Keras guide's MLP on real MNIST: 784-128 relu-Dropout 0.2-64 relu-Dropout 0.2-10 softmax,
 * adam, sparse categorical crossentropy, accuracy. 10,000 test images are held out.
 *   npx tensorfleet local --workers 2 examples/mnist-mlp.ts
 */
import * as tf from '@tensorflow/tfjs';
import { defineJob, loadMnist } from '../index.ts';

export default defineJob({
  name: 'mnist-mlp',
  model: () =>
    tf.sequential({
      layers: [
        tf.layers.dense({ units: 128, activation: 'relu', inputShape: [784] }),
        tf.layers.dropout({ rate: 0.2 }),
        tf.layers.dense({ units: 64, activation: 'relu' }),
        tf.layers.dropout({ rate: 0.2 }),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    }),
  compile: { optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
  data: () => loadMnist(),
  fit: { epochs: 5, batchSize: 64, validationSplit: 0.1, verbose: 1 },
});
