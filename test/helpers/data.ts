/** Small deterministic datasets and models for API-level tests. */
import * as tf from '@tensorflow/tfjs';
import { syntheticData } from '../fixtures/jobs/synthetic.ts';

/** A seeded 2-layer classifier, compiled the tfjs way. */
export function smallModel(optimizer: tf.Optimizer | string = 'adam'): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        units: 16,
        activation: 'relu',
        inputShape: [20],
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        units: 4,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
  model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Seeded (x, y) tensors of the synthetic task. */
export function tensors(n: number, seed = 7): { x: tf.Tensor; y: tf.Tensor } {
  const d = syntheticData(n, 20, 4, seed);
  return { x: tf.tensor(d.x, d.xShape), y: tf.tensor(d.y, d.yShape) };
}
