/** Keras's RandomFlip: mirrors images left-right and/or top-bottom, each with probability 1/2. */
import * as tf from '@tensorflow/tfjs';
import type { FlipMode } from '../augment/transforms.ts';
import { RandomImageLayer, checkArgs, type AugmentationLayerArgs } from './random-image-layer.ts';

/** RandomFlip's arguments. */
export interface RandomFlipArgs extends AugmentationLayerArgs {
  /** 'horizontal' (left-right), 'vertical' (top-bottom) or 'horizontal_and_vertical' (the default; one draw flips both). */
  mode?: FlipMode;
}

/** Flips each image of a batch with probability 1/2 in training; identity at inference. */
export class RandomFlip extends RandomImageLayer {
  static readonly className = 'RandomFlip';
  constructor(args: RandomFlipArgs = {}) {
    checkArgs('RandomFlip', args);
    super('RandomFlip', args);
  }
}
tf.serialization.registerClass(RandomFlip);

/** `tf.layers`-style factory: randomFlip({ mode: 'horizontal', seed: 42 }). */
export function randomFlip(args: RandomFlipArgs = {}): RandomFlip {
  return new RandomFlip(args);
}
