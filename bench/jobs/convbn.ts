/**
 * The sync-BN benchmark job: a small MNIST convnet with two BatchNormalization layers, one epoch of
 * 3,200 images at a global batch of 64. The `sync` argument turns on syncBatchNorm.
 */
import * as tf from '@tensorflow/tfjs';
import { defineJob, loadMnist } from '../../index.ts';

/** Conv2D(16) → BN → relu → MaxPool → Conv2D(32) → BN → relu → MaxPool → Flatten → Dense(10). */
export function convBnNet(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        filters: 16,
        kernelSize: 3,
        useBias: false,
        inputShape: [28, 28, 1],
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.batchNormalization({}),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.maxPooling2d({}),
      tf.layers.conv2d({
        filters: 32,
        kernelSize: 3,
        useBias: false,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
      tf.layers.batchNormalization({}),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.maxPooling2d({}),
      tf.layers.flatten(),
      tf.layers.dense({
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
    ],
  });
}

export default function job(args: { sync?: boolean } = {}) {
  return defineJob({
    name: args.sync ? 'convbn-sync' : 'convbn',
    model: convBnNet,
    compile: { optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
    data: () => ({ train: loadMnist({ layout: 'image', trainCount: 3200, testCount: 0 }).train }),
    fit: { epochs: 1, batchSize: 64, verbose: 0 },
    syncBatchNorm: args.sync === true,
  });
}
