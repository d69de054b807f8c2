/**
 * tensorfleet's kernels for the tfjs wasm backend: the gradient kernels wasm 4.22 lacks, and
 * replacements for the built-in ones that are wrong (MaxPoolGrad) or slow (Conv2DBackpropInput, Tile),
 * so that every Keras layer trains on wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { rememberBuiltin } from './builtins.ts';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.ts';
import { depthwiseBackpropFilterConfig } from './depthwise-backprop-filter.ts';
import { depthwiseBackpropInputConfig } from './depthwise-backprop-input.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { tileConfig } from './tile.ts';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.ts';

const KERNELS: readonly tf.KernelConfig[] = [
  conv2dBackpropInputConfig,
  conv2dBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  maxPoolGradConfig,
  unsortedSegmentSumConfig,
  tileConfig,
];

/** Registers tensorfleet's kernels on the wasm backend (idempotent); returns their names. */
export function registerWasmKernels(): string[] {
  for (const config of KERNELS) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current !== undefined) {
      rememberBuiltin(current);
      // Unregister first: registering over an existing kernel only warns, and keeps no original.
      tf.unregisterKernel(config.kernelName, 'wasm');
    }
    tf.registerKernel(config);
  }
  return KERNELS.map((k) => k.kernelName);
}
