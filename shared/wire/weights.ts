/** Moving model weights and gradients between tfjs models and wire tensors. */
import * as tf from '@tensorflow/tfjs';
import { fleetError } from '../runtime/catalogue/index.ts';
import { checkTensors, type TensorExpectation, type WireTensor } from './protocol.ts';

/** Expected wire layout of all model weights (trainable and not), in model.weights order. */
export function weightSpecs(model: tf.LayersModel): TensorExpectation[] {
  return model.weights.map((w) => ({ name: w.originalName, dtype: 'float32' as const, shape: w.shape as number[] }));
}

/** Expected wire layout of the gradients: one per trainable weight, in model.trainableWeights order. */
export function gradientSpecs(model: tf.LayersModel): TensorExpectation[] {
  return model.trainableWeights.map((w) => ({
    name: w.originalName,
    dtype: 'float32' as const,
    shape: w.shape as number[],
  }));
}

/**
 * Training state that workers compute: the moving mean and variance of trainable BatchNormalization
 * layers. Frozen layers' non-trainable weights never change, so they never travel back.
 */
export function stateWeights(model: tf.LayersModel): tf.LayerVariable[] {
  const out: tf.LayerVariable[] = [];
  const visit = (layer: tf.layers.Layer) => {
    // A nested model is a layer with layers of its own; `in` narrows to that field without a cast.
    const inner: unknown = 'layers' in layer ? layer.layers : undefined;
    if (Array.isArray(inner)) {
      for (const l of inner) if (l instanceof tf.layers.Layer && l.trainable) visit(l);
    } else if (layer.getClassName() === 'BatchNormalization' && layer.trainable) {
      out.push(...layer.nonTrainableWeights);
    }
  };
  for (const l of model.layers) if (l.trainable) visit(l);
  return out;
}

/** Expected wire layout of the state tensors, in stateWeights order. */
export function stateSpecs(model: tf.LayersModel): TensorExpectation[] {
  return stateWeights(model).map((w) => ({
    name: w.originalName,
    dtype: 'float32' as const,
    shape: w.shape as number[],
  }));
}

/** Reads the state tensors (BatchNormalization moving statistics) into wire tensors. */
export function readState(model: tf.LayersModel): WireTensor[] {
  return stateWeights(model).map((w) => ({
    name: w.originalName,
    dtype: 'float32' as const,
    shape: w.shape as number[],
    data: w.read().dataSync() as Float32Array,
  }));
}

/** Writes averaged state back into the model, in stateWeights order. */
export function writeState(model: tf.LayersModel, data: readonly Float32Array[]): void {
  tf.tidy(() =>
    stateWeights(model).forEach((w, i) => w.write(tf.tensor(data[i] as Float32Array, w.shape as number[], 'float32'))),
  );
}

/** Reads every model weight into wire tensors (copies out of the backend). */
export function readWeights(model: tf.LayersModel): WireTensor[] {
  return model.weights.map((w) => ({
    name: w.originalName,
    dtype: 'float32' as const,
    shape: w.shape as number[],
    data: w.read().dataSync() as Float32Array,
  }));
}

/** Writes wire tensors into the model's weights, in model.weights order; shapes must already be checked. */
export function writeWeights(model: tf.LayersModel, tensors: readonly WireTensor[]): void {
  writeWeightsAt(
    model,
    model.weights.map((_, i) => i),
    tensors,
  );
}

/**
 * The expected layout of a weights group carrying only model.weights[indices], one tensor per index.
 * decodeMessage has checked that the indices ascend and match the group's length; only the receiver
 * knows how many weights the model has, so the range is checked here: FLEET_ERR_TENSOR_SHAPE otherwise.
 */
export function subsetSpecs(specs: readonly TensorExpectation[], indices: readonly number[]): TensorExpectation[] {
  const outside = indices.find((i) => i >= specs.length);
  if (outside !== undefined) {
    const shown = `[${indices.slice(0, 8).join(', ')}${indices.length > 8 ? ', ...' : ''}]`;
    throw fleetError('WIRE_WEIGHT_INDEX_RANGE', { count: specs.length, index: outside, indices: shown });
  }
  return indices.map((i) => specs[i] as TensorExpectation);
}

/**
 * The receiver's one check of a weights group against its model, then the write: every weight in
 * model.weights order, or (with `indices`) those weights only. Shapes, dtypes and finite values are
 * checked before anything is written, so a refused group leaves the model as it was.
 */
export function writeWeightsGroup(
  model: tf.LayersModel,
  weights: readonly WireTensor[],
  indices?: readonly number[],
): void {
  const specs = weightSpecs(model);
  const at = indices ?? specs.map((_, i) => i);
  checkTensors(weights, indices ? subsetSpecs(specs, indices) : specs, { finite: true });
  writeWeightsAt(model, at, weights);
}

/** Writes wire tensors into model.weights[indices[i]]; shapes must already be checked. */
export function writeWeightsAt(
  model: tf.LayersModel,
  indices: readonly number[],
  tensors: readonly WireTensor[],
): void {
  const all = model.weights;
  tf.tidy(() => {
    indices.forEach((at, i) => {
      const t = tensors[i] as WireTensor;
      (all[at] as (typeof all)[number]).write(tf.tensor(t.data, [...t.shape], 'float32'));
    });
  });
}

/** Turns gradient tensors into wire tensors and disposes them. */
export function gradientsToWire(model: tf.LayersModel, grads: readonly tf.Tensor[]): WireTensor[] {
  const out = grads.map((g, i) => {
    const w = model.trainableWeights[i] as (typeof model.trainableWeights)[number];
    return {
      name: w.originalName,
      dtype: 'float32' as const,
      shape: w.shape as number[],
      data: g.dataSync() as Float32Array,
    };
  });
  tf.dispose([...grads]);
  return out;
}
