/** Single-process references the cluster is compared against. */
import type * as tf from '@tensorflow/tfjs';
import type { Job } from '../../shared/model/job.ts';
import { makeOptimizer } from '../../shared/model/keras/optimizers.ts';

/** Plain tfjs model.fit of the job's model at its global batch, in order (sparse categorical crossentropy). */
export async function fitReference(job: Job, x: tf.Tensor, y: tf.Tensor): Promise<tf.LayersModel> {
  const model = job.model();
  model.compile({ optimizer: makeOptimizer(job.compile.optimizer), loss: 'sparseCategoricalCrossentropy' });
  await model.fit(x, y, { batchSize: job.fit.batchSize, epochs: job.fit.epochs, shuffle: false, verbose: 0 });
  return model;
}
