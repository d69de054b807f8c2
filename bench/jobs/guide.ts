/**
 * The benchmark's jobs, as a factory: the guide's MLP (784-128-64-10, Adam) or the guide's convnet
 * (Conv2D 32-64-64, Dense 64-10, RMSprop) on the first `images` MNIST training images, one epoch at a
 * global batch of 64, unshuffled so every run does the same work.
 */
import * as tf from '@tensorflow/tfjs';
import { defineJob, loadMnist, type Job } from '../../index.ts';
import { guideMlp } from '../../examples/mlp-model.ts';

/** The guide's convnet. */
export function guideConvnet(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 64, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}

/** `model`: 'mlp' or 'convnet'; `images`: how many training images. */
export default function guideJob(args: { model?: string; images?: number } = {}): Job {
  const convnet = args.model === 'convnet';
  const images = args.images ?? (convnet ? 1920 : 60000);
  return defineJob({
    name: convnet ? 'bench-convnet' : 'bench-mlp',
    model: convnet ? guideConvnet : guideMlp,
    compile: {
      optimizer: convnet ? 'rmsprop' : 'adam',
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
    },
    data: () => ({
      train: loadMnist({ trainCount: images, testCount: 0, ...(convnet && { layout: 'image' as const }) }).train,
    }),
    fit: { epochs: 1, batchSize: 64, verbose: 0, shuffle: false },
  });
}
