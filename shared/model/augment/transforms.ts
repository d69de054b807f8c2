/**
 * Pure image transforms over NHWC Float32Arrays, with Keras's (TensorFlow's) semantics, used by the
 * augmentation layers (shared/model/layers) and the batch pipeline (piscina threads) alike. No tfjs here.
 *
 * Geometric transforms follow TensorFlow's ImageProjectiveTransformV3, which Keras's RandomRotation
 * and RandomZoom call: an output pixel (x = column, y = row) samples the input at
 * (a0·x + a1·y + a2, b0·x + b1·y + b2), after mapping that point into the image by `fill_mode`.
 * Each linear transform also has its adjoint (the transpose), which is its gradient.
 */

/** Batch geometry: n images of h rows, w columns and c channels, channels last. */
export interface ImageShape {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
}

/** Keras's fill modes: how points outside the input are read. */
export type FillMode = 'reflect' | 'wrap' | 'constant' | 'nearest';
/** Keras's interpolations for geometric transforms. */
export type Interpolation = 'nearest' | 'bilinear';
/** RandomFlip's modes, as Keras spells them. */
export type FlipMode = 'horizontal' | 'vertical' | 'horizontal_and_vertical';

/** Sampling options of a geometric transform. */
export interface SampleOptions {
  readonly fillMode: FillMode;
  readonly interpolation: Interpolation;
  /** Value read outside the image when fillMode is 'constant'. */
  readonly fillValue: number;
}

/** A 2-D affine map [a0, a1, a2, b0, b1, b2] from output (x, y) to input (x', y'), per image. */
export type Affine = readonly [number, number, number, number, number, number];

function checkSize(what: string, data: ArrayLike<number>, s: ImageShape): void {
  const want = s.n * s.h * s.w * s.c;
  if (data.length !== want)
    throw new RangeError(
      `Expected ${what} to hold ${want} values for [${s.n}, ${s.h}, ${s.w}, ${s.c}]. Received: ${data.length}`,
    );
}

// ---- flips ----------------------------------------------------------------------------------------

/**
 * Mirrors the images whose `flips[i]` is set: columns for 'horizontal', rows for 'vertical', both
 * for 'horizontal_and_vertical' (Keras 3 draws one decision per image for both axes). Exact copies;
 * a flip is its own adjoint.
 */
export function flipImages(x: Float32Array, s: ImageShape, flips: ArrayLike<number>, mode: FlipMode): Float32Array {
  checkSize('x', x, s);
  const out = new Float32Array(x.length);
  const horizontal = mode !== 'vertical';
  const vertical = mode !== 'horizontal';
  const { h, w, c } = s;
  for (let i = 0; i < s.n; i++) {
    const base = i * h * w * c;
    const flip = flips[i] !== 0;
    for (let y = 0; y < h; y++) {
      const sy = flip && vertical ? h - 1 - y : y;
      for (let xx = 0; xx < w; xx++) {
        const sx = flip && horizontal ? w - 1 - xx : xx;
        const dst = base + (y * w + xx) * c;
        const src = base + (sy * w + sx) * c;
        for (let k = 0; k < c; k++) out[dst + k] = x[src + k] as number;
      }
    }
  }
  return out;
}

// ---- affine sampling ------------------------------------------------------------------------------

/** TensorFlow's coordinate mapping for one axis of length `len`; 'constant' leaves it as is. */
export function mapCoordinate(v: number, len: number, mode: FillMode): number {
  switch (mode) {
    case 'constant':
      return v;
    case 'nearest':
      return Math.min(Math.max(v, 0), len - 1);
    case 'reflect': {
      // (d c b a | a b c d | d c b a): reflection about the edge of the last pixel.
      let u = v;
      if (u < 0) {
        if (len <= 1) u = 0;
        else {
          const sz2 = 2 * len;
          if (u < -sz2) u = sz2 * Math.trunc(-u / sz2) + u;
          u = u < -len ? u + sz2 : -u - 1;
        }
      } else if (u > len - 1) {
        if (len <= 1) u = 0;
        else {
          const sz2 = 2 * len;
          u -= sz2 * Math.trunc(u / sz2);
          if (u >= len) u = sz2 - u - 1;
        }
      }
      return Math.min(Math.max(u, 0), len - 1);
    }
    case 'wrap': {
      // (a b c d | a b c d | a b c d)
      let u = v;
      if (u < 0) {
        if (len <= 1) u = 0;
        else u += len * (Math.trunc(-u / (len - 1)) + 1);
      } else if (u > len - 1) {
        if (len <= 1) u = 0;
        else u -= len * Math.trunc(u / (len - 1));
      }
      return Math.min(Math.max(u, 0), len - 1);
    }
    default: {
      const never: never = mode;
      throw new RangeError(`Unknown fill mode ${String(never)}`);
    }
  }
}

/** C's round (half away from zero), as TensorFlow's nearest interpolation uses. */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/**
 * The taps of one image's sampling: for output pixel p, up to 4 (input pixel, weight) pairs in
 * `index`/`weight` (index -1: outside the image, read as fillValue). Depends only on the geometry.
 */
interface Taps {
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

function taps(m: Affine, h: number, w: number, opts: SampleOptions): Taps {
  const index = new Int32Array(h * w * 4).fill(-1);
  const weight = new Float64Array(h * w * 4);
  const [a0, a1, a2, b0, b1, b2] = m;
  const at = (yy: number, xx: number) => (yy >= 0 && yy < h && xx >= 0 && xx < w ? yy * w + xx : -1);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      const mx = mapCoordinate(a0 * x + a1 * y + a2, w, opts.fillMode);
      const my = mapCoordinate(b0 * x + b1 * y + b2, h, opts.fillMode);
      if (opts.interpolation === 'nearest') {
        index[p] = at(roundHalfAway(my), roundHalfAway(mx));
        weight[p] = 1;
        continue;
      }
      const fy = Math.floor(my);
      const fx = Math.floor(mx);
      const wy1 = my - fy;
      const wx1 = mx - fx;
      index[p] = at(fy, fx);
      weight[p] = (1 - wy1) * (1 - wx1);
      index[p + 1] = at(fy, fx + 1);
      weight[p + 1] = (1 - wy1) * wx1;
      index[p + 2] = at(fy + 1, fx);
      weight[p + 2] = wy1 * (1 - wx1);
      index[p + 3] = at(fy + 1, fx + 1);
      weight[p + 3] = wy1 * wx1;
    }
  }
  return { index, weight };
}

/** Samples each image i through `matrices[i]`, as tf.raw_ops.ImageProjectiveTransformV3 does. */
export function affineImages(
  x: Float32Array,
  s: ImageShape,
  matrices: readonly Affine[],
  opts: SampleOptions,
): Float32Array {
  checkSize('x', x, s);
  const out = new Float32Array(x.length);
  const { h, w, c } = s;
  for (let i = 0; i < s.n; i++) {
    const t = taps(matrices[i] as Affine, h, w, opts);
    const base = i * h * w * c;
    for (let p = 0; p < h * w; p++) {
      for (let k = 0; k < c; k++) {
        let v = 0;
        for (let j = 0; j < 4; j++) {
          const wt = t.weight[p * 4 + j] as number;
          if (wt === 0) continue;
          const src = t.index[p * 4 + j] as number;
          v += wt * (src < 0 ? opts.fillValue : (x[base + src * c + k] as number));
        }
        out[base + p * c + k] = v;
      }
    }
  }
  return out;
}

/** The adjoint of affineImages with respect to x (the fill value is a constant): its gradient. */
export function affineImagesAdjoint(
  dy: Float32Array,
  s: ImageShape,
  matrices: readonly Affine[],
  opts: SampleOptions,
): Float32Array {
  checkSize('dy', dy, s);
  const dx = new Float32Array(dy.length);
  const { h, w, c } = s;
  for (let i = 0; i < s.n; i++) {
    const t = taps(matrices[i] as Affine, h, w, opts);
    const base = i * h * w * c;
    for (let p = 0; p < h * w; p++) {
      for (let j = 0; j < 4; j++) {
        const wt = t.weight[p * 4 + j] as number;
        const src = t.index[p * 4 + j] as number;
        if (wt === 0 || src < 0) continue;
        for (let k = 0; k < c; k++)
          dx[base + src * c + k] = (dx[base + src * c + k] as number) + wt * (dy[base + p * c + k] as number);
      }
    }
  }
  return dx;
}

/**
 * Keras's rotation matrix: `degrees` counter-clockwise about the image centre ((w-1)/2, (h-1)/2).
 * A positive angle turns the picture counter-clockwise, so 90° is numpy's rot90(image, k=1).
 */
export function rotationMatrix(degrees: number, h: number, w: number): Affine {
  const rad = (degrees * Math.PI) / 180;
  const cos = Math.cos(rad);
  const sin = Math.sin(rad);
  const cx = 0.5 * (w - 1);
  const cy = 0.5 * (h - 1);
  return [cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos];
}

/**
 * Keras's zoom matrix: the output samples the input scaled by (zx, zy) about the centre, so a zoom
 * above 1 shows more of the picture (zooms out) and below 1 shows less (zooms in).
 */
export function zoomMatrix(zx: number, zy: number, h: number, w: number): Affine {
  return [zx, 0, ((w - 1) / 2) * (1 - zx), 0, zy, ((h - 1) / 2) * (1 - zy)];
}

// ---- contrast -------------------------------------------------------------------------------------

/** Per image and channel: the mean over the h·w pixels. */
function channelMeans(x: Float32Array, s: ImageShape, i: number): Float64Array {
  const { h, w, c } = s;
  const means = new Float64Array(c);
  const base = i * h * w * c;
  for (let p = 0; p < h * w; p++)
    for (let k = 0; k < c; k++) means[k] = (means[k] as number) + (x[base + p * c + k] as number);
  for (let k = 0; k < c; k++) means[k] = (means[k] as number) / (h * w);
  return means;
}

/**
 * Keras's RandomContrast transform: per image i and channel, (x - mean) · factors[i] + mean, clipped
 * to `valueRange`.
 */
export function contrastImages(
  x: Float32Array,
  s: ImageShape,
  factors: ArrayLike<number>,
  valueRange: readonly [number, number],
): Float32Array {
  checkSize('x', x, s);
  const out = new Float32Array(x.length);
  const { h, w, c } = s;
  const [lo, hi] = valueRange;
  for (let i = 0; i < s.n; i++) {
    const means = channelMeans(x, s, i);
    const f = factors[i] as number;
    const base = i * h * w * c;
    for (let p = 0; p < h * w; p++) {
      for (let k = 0; k < c; k++) {
        const m = means[k] as number;
        const v = ((x[base + p * c + k] as number) - m) * f + m;
        out[base + p * c + k] = Math.min(Math.max(v, lo), hi);
      }
    }
  }
  return out;
}

/**
 * The gradient of contrastImages at x: the clip passes dy where the unclipped value lies within
 * [lo, hi] (as tf.clipByValue's gradient does), then dx = f·g + (1 - f)·mean(g) per image and channel.
 */
export function contrastImagesGradient(
  x: Float32Array,
  dy: Float32Array,
  s: ImageShape,
  factors: ArrayLike<number>,
  valueRange: readonly [number, number],
): Float32Array {
  checkSize('x', x, s);
  checkSize('dy', dy, s);
  const dx = new Float32Array(x.length);
  const { h, w, c } = s;
  const [lo, hi] = valueRange;
  const g = new Float64Array(h * w * c);
  for (let i = 0; i < s.n; i++) {
    const means = channelMeans(x, s, i);
    const f = factors[i] as number;
    const base = i * h * w * c;
    const gMean = new Float64Array(c);
    for (let p = 0; p < h * w; p++) {
      for (let k = 0; k < c; k++) {
        const m = means[k] as number;
        const v = ((x[base + p * c + k] as number) - m) * f + m;
        const gv = v >= lo && v <= hi ? (dy[base + p * c + k] as number) : 0;
        g[p * c + k] = gv;
        gMean[k] = (gMean[k] as number) + gv;
      }
    }
    for (let k = 0; k < c; k++) gMean[k] = (gMean[k] as number) / (h * w);
    for (let p = 0; p < h * w; p++)
      for (let k = 0; k < c; k++) dx[base + p * c + k] = f * (g[p * c + k] as number) + (1 - f) * (gMean[k] as number);
  }
  return dx;
}
