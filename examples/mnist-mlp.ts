/**
 * The Keras guide's MLP on real MNIST: 784-128 relu-Dropout 0.2-64 relu-Dropout 0.2-10 softmax,
 * adam, sparse categorical crossentropy, accuracy. 10,000 test images are held out.
 *   npx tensorfleet local --workers 2 examples/mnist-mlp.ts
 */
import { defineJob, loadMnist } from '../index.ts';
import { guideMlp } from './mlp-model.ts';

export default defineJob({
  name: 'mnist-mlp',
  model: guideMlp,
  compile: { optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
  data: () => loadMnist(),
  fit: { epochs: 5, batchSize: 64, validationSplit: 0.1, verbose: 1 },
});
