/** Weights groups on the wire: the receiver's one check of a weights group against its model. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { FleetError } from '../../../shared/runtime/errors.ts';
import { readWeights, subsetSpecs, writeWeightsGroup } from '../../../shared/wire/weights.ts';

const specs = [0, 1, 2, 3].map((i) => ({ name: `w${i}`, dtype: 'float32' as const, shape: [i + 1] }));

function errorOf(fn: () => unknown): FleetError | undefined {
  try {
    fn();
  } catch (e) {
    return e as FleetError;
  }
  return undefined;
}

describe('subsetSpecs', () => {
  it('returns the specs of the listed weights, in order', () => {
    expect(subsetSpecs(specs, [0, 2, 3]).map((s) => s.name)).toEqual(['w0', 'w2', 'w3']);
  });

  it('refuses an index the model does not have (decodeMessage checked order and count)', () => {
    const err = errorOf(() => subsetSpecs(specs, [0, 4]));
    expect(err?.code).toBe('FLEET_ERR_TENSOR_SHAPE');
    expect(err?.message).toMatch(/Expected weight indices below 4\. Received: 4 in \[0, 4\]/);
  });
});

describe('writeWeightsGroup', () => {
  const model = () => tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });

  it('writes all weights, or those at the indices given', () => {
    const m = model();
    const src = readWeights(model());
    writeWeightsGroup(m, src);
    expect(readWeights(m).map((t) => Array.from(t.data))).toEqual(src.map((t) => Array.from(t.data)));
    const bias = { ...(src[1] as (typeof src)[number]), data: Float32Array.of(7, 8) };
    writeWeightsGroup(m, [bias], [1]);
    expect(Array.from(readWeights(m)[1]?.data ?? [])).toEqual([7, 8]);
  });

  it('refuses a group that does not fit the model and leaves the model as it was', () => {
    const m = model();
    const before = readWeights(m).map((t) => Array.from(t.data));
    const [kernel, bias] = readWeights(model());
    expect(errorOf(() => writeWeightsGroup(m, [kernel!]))?.code).toBe('FLEET_ERR_TENSOR_SHAPE'); // one weight short
    // A bias sent as the kernel.
    expect(errorOf(() => writeWeightsGroup(m, [bias!], [0]))?.code).toBe('FLEET_ERR_TENSOR_SHAPE');
    const nan = { ...bias!, data: Float32Array.of(NaN, 0) };
    expect(errorOf(() => writeWeightsGroup(m, [kernel!, nan]))?.code).toBe('FLEET_ERR_NONFINITE');
    expect(readWeights(m).map((t) => Array.from(t.data))).toEqual(before);
  });
});
