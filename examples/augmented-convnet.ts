/**
 * The guide's data augmentation convnet on MNIST: RandomFlip("horizontal"), RandomRotation(0.1),
 * RandomZoom(0.1), RandomContrast(0.1) in front of Conv2D(32,3) → MaxPooling2D → Conv2D(64,3) →
 * MaxPooling2D → Conv2D(64,3) → Flatten → Dense(64) → Dense(10).
 *   npx tensorfleet local --workers 2 --backend wasm examples/augmented-convnet.ts
 *
 * The augmentation layers are active only in training (workers call the model with training=true;
 * validation and test see the images unchanged). We keep the guide's layers, but a horizontal flip
 * is questionable on digits (a mirrored 2, 3, 7 or 9 is no digit at all): it costs accuracy here,
 * and you would drop it for MNIST. RandomContrast's value_range is [0, 1] because loadMnist scales
 * pixels to [0, 1] (Keras's default is [0, 255]).
 *
 * A job factory: `trainCount`/`testCount` (defaults: all of MNIST) size the data, and
 * `augmentIn: 'pipeline'` moves the same four layers from the model into the workers' batch threads
 * (the job's `augment` option) instead of the model.
 */
import * as tf from '@tensorflow/tfjs';
import { EarlyStopping, ReduceLROnPlateau, defineJob, loadMnist } from '../index.ts';
import type { KerasAugmentationConfig } from '../shared/model/augment/config.ts';
import { randomContrast, randomFlip, randomRotation, randomZoom } from '../shared/model/layers/index.ts';

/** data_augmentation = keras.Sequential([...]): the guide's four layers. */
export function dataAugmentation(): tf.Sequential {
  return tf.sequential({
    name: 'data_augmentation',
    layers: [
      randomFlip({ mode: 'horizontal', inputShape: [28, 28, 1] }),
      randomRotation({ factor: 0.1 }),
      randomZoom({ heightFactor: 0.1 }),
      randomContrast({ factor: 0.1, valueRange: [0, 1] }),
    ],
  });
}

/** The same four layers as Keras configs, for the batch pipeline. */
export const AUGMENT_LAYERS: KerasAugmentationConfig[] = [
  { class_name: 'RandomFlip', config: { mode: 'horizontal' } },
  { class_name: 'RandomRotation', config: { factor: 0.1 } },
  { class_name: 'RandomZoom', config: { height_factor: 0.1 } },
  { class_name: 'RandomContrast', config: { factor: 0.1, value_range: [0, 1] } },
];

/** The guide's convnet, with the augmentation model in front when `withAugmentation`. */
export function augmentedConvnet(withAugmentation = true): tf.Sequential {
  return tf.sequential({
    layers: [
      ...(withAugmentation ? [dataAugmentation()] : [tf.layers.inputLayer({ inputShape: [28, 28, 1] })]),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({}),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({}),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 64, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}

export default function job(args: { trainCount?: number; testCount?: number; augmentIn?: 'model' | 'pipeline' } = {}) {
  const pipeline = args.augmentIn === 'pipeline';
  return defineJob({
    name: 'augmented-convnet',
    model: () => augmentedConvnet(!pipeline),
    compile: { optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
    data: () => loadMnist({ layout: 'image', trainCount: args.trainCount, testCount: args.testCount }),
    fit: { epochs: 15, batchSize: 64, validationSplit: 0.1, verbose: 1 },
    // Augmented training is noisy from epoch to epoch: lower the rate when validation loss stalls, and
    // end with the weights of the best validation epoch rather than the last one.
    callbacks: () => [
      new ReduceLROnPlateau({ monitor: 'val_loss', factor: 0.3, patience: 1, minLr: 1e-5 }),
      new EarlyStopping({ monitor: 'val_accuracy', patience: 4, restoreBestWeights: true }),
    ],
    ...(pipeline && { augment: { layers: AUGMENT_LAYERS, seed: 0 } }),
  });
}
