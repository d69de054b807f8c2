/** The benchmark job: the guide's MLP on 6,400 MNIST images, one epoch at a global batch of 64. */
import base from '../../examples/mnist-mlp.ts';
import { defineJob, loadMnist } from '../../index.ts';

export default defineJob({
  ...base,
  data: () => ({ train: loadMnist({ trainCount: 6400, testCount: 0 }).train }),
  fit: { epochs: 1, batchSize: 64, verbose: 0 },
});
