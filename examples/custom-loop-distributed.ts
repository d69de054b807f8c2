/**
 * The guide's custom training loop on the cluster: the train step of examples/custom-loop.ts runs
 * on every worker for its share of each batch, under tensorfleet's tape; the coordinator averages
 * the gradients (weighted by rows) and applies the optimizer, as it does for the built-in step.
 *   npx tensorfleet local --workers 2 examples/custom-loop-distributed.ts
 * The step must return the batch *mean* loss (and the predictions, for compile.metrics); compile.loss
 * is still used for validation and test. A job factory: `trainCount`/`testCount` (defaults 10,000 / 2,000)
 * size the data.
 */
import { defineJob, loadMnist } from '../index.ts';
import { trainStep } from './custom-loop.ts';
import { guideMlp } from './mlp-model.ts';

export default function job(args: { trainCount?: number; testCount?: number } = {}) {
  const definition = {
    name: 'custom-loop-distributed',
    model: guideMlp,
    compile: { optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
    data: () => loadMnist({ trainCount: args.trainCount ?? 10_000, testCount: args.testCount ?? 2_000 }),
    fit: { epochs: 3, batchSize: 32, verbose: 1 as const },
    // Each worker computes this step's loss and gradients for its rows.
    trainStep,
  };
  return defineJob(definition);
}
