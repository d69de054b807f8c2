/**
 * Weights as files hold them (per layer, in Keras order) and their transfer into a tfjs model, with
 * Keras's own matching rule: by layer name when every saved name exists in the model, else by the order
 * of the layers that have weights. Any count or shape mismatch is FLEET_ERR_WEIGHTS_MISMATCH naming the file.
 */
import * as tf from '@tensorflow/tfjs';
import { fleetError } from '../../runtime/catalogue/index.ts';

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
        throw fleetError('WEIGHTS_NOT_FLOAT32', { name: w.originalName, dtype: values.dtype });
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
    const names = targets.map((l) => l.name).join(', ');
    const receivedNames = sources.map((s) => s.name).join(', ');
    throw fleetError(
      'WEIGHTS_LAYER_COUNT',
      { count: targets.length, names, file, received: sources.length, receivedNames },
      { file },
    );
  }
  const pairs = sources.map(
    (s, i) => [named ? (byName.get(s.name) as tf.layers.Layer) : (targets[i] as tf.layers.Layer), s] as const,
  );
  for (const [layer, s] of pairs) {
    if (layer.weights.length !== s.weights.length) {
      const names = s.weights.map((w) => w.name).join(', ');
      const values = { count: layer.weights.length, layer: layer.name, file, received: s.weights.length, names };
      throw fleetError('WEIGHTS_COUNT', values, { file, layer: layer.name });
    }
    layer.weights.forEach((w, i) => {
      const src = s.weights[i] as SavedWeight;
      if (!sameShape(w.shape as number[], src.shape)) {
        const values = {
          name: w.originalName,
          layer: layer.name,
          shape: w.shape.join(','),
          file,
          received: src.name,
          receivedShape: src.shape.join(','),
        };
        throw fleetError('WEIGHTS_SHAPE', values, { file, layer: layer.name });
      }
    });
  }
  for (const [layer, s] of pairs) {
    const tensors = s.weights.map((w) => tf.tensor(w.data, w.shape, 'float32'));
    layer.setWeights(tensors);
    tf.dispose(tensors);
  }
}
