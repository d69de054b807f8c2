/** Moving model weights and gradients between tfjs models and wire tensors. */
import * as tf from '@tensorflow/tfjs';
import type { TensorExpectation, WireTensor } from './protocol.ts';

/** Expected wire layout of all model weights (trainable and not), in model.weights order. */
export function weightSpecs(model: tf.LayersModel): TensorExpectation[] {
  return model.weights.map((w) => ({ name: w.originalName, dtype: 'float32' as const, shape: w.shape as number[] }));
}

/** Expected wire layout of the gradients: one per trainable weight, in model.trainableWeights order. */
export function gradientSpecs(model: tf.LayersModel): TensorExpectation[] {
  return model.trainableWeights.map((w) => ({ name: w.originalName, dtype: 'float32' as const, shape: w.shape as number[] }));
}

/** Reads every model weight into wire tensors (copies out of the backend). */
export function readWeights(model: tf.LayersModel): WireTensor[] {
  return model.weights.map((w) => ({ name: w.originalName, dtype: 'float32' as const, shape: w.shape as number[], data: w.read().dataSync() as Float32Array }));
}

/** Writes wire tensors into the model's weights, in model.weights order; shapes must already be checked. */
export function writeWeights(model: tf.LayersModel, tensors: readonly WireTensor[]): void {
  tf.tidy(() => {
    model.weights.forEach((w, i) => {
      const t = tensors[i] as WireTensor;
      w.write(tf.tensor(t.data, [...t.shape], 'float32'));
    });
  });
}

/** Turns gradient tensors into wire tensors and disposes them. */
export function gradientsToWire(model: tf.LayersModel, grads: readonly tf.Tensor[]): WireTensor[] {
  const out = grads.map((g, i) => {
    const w = model.trainableWeights[i] as (typeof model.trainableWeights)[number];
    return { name: w.originalName, dtype: 'float32' as const, shape: w.shape as number[], data: g.dataSync() as Float32Array };
  });
  tf.dispose([...grads]);
  return out;
}
