/** Keras's RandomContrast: per image and channel, (x - mean) · f + mean with a random f, clipped to valueRange. */
import * as tf from '@tensorflow/tfjs';
import { RandomImageLayer, checkArgs, type AugmentationLayerArgs } from './random-image-layer.ts';

/** RandomContrast's arguments (Keras: factor, value_range, seed). */
export interface RandomContrastArgs extends AugmentationLayerArgs {
  /** f in [0, 1] means a contrast factor in [1 - f, 1 + f]; [lo, hi] means [1 - lo, 1 + hi]. */
  factor: number | [number, number];
  /** The range of pixel values, [0, 255] by default as in Keras; outputs are clipped to it. */
  valueRange?: [number, number];
}

/** Adjusts the contrast of each image of a batch by its own random factor in training; identity at inference. */
export class RandomContrast extends RandomImageLayer {
  static readonly className = 'RandomContrast';
  constructor(args: RandomContrastArgs) {
    checkArgs('RandomContrast', args);
    super('RandomContrast', args);
  }
}
tf.serialization.registerClass(RandomContrast);

/** `tf.layers`-style factory: randomContrast({ factor: 0.2, valueRange: [0, 1] }). */
export function randomContrast(args: RandomContrastArgs): RandomContrast {
  return new RandomContrast(args);
}
