/**
 * The job the Kubernetes deployment trains: the Keras guide's MNIST MLP (as examples/mnist-mlp.ts).
 * Shipped as the ConfigMap `tensorfleet-job` and mounted at /app/jobs/job.ts in the coordinator and every
 * worker: the same path everywhere, as the workers load the path the coordinator sends them. Under /app, the
 * package root of the image, 'tensorfleet' resolves to the package itself. Edit this file (or point the
 * configMapGenerator at your own) and `kubectl apply -k` again.
 */
import * as tf from '@tensorflow/tfjs';
import { defineJob, loadMnist } from 'tensorfleet';

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
