/**
 * Conv2DBackpropInput as one forward wasm (XNNPACK) Conv2D. The built-in wasm kernel is a naive
 * scalar loop: ~71 ms against ~10 ms for the MNIST convnet step upstream, and 225 ms against 19 ms
 * for its 13x13x32 -> 11x11x64 layer at batch 64 here (bench/wasm-kernels.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { checkDy, convGeometry, type ConvGradAttrs } from './conv-geometry.ts';
import { transposedConvOperand } from './frames.ts';
import { rotateFilter } from './rotate-filter.ts';
import { asTensor, asWasm, handOver } from './tensors.ts';

const NAME = 'Conv2DBackpropInput';

interface Attrs extends ConvGradAttrs {
  inputShape: [number, number, number, number];
}

/** dx = conv2d(dy spread by the strides, filter rotated 180° with in/out channels swapped), stride 1. */
export function conv2dBackpropInput({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const wasm = asWasm(backend, NAME);
  const a = attrs as unknown as Attrs;
  const { dy: dyInfo, filter: filterInfo } = inputs;
  if (dyInfo === undefined || filterInfo === undefined) throw new Error(`${NAME} expects inputs dy and filter`);
  const g = convGeometry(NAME, a.inputShape, filterInfo.shape, a, false);
  checkDy(NAME, dyInfo.shape, g);
  const dx = tf.tidy(() => {
    const dy = asTensor<tf.Rank.R4>(dyInfo, wasm);
    const { x, pad } = transposedConvOperand(dy, g);
    // In/out swapped: the adjoint maps output channels back to input ones.
    const adjoint = rotateFilter(filterInfo, wasm, true);
    return tf.conv2d(x, adjoint, 1, pad);
  });
  return handOver(dx, wasm);
}

/** Replaces wasm's Conv2DBackpropInput. */
export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: NAME,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc,
};
