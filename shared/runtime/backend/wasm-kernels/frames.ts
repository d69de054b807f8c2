/**
 * Both gradients of a strided convolution are themselves stride-1 correlations: the input
 * gradient correlates the output gradient (spread out by the strides) with the filter rotated by
 * 180 degrees; the filter gradient correlates the input with the output gradient (dilated by the
 * strides). This file frames those operands (padding, cropping, spreading) for the wasm convs.
 */
import * as tf from '@tensorflow/tfjs';
import type { ConvGeometry, ExplicitPadding } from './conv-geometry.ts';
import { dims4 } from './tensors.ts';

/** A stride-1 correlation operand: `x`, to be convolved with padding `pad` and the rotated filter. */
export interface CorrelationOperand {
  readonly x: tf.Tensor4D;
  readonly pad: ExplicitPadding;
}

/**
 * dy spread by the forward strides and framed so that a stride-1 convolution with padding `pad`
 * and the rotated filter yields exactly [batch, inH, inW, channels]. Call inside tf.tidy.
 */
export function transposedConvOperand(dy: tf.Tensor4D, g: ConvGeometry): CorrelationOperand {
  const spread = spreadByStrides(dy, g.strideH, g.strideW);
  const [, h, w] = dims4(spread.shape, 'spread dy');
  // dx[y] = sum_a dySpread[y + padTop - a] * filter[a]: a full correlation needs filterH - 1 - padTop
  // rows before the spread gradient and whatever completes inH + filterH - 1 rows after it.
  const top = g.filterH - 1 - g.padTop;
  const left = g.filterW - 1 - g.padLeft;
  const bottom = g.inH + g.filterH - 1 - top - h;
  const right = g.inW + g.filterW - 1 - left - w;
  // Negative padding (explicit pads wider than the filter, or the zero tail the spread leaves past
  // the last output row) means those rows are never read: crop them instead.
  const cropTop = Math.max(0, -top);
  const cropLeft = Math.max(0, -left);
  const cropBottom = Math.max(0, -bottom);
  const cropRight = Math.max(0, -right);
  const x =
    cropTop + cropLeft + cropBottom + cropRight === 0
      ? spread
      : tf.slice(spread, [0, cropTop, cropLeft, 0], [-1, h - cropTop - cropBottom, w - cropLeft - cropRight, -1]);
  const pad: ExplicitPadding = [
    [0, 0],
    [Math.max(0, top), Math.max(0, bottom)],
    [Math.max(0, left), Math.max(0, right)],
    [0, 0],
  ];
  return { x, pad };
}

/**
 * Puts stride - 1 zeros after every row and column of t: [n, h, w, c] -> [n, h*sh, w*sw, c].
 * Why a pad of a rank-6 view: it is one wasm PadV2 call with no scatter, and reshapes are free.
 */
export function spreadByStrides(t: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return t;
  const [n, h, w, c] = dims4(t.shape, 'dy');
  const padded = tf.pad(tf.reshape(t, [n, h, 1, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.reshape(padded, [n, h * sh, w * sw, c]);
}

/**
 * x framed for the filter gradient (x correlated with dy dilated by the strides): the forward
 * leading padding, and a trailing side chosen so the correlation yields exactly filterH x filterW
 * taps; rows the forward pass never read (a negative trailing pad) are cropped from x.
 */
export function filterGradOperand(x: tf.Tensor4D, g: ConvGeometry): CorrelationOperand {
  const bottom = g.filterH + (g.outH - 1) * g.strideH - g.inH - g.padTop;
  const right = g.filterW + (g.outW - 1) * g.strideW - g.inW - g.padLeft;
  const cropBottom = Math.max(0, -bottom);
  const cropRight = Math.max(0, -right);
  const framed =
    cropBottom + cropRight === 0 ? x : tf.slice(x, [0, 0, 0, 0], [-1, g.inH - cropBottom, g.inW - cropRight, -1]);
  const pad: ExplicitPadding = [
    [0, 0],
    [g.padTop, Math.max(0, bottom)],
    [g.padLeft, Math.max(0, right)],
    [0, 0],
  ];
  return { x: framed, pad };
}
