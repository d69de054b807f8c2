/**
 * The guide's "Basic Training": the MLP on random data (1,000 training rows, 200 validation rows),
 * batch 32, 10 epochs, validation data, verbose 1.
 *   npx tensorfleet local --workers 2 examples/basic-training.ts
 */
import { defineJob } from '../index.ts';
import { randomData } from './guide-data.ts';
import { guideMlp } from './mlp-model.ts';

export default defineJob({
  name: 'basic-training',
  model: guideMlp,
  compile: { optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
  data: () => ({ train: randomData(1000, 42), validation: randomData(200, 43) }),
  fit: { epochs: 10, batchSize: 32, verbose: 1 },
});
