/**
 * Drawing one augmentation's per-image parameters from a seeded stream, as Keras draws them (one
 * flip decision, angle, zoom pair or contrast factor per image), and applying them to a batch.
 * The same parameters drive the forward transform and its gradient.
 */
import type { Augmentation } from './config.ts';
import {
  affineImages,
  affineImagesAdjoint,
  contrastImages,
  contrastImagesGradient,
  flipImages,
  rotationMatrix,
  zoomMatrix,
  type Affine,
  type ImageShape,
} from './transforms.ts';

/** The parameters one augmentation drew for a batch. */
export type DrawnParams =
  | { readonly kind: 'flip'; readonly flips: Uint8Array }
  | { readonly kind: 'affine'; readonly matrices: Affine[] }
  | { readonly kind: 'contrast'; readonly factors: Float64Array };

/** Mixes 32-bit integers into one seed (a murmur3-style finaliser over each part). */
export function mixSeed(...parts: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    let k = Math.imul(part >>> 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const between = (rand: () => number, lo: number, hi: number) => lo + rand() * (hi - lo);

/** Draws the per-image parameters of `a` for a batch of shape `s` from `rand` (uniform in [0, 1)). */
export function drawParams(a: Augmentation, rand: () => number, s: ImageShape): DrawnParams {
  switch (a.kind) {
    case 'RandomFlip': {
      const flips = new Uint8Array(s.n);
      for (let i = 0; i < s.n; i++) flips[i] = rand() <= 0.5 ? 1 : 0;
      return { kind: 'flip', flips };
    }
    case 'RandomRotation': {
      const [lo, hi] = a.factor;
      const matrices: Affine[] = [];
      for (let i = 0; i < s.n; i++) matrices.push(rotationMatrix(between(rand, lo * 360, hi * 360), s.h, s.w));
      return { kind: 'affine', matrices };
    }
    case 'RandomZoom': {
      const heights = Array.from({ length: s.n }, () => 1 + between(rand, a.heightFactor[0], a.heightFactor[1]));
      const wf = a.widthFactor;
      const widths = wf ? Array.from({ length: s.n }, () => 1 + between(rand, wf[0], wf[1])) : heights;
      return { kind: 'affine', matrices: heights.map((zy, i) => zoomMatrix(widths[i] as number, zy, s.h, s.w)) };
    }
    case 'RandomContrast': {
      const [lower, upper] = a.factor;
      const factors = new Float64Array(s.n);
      for (let i = 0; i < s.n; i++) factors[i] = between(rand, 1 - lower, 1 + upper);
      return { kind: 'contrast', factors };
    }
    default: {
      const never: never = a;
      throw new RangeError(`Unhandled augmentation ${String(never)}`);
    }
  }
}

/** Applies drawn parameters to the batch x (a new array). */
export function applyParams(a: Augmentation, p: DrawnParams, x: Float32Array, s: ImageShape): Float32Array {
  if (p.kind === 'flip' && a.kind === 'RandomFlip') return flipImages(x, s, p.flips, a.mode);
  if (p.kind === 'affine' && (a.kind === 'RandomRotation' || a.kind === 'RandomZoom'))
    return affineImages(x, s, p.matrices, a.sample);
  if (p.kind === 'contrast' && a.kind === 'RandomContrast') return contrastImages(x, s, p.factors, a.valueRange);
  throw new RangeError(`Parameters of kind ${p.kind} do not fit ${a.kind}`);
}

/** d(loss)/dx given dy = d(loss)/d(output) of applyParams at x. */
export function applyParamsGradient(
  a: Augmentation,
  p: DrawnParams,
  x: Float32Array,
  dy: Float32Array,
  s: ImageShape,
): Float32Array {
  if (p.kind === 'flip' && a.kind === 'RandomFlip') return flipImages(dy, s, p.flips, a.mode);
  if (p.kind === 'affine' && (a.kind === 'RandomRotation' || a.kind === 'RandomZoom'))
    return affineImagesAdjoint(dy, s, p.matrices, a.sample);
  if (p.kind === 'contrast' && a.kind === 'RandomContrast')
    return contrastImagesGradient(x, dy, s, p.factors, a.valueRange);
  throw new RangeError(`Parameters of kind ${p.kind} do not fit ${a.kind}`);
}
