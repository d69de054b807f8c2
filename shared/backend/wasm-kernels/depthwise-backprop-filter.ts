/**
 * DepthwiseConv2dNativeBackpropFilter (absent from wasm 4.22) as one wasm (XNNPACK) depthwise
 * conv over a single image whose channels are every (batch, channel) pair, then a batch sum.
 */
import * as tf from '@tensorflow/tfjs';
import { checkDy, convGeometry, type ConvGradAttrs } from './conv-geometry.ts';
import { filterGradOperand } from './frames.ts';
import { asTensor, asWasm, handOver } from './tensors.ts';

const NAME = 'DepthwiseConv2dNativeBackpropFilter';

interface Attrs extends ConvGradAttrs {
  filterShape: [number, number, number, number];
}

/**
 * dW[a,b,c,q] = sum_n sum_{y,x} xPadded[n, y*sh+a, x*sw+b, c] * dy[n,y,x,c*m+q]. With (n, c) folded
 * into the channels of one image, every channel has its own dy "filter" (dilated by the strides):
 * a depthwise conv whose output positions are the taps; summing over n finishes it.
 */
export function depthwiseBackpropFilter({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const wasm = asWasm(backend, NAME);
  const a = attrs as unknown as Attrs;
  const { x: xInfo, dy: dyInfo } = inputs;
  if (xInfo === undefined || dyInfo === undefined) throw new Error(`${NAME} expects inputs x and dy`);
  const g = convGeometry(NAME, xInfo.shape, a.filterShape, a, true);
  checkDy(NAME, dyInfo.shape, g);
  const [fh, fw, c, m] = a.filterShape;
  const n = g.batch;
  const dw = tf.tidy(() => {
    const { x, pad } = filterGradOperand(asTensor<tf.Rank.R4>(xInfo, wasm), g);
    const [, h, w] = x.shape;
    const image = tf.reshape<tf.Rank.R4>(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, n * c]);
    const dy5 = tf.reshape(asTensor<tf.Rank.R4>(dyInfo, wasm), [n, g.outH, g.outW, c, m]);
    const dyAsFilter = tf.reshape<tf.Rank.R4>(tf.transpose(dy5, [1, 2, 0, 3, 4]), [g.outH, g.outW, n * c, m]);
    const taps = tf.depthwiseConv2d(image, dyAsFilter, 1, pad, 'NHWC', [g.strideH, g.strideW]); // [1, fh, fw, n*c*m]
    return tf.reshape(tf.sum(tf.reshape(taps, [fh, fw, n, c * m]), 2), [fh, fw, c, m]);
  });
  return handOver(dw, wasm);
}

/** Registers the missing wasm DepthwiseConv2dNativeBackpropFilter. */
export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: NAME,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as tf.KernelFunc,
};
