/**
 * The base of the Keras augmentation layers tfjs lacks. Each is active only in training
 * (`apply(x, { training: true })`, which model.fit and tensorfleet's step pass) and the identity
 * otherwise; each draws its per-image parameters from a stream seeded by `seed`, so a given seed
 * reproduces the outputs. The transforms are shared/model/augment's pure functions, wrapped in
 * tf.customGrad with their exact gradient, so the layers may sit anywhere in a model.
 */
import * as tf from '@tensorflow/tfjs';
import { fleetError } from '../../runtime/catalogue/index.ts';
import { seededRandom } from '../../runtime/rng.ts';
import { kerasConfigOf, parseAugmentation, type Augmentation, type AugmentationClass } from '../augment/config.ts';
import { applyParams, applyParamsGradient, drawParams } from '../augment/random.ts';
import type { ImageShape } from '../augment/transforms.ts';

/** tfjs's base layer arguments (name, inputShape, batchInputShape, trainable, dtype, ...). */
export type BaseLayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** Arguments every augmentation layer takes besides its own. */
export interface AugmentationLayerArgs extends BaseLayerArgs {
  /** Seeds this layer's stream: the same seed gives the same outputs. null/absent: a random seed. */
  seed?: number | null;
  /** Only 'channels_last' (NHWC) is supported, as tfjs images are. */
  dataFormat?: 'channels_last' | 'channelsLast' | null;
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());

/** tfjs's model JSON loader camelCases string values ('horizontal_and_vertical' → 'horizontalAndVertical'); undo it. */
function kerasValue(v: unknown): unknown {
  if (typeof v === 'string') return snake(v);
  if (Array.isArray(v)) return v.map(kerasValue);
  return v;
}

/** Keys of the base tfjs layer arguments, which are not part of an augmentation's own config. */
const BASE_KEYS = new Set([
  'name',
  'trainable',
  'inputShape',
  'batchInputShape',
  'batchSize',
  'dtype',
  'weights',
  'inputDType',
]);

/** Resolves a layer's camelCase arguments (or its config as tfjs deserialises it) through the shared parser. */
export function resolveLayerArgs(className: AugmentationClass, args: object): Augmentation {
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) if (!BASE_KEYS.has(k) && v !== undefined) config[snake(k)] = kerasValue(v);
  return parseAugmentation({ class_name: className, config }, `${className} arguments`);
}

/** A Keras image augmentation layer: identity at inference, a seeded random transform in training. */
export abstract class RandomImageLayer extends tf.layers.Layer {
  /** The validated settings, shared with the batch pipeline's parser. */
  readonly augmentation: Augmentation;
  private readonly rand: () => number;

  protected constructor(className: AugmentationClass, args: AugmentationLayerArgs & object) {
    super(args);
    this.augmentation = resolveLayerArgs(className, args);
    this.rand = seededRandom(this.augmentation.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean; [key: string]: unknown }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!x || (Array.isArray(inputs) && inputs.length !== 1))
      throw fleetError('LAYER_ONE_INPUT', {
        layer: this.getClassName(),
        count: Array.isArray(inputs) ? inputs.length : 0,
      });
    if (kwargs['training'] !== true) return x;
    if (x.rank !== 3 && x.rank !== 4) {
      throw fleetError('LAYER_IMAGE_RANK', { layer: this.getClassName(), shape: x.shape.join(', ') });
    }
    return tf.tidy(() => {
      const batched = x.rank === 4 ? x : tf.expandDims(x, 0);
      const [n, h, w, c] = batched.shape as [number, number, number, number];
      const out = this.transform(tf.cast(batched, 'float32'), { n, h, w, c });
      return x.rank === 4 ? out : tf.squeeze(out, [0]);
    });
  }

  /** Draws this call's parameters (advancing the stream) and applies them, differentiably. */
  private transform(x: tf.Tensor, s: ImageShape): tf.Tensor {
    const aug = this.augmentation;
    const params = drawParams(aug, this.rand, s);
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const input = args[0] as tf.Tensor;
      const data = input.dataSync() as Float32Array;
      return {
        value: tf.tensor(applyParams(aug, params, data, s), input.shape, 'float32'),
        gradFunc: (dy: tf.Tensor) =>
          tf.tensor(applyParamsGradient(aug, params, data, dy.dataSync() as Float32Array, s), input.shape, 'float32'),
      };
    });
    return op(x);
  }

  /** Keras's config: the keys come out snake_case in model JSON (tfjs converts camelCase keys). */
  override getConfig(): tf.serialization.ConfigDict {
    const own: tf.serialization.ConfigDict = {};
    for (const [k, v] of Object.entries(kerasConfigOf(this.augmentation).config))
      own[camel(k)] = v as tf.serialization.ConfigDictValue;
    return { ...super.getConfig(), ...own };
  }
}

/** Throws unless `args` is an options object (a layer factory's only argument). */
export function checkArgs(className: string, args: unknown): void {
  if (args === null || typeof args !== 'object' || Array.isArray(args))
    throw fleetError('LAYER_ARGS', { className, args });
}
