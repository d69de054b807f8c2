/**
 * Conv2DBackpropFilter (absent from wasm 4.22) as one forward wasm (XNNPACK) Conv2D: the filter
 * gradient is a correlation of the input with the output gradient, summed over the batch.
 */
import * as tf from '@tensorflow/tfjs';
import { checkDy, convGeometry, type ConvGradAttrs } from './conv-geometry.ts';
import { filterGradOperand } from './frames.ts';
import { asTensor, asWasm, handOver } from './tensors.ts';

const NAME = 'Conv2DBackpropFilter';

interface Attrs extends ConvGradAttrs {
  filterShape: [number, number, number, number];
}

/**
 * dW[a,b,i,o] = sum_{n,y,x} xPadded[n, y*sh+a, x*sw+b, i] * dy[n,y,x,o]. Read with the input channel
 * i as the batch, the batch n as the channel, and dy as a filter dilated by the strides, that is a
 * stride-1 conv2d whose [fh, fw] output positions are the filter taps.
 */
export function conv2dBackpropFilter({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const wasm = asWasm(backend, NAME);
  const a = attrs as unknown as Attrs;
  const { x: xInfo, dy: dyInfo } = inputs;
  if (xInfo === undefined || dyInfo === undefined) throw new Error(`${NAME} expects inputs x and dy`);
  const g = convGeometry(NAME, xInfo.shape, a.filterShape, a, false);
  checkDy(NAME, dyInfo.shape, g);
  const dw = tf.tidy(() => {
    const dy = asTensor<tf.Rank.R4>(dyInfo, wasm);
    const { x, pad } = filterGradOperand(asTensor<tf.Rank.R4>(xInfo, wasm), g);
    const channelsAsBatch = tf.transpose(x, [3, 1, 2, 0]); // [inC, h, w, batch]
    const dyAsFilter = tf.transpose(dy, [1, 2, 0, 3]); // [outH, outW, batch, outC]
    const taps = tf.conv2d(channelsAsBatch, dyAsFilter, 1, pad, 'NHWC', [g.strideH, g.strideW]); // [inC, fh, fw, outC]
    return tf.transpose(taps, [1, 2, 0, 3]);
  });
  return handOver(dw, wasm);
}

/** Registers the missing wasm Conv2DBackpropFilter. */
export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: NAME,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
};
