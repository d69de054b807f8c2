/**
 * Keras's augmentation layer configs (RandomFlip, RandomRotation, RandomZoom, RandomContrast), as
 * they appear in a Keras model JSON (`{ class_name, config }`, snake_case keys), validated once into
 * the resolved form the transforms use. The layers and the batch pipeline share this one parser.
 */
import { z } from 'zod';
import { fleetError } from '../../runtime/catalogue/index.ts';
import type { FillMode, FlipMode, Interpolation, SampleOptions } from './transforms.ts';

/** The layer classes the augmentation pipeline and shared/model/layers provide, by their Keras names. */
export const AUGMENTATION_CLASSES = ['RandomFlip', 'RandomRotation', 'RandomZoom', 'RandomContrast'] as const;
export type AugmentationClass = (typeof AUGMENTATION_CLASSES)[number];

const pair = z.tuple([z.number(), z.number()]);
const factor = z.union([z.number(), pair]);
const seed = z.number().int().min(0).nullable().optional();
// Keras's base-layer keys (name, trainable, dtype, ...) are allowed and ignored; the image layout must be NHWC.
const base = { seed, data_format: z.literal('channels_last').nullable().optional() };
const sampling = {
  fill_mode: z.enum(['reflect', 'wrap', 'constant', 'nearest']).optional(),
  interpolation: z.enum(['nearest', 'bilinear']).optional(),
  fill_value: z.number().optional(),
};
const within = (lo: number, hi: number) => (f: number | [number, number]) =>
  (typeof f === 'number' ? [f] : f).every((v) => v >= lo && v <= hi);

const flipConfig = z.looseObject({
  ...base,
  mode: z.enum(['horizontal', 'vertical', 'horizontal_and_vertical']).optional(),
});
const rotationConfig = z.looseObject({
  ...base,
  ...sampling,
  factor: factor.refine(within(-1, 1), 'Expected factor (a fraction of 2π) in [-1, 1], or a pair of them'),
});
const zoomFactor = factor.refine(within(-1, 1), 'Expected a zoom factor in [-1, 1], or a pair of them');
const zoomConfig = z.looseObject({
  ...base,
  ...sampling,
  height_factor: zoomFactor,
  width_factor: zoomFactor.nullable().optional(),
});
const contrastConfig = z.looseObject({
  ...base,
  factor: factor.refine(within(0, 1), 'Expected factor in [0, 1], or a pair of them'),
  value_range: pair.refine(([lo, hi]) => lo < hi, 'Expected value_range [low, high] with low < high').optional(),
});

/** One augmentation layer as Keras serialises it: `{ class_name: 'RandomFlip', config: { mode: 'horizontal', seed: 1 } }`. */
export const kerasAugmentationSchema = z.discriminatedUnion('class_name', [
  z.looseObject({ class_name: z.literal('RandomFlip'), config: flipConfig }),
  z.looseObject({ class_name: z.literal('RandomRotation'), config: rotationConfig }),
  z.looseObject({ class_name: z.literal('RandomZoom'), config: zoomConfig }),
  z.looseObject({ class_name: z.literal('RandomContrast'), config: contrastConfig }),
]);
export type KerasAugmentationConfig = z.input<typeof kerasAugmentationSchema>;

/**
 * A job's `augment` option: Keras augmentation layers applied, in order, to every training batch in
 * the worker's batch threads (never to validation or test rows). `seed` (default 0) seeds the stream,
 * together with the epoch and the dataset row of each image.
 */
export const augmentSpecSchema = z.strictObject({
  layers: z.array(kerasAugmentationSchema).min(1),
  seed: z.number().int().min(0).optional(),
});
export type AugmentSpec = z.input<typeof augmentSpecSchema>;

/** RandomFlip, resolved. */
export interface FlipAugmentation {
  readonly kind: 'RandomFlip';
  readonly mode: FlipMode;
  readonly seed: number | null;
}
/** RandomRotation, resolved: the angle is drawn in [lower, upper] · 360 degrees. */
export interface RotationAugmentation {
  readonly kind: 'RandomRotation';
  readonly factor: readonly [number, number];
  readonly sample: SampleOptions;
  readonly seed: number | null;
}
/** RandomZoom, resolved: zoom = 1 + u with u drawn in the factor's range; no width factor: width zoom = height zoom. */
export interface ZoomAugmentation {
  readonly kind: 'RandomZoom';
  readonly heightFactor: readonly [number, number];
  readonly widthFactor: readonly [number, number] | null;
  readonly sample: SampleOptions;
  readonly seed: number | null;
}
/** RandomContrast, resolved: the contrast factor is drawn in [1 - lower, 1 + upper]. */
export interface ContrastAugmentation {
  readonly kind: 'RandomContrast';
  readonly factor: readonly [number, number];
  readonly valueRange: readonly [number, number];
  readonly seed: number | null;
}
/** One validated augmentation. */
export type Augmentation = FlipAugmentation | RotationAugmentation | ZoomAugmentation | ContrastAugmentation;

/** A number f means [-|f|, |f|]; a pair is sorted (Keras's factor convention). */
function symmetric(f: number | readonly [number, number]): [number, number] {
  if (typeof f === 'number') return [-Math.abs(f), Math.abs(f)];
  const [a, b] = f;
  return a <= b ? [a, b] : [b, a];
}

/**
 * RandomContrast's factor: a number f means the documented Keras range [1 - f, 1 + f] (Keras 3.10's
 * code clamps the lower side of a single number to 0, i.e. [1, 1 + f]; a pair behaves the same in both).
 */
function contrastRange(f: number | readonly [number, number]): [number, number] {
  if (typeof f === 'number') return [f, f];
  const [a, b] = f;
  return a <= b ? [a, b] : [b, a];
}

function sampleOptions(c: {
  fill_mode?: FillMode | undefined;
  interpolation?: Interpolation | undefined;
  fill_value?: number | undefined;
}): SampleOptions {
  return {
    fillMode: c.fill_mode ?? 'reflect',
    interpolation: c.interpolation ?? 'bilinear',
    fillValue: c.fill_value ?? 0,
  };
}

/** Validates one Keras augmentation config; `where` names it in the error (FLEET_ERR_CONFIG). */
export function parseAugmentation(entry: unknown, where = 'augmentation layer'): Augmentation {
  const parsed = kerasAugmentationSchema.safeParse(entry);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    const values = {
      where,
      classes: AUGMENTATION_CLASSES.join(', '),
      form: '{ class_name, config }',
      issue: issue?.message ?? 'invalid',
      at,
      entry,
    };
    throw fleetError('AUGMENT_BAD_LAYER', values);
  }
  const e = parsed.data;
  const s = e.config.seed ?? null;
  switch (e.class_name) {
    case 'RandomFlip':
      return { kind: 'RandomFlip', mode: e.config.mode ?? 'horizontal_and_vertical', seed: s };
    case 'RandomRotation':
      return { kind: 'RandomRotation', factor: symmetric(e.config.factor), sample: sampleOptions(e.config), seed: s };
    case 'RandomZoom': {
      const wf = e.config.width_factor;
      return {
        kind: 'RandomZoom',
        heightFactor: symmetric(e.config.height_factor),
        widthFactor: wf === undefined || wf === null ? null : symmetric(wf),
        sample: sampleOptions(e.config),
        seed: s,
      };
    }
    case 'RandomContrast':
      return {
        kind: 'RandomContrast',
        factor: contrastRange(e.config.factor),
        valueRange: e.config.value_range ?? [0, 255],
        seed: s,
      };
    default: {
      const never: never = e;
      throw fleetError('AUGMENT_UNHANDLED', { augmentation: never });
    }
  }
}

/** The Keras config (snake_case keys, normalised factors) of a resolved augmentation: parseAugmentation's inverse. */
export function kerasConfigOf(a: Augmentation): KerasAugmentationConfig {
  const sample = (o: SampleOptions) => ({
    fill_mode: o.fillMode,
    interpolation: o.interpolation,
    fill_value: o.fillValue,
  });
  switch (a.kind) {
    case 'RandomFlip':
      return { class_name: a.kind, config: { mode: a.mode, seed: a.seed, data_format: 'channels_last' } };
    case 'RandomRotation':
      return {
        class_name: a.kind,
        config: { factor: [...a.factor], ...sample(a.sample), seed: a.seed, data_format: 'channels_last' },
      };
    case 'RandomZoom':
      return {
        class_name: a.kind,
        config: {
          height_factor: [...a.heightFactor],
          width_factor: a.widthFactor && [...a.widthFactor],
          ...sample(a.sample),
          seed: a.seed,
          data_format: 'channels_last',
        },
      };
    case 'RandomContrast':
      return { class_name: a.kind, config: { factor: [...a.factor], value_range: [...a.valueRange], seed: a.seed } };
    default: {
      const never: never = a;
      throw fleetError('AUGMENT_UNHANDLED', { augmentation: never });
    }
  }
}
