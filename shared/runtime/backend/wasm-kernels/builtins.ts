/**
 * The wasm kernels tensorfleet replaced, kept so benchmarks and tests can still run the originals
 * side by side with the replacements.
 */
import type * as tf from '@tensorflow/tfjs';

const replaced = new Map<string, tf.KernelConfig>();

/** Records the built-in config of a kernel about to be replaced; the first one recorded wins. */
export function rememberBuiltin(config: tf.KernelConfig): void {
  if (!replaced.has(config.kernelName)) replaced.set(config.kernelName, config);
}

/** The built-in wasm config tensorfleet replaced for `kernelName`, or undefined if it replaced none. */
export function builtinKernel(kernelName: string): tf.KernelConfig | undefined {
  return replaced.get(kernelName);
}
