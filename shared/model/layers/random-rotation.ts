/** Keras's RandomRotation: turns images by a random angle, filling the corners by `fillMode`. */
import * as tf from '@tensorflow/tfjs';
import type { FillMode, Interpolation } from '../augment/transforms.ts';
import { RandomImageLayer, checkArgs, type AugmentationLayerArgs } from './random-image-layer.ts';

/** RandomRotation's arguments (Keras: factor, fill_mode, interpolation, fill_value, seed). */
export interface RandomRotationArgs extends AugmentationLayerArgs {
  /** A fraction of a full turn: f means an angle in [-f, f] · 360°, [lo, hi] in [lo, hi] · 360°; positive is counter-clockwise. */
  factor: number | [number, number];
  /** How points outside the input are read (default 'reflect'). */
  fillMode?: FillMode;
  /** 'bilinear' (default) or 'nearest'. */
  interpolation?: Interpolation;
  /** Value outside the image when fillMode is 'constant' (default 0). */
  fillValue?: number;
}

/** Rotates each image of a batch by its own random angle in training; identity at inference. */
export class RandomRotation extends RandomImageLayer {
  static readonly className = 'RandomRotation';
  constructor(args: RandomRotationArgs) {
    checkArgs('RandomRotation', args);
    super('RandomRotation', args);
  }
}
tf.serialization.registerClass(RandomRotation);

/** `tf.layers`-style factory: randomRotation({ factor: 0.1 }). */
export function randomRotation(args: RandomRotationArgs): RandomRotation {
  return new RandomRotation(args);
}
