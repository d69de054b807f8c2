/** Keras's RandomZoom: scales images about their centre by a random factor per axis. */
import * as tf from '@tensorflow/tfjs';
import type { FillMode, Interpolation } from '../augment/transforms.ts';
import { RandomImageLayer, checkArgs, type AugmentationLayerArgs } from './random-image-layer.ts';

/** RandomZoom's arguments (Keras: height_factor, width_factor, fill_mode, interpolation, fill_value, seed). */
export interface RandomZoomArgs extends AugmentationLayerArgs {
  /** f means a vertical zoom in [1 - f, 1 + f], [lo, hi] in [1 + lo, 1 + hi]; above 1 zooms out, below 1 zooms in. */
  heightFactor: number | [number, number];
  /** The same for the width; null/absent keeps the aspect ratio (width zoom = height zoom). */
  widthFactor?: number | [number, number] | null;
  /** How points outside the input are read (default 'reflect'). */
  fillMode?: FillMode;
  /** 'bilinear' (default) or 'nearest'. */
  interpolation?: Interpolation;
  /** Value outside the image when fillMode is 'constant' (default 0). */
  fillValue?: number;
}

/** Zooms each image of a batch by its own random factors in training; identity at inference. */
export class RandomZoom extends RandomImageLayer {
  static readonly className = 'RandomZoom';
  constructor(args: RandomZoomArgs) {
    checkArgs('RandomZoom', args);
    super('RandomZoom', args);
  }
}
tf.serialization.registerClass(RandomZoom);

/** `tf.layers`-style factory: randomZoom({ heightFactor: 0.1 }). */
export function randomZoom(args: RandomZoomArgs): RandomZoom {
  return new RandomZoom(args);
}
