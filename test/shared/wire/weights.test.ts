/** Weight subsets on the wire: the layout a worker expects for a round that carries only some weights. */
import { describe, expect, it } from 'vitest';
import type { FleetError } from '../../../shared/runtime/errors.ts';
import { subsetSpecs } from '../../../shared/wire/weights.ts';

const specs = [0, 1, 2, 3].map((i) => ({ name: `w${i}`, dtype: 'float32' as const, shape: [i + 1] }));

describe('subsetSpecs', () => {
  it('returns the specs of the listed weights, in order', () => {
    expect(subsetSpecs(specs, [0, 2, 3], 3).map((s) => s.name)).toEqual(['w0', 'w2', 'w3']);
  });

  it.each([
    [[0, 2], 3, /Expected 3 strictly ascending weight indices below 4\. Received: 2 indices \[0, 2\]/],
    [[2, 0], 2, /Received: 2 indices \[2, 0\]/],
    [[1, 1], 2, /Received: 2 indices \[1, 1\]/],
    [[0, 4], 2, /below 4\. Received: 2 indices \[0, 4\]/],
  ] as const)('refuses %j for %i tensors with a typed error', (indices, count, message) => {
    let err: FleetError | undefined;
    try {
      subsetSpecs(specs, indices, count);
    } catch (e) {
      err = e as FleetError;
    }
    expect(err?.code).toBe('FLEET_ERR_TENSOR_SHAPE');
    expect(err?.message).toMatch(message);
  });
});
