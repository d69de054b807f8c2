/**
 * DepthwiseConv2dNativeBackpropInput (absent from wasm 4.22) as one wasm (XNNPACK) depthwise conv
 * of the spread output gradient with the rotated filter, as for regular convolutions.
 */
import * as tf from '@tensorflow/tfjs';
import { checkDy, convGeometry, type ConvGradAttrs } from './conv-geometry.ts';
import { transposedConvOperand } from './frames.ts';
import { rotateFilter } from './rotate-filter.ts';
import { asTensor, asWasm, dims4, handOver } from './tensors.ts';

const NAME = 'DepthwiseConv2dNativeBackpropInput';

interface Attrs extends ConvGradAttrs {
  inputShape: [number, number, number, number];
}

/**
 * dx[.., c] = sum_q (dy[.., c*m+q] correlated with rotated filter[.., c, q]). Each of the c*m dy
 * channels is correlated with its own tap set (a depthwise conv with multiplier 1), then the m
 * products of one input channel are summed.
 */
export function depthwiseBackpropInput({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const wasm = asWasm(backend, NAME);
  const a = attrs as unknown as Attrs;
  const { dy: dyInfo, filter: filterInfo } = inputs;
  if (dyInfo === undefined || filterInfo === undefined) throw new Error(`${NAME} expects inputs dy and filter`);
  const g = convGeometry(NAME, a.inputShape, filterInfo.shape, a, true);
  checkDy(NAME, dyInfo.shape, g);
  const [fh, fw, c, m] = dims4(filterInfo.shape, `${NAME} filter`);
  const dx = tf.tidy(() => {
    const dy = asTensor<tf.Rank.R4>(dyInfo, wasm);
    const { x, pad } = transposedConvOperand(dy, g);
    const taps = tf.reshape<tf.Rank.R4>(rotateFilter(filterInfo, wasm, false), [fh, fw, c * m, 1]);
    const perProduct = tf.depthwiseConv2d(x, taps, 1, pad); // [n, inH, inW, c*m]
    if (m === 1) return perProduct;
    return tf.sum(tf.reshape(perProduct, [g.batch, g.inH, g.inW, c, m]), 4);
  });
  return handOver(dx, wasm);
}

/** Registers the missing wasm DepthwiseConv2dNativeBackpropInput. */
export const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: NAME,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as tf.KernelFunc,
};
