/**
 * Weights as files hold them (per layer, in Keras order) and their transfer into a tfjs model, with
 * Keras's own matching rule: by layer name when every saved name exists in the model, else by the order
 * of the layers that have weights. Any count or shape mismatch is FLEET_ERR_WEIGHTS_MISMATCH naming the file.
 */
import * as tf from '@tensorflow/tfjs';
import { FleetError } from '../../runtime/errors.ts';

/** One saved variable. */
export interface SavedWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** The variables of one layer, in `layer.weights` order (trainable, then non-trainable). */
export interface SavedLayer {
  name: string;
  weights: SavedWeight[];
}

/** The layers of `model` as Keras lists them: a Sequential's InputLayer is not one of them. */
export function kerasLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const sequential = model.getClassName() === 'Sequential';
  return model.layers.filter((l) => !(sequential && l.getClassName() === 'InputLayer'));
}

/** Copies every layer's weights out of the backend (all layers, also those without weights). */
export function collectLayers(model: tf.LayersModel): SavedLayer[] {
  return kerasLayers(model).map((layer) => ({
    name: layer.name,
    weights: layer.weights.map((w) => {
      const values = w.read();
      if (values.dtype !== 'float32') {
        throw new FleetError('FLEET_ERR_FORMAT', `Expected float32 weights to save. Received: ${w.originalName} of dtype ${values.dtype}`);
      }
      return { name: w.originalName, shape: [...w.shape] as number[], data: values.dataSync() as Float32Array };
    }),
  }));
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Writes saved weights into `model`; nothing is written unless every layer fits. */
export function assignLayers(model: tf.LayersModel, saved: readonly SavedLayer[], file: string): void {
  const targets = kerasLayers(model).filter((l) => l.weights.length > 0);
  const sources = saved.filter((s) => s.weights.length > 0);
  const byName = new Map(targets.map((l) => [l.name, l]));
  const named = sources.every((s) => byName.has(s.name)) && sources.length === targets.length;
  if (!named && sources.length !== targets.length) {
    throw new FleetError(
      'FLEET_ERR_WEIGHTS_MISMATCH',
      `Expected weights for ${targets.length} layers (${targets.map((l) => l.name).join(', ')}) in ${file}. Received: ${sources.length} layers with weights (${sources.map((s) => s.name).join(', ')}); is it a file for another architecture?`,
      { file },
    );
  }
  const pairs = sources.map((s, i) => [named ? (byName.get(s.name) as tf.layers.Layer) : (targets[i] as tf.layers.Layer), s] as const);
  for (const [layer, s] of pairs) {
    if (layer.weights.length !== s.weights.length) {
      throw new FleetError('FLEET_ERR_WEIGHTS_MISMATCH', `Expected ${layer.weights.length} weights for layer "${layer.name}" in ${file}. Received: ${s.weights.length} (${s.weights.map((w) => w.name).join(', ')})`, { file, layer: layer.name });
    }
    layer.weights.forEach((w, i) => {
      const src = s.weights[i] as SavedWeight;
      if (!sameShape(w.shape as number[], src.shape)) {
        throw new FleetError('FLEET_ERR_WEIGHTS_MISMATCH', `Expected ${w.originalName} of layer "${layer.name}" to have shape [${w.shape.join(',')}] in ${file}. Received: "${src.name}" of shape [${src.shape.join(',')}]`, { file, layer: layer.name });
      }
    });
  }
  for (const [layer, s] of pairs) {
    const tensors = s.weights.map((w) => tf.tensor(w.data, w.shape, 'float32'));
    layer.setWeights(tensors);
    tf.dispose(tensors);
  }
}
