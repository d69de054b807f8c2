/** The guide's MLP on real MNIST learns: a short 2-worker run on the embedded default (wasm) reaches 90%. */
import { describe, expect, it } from 'vitest';
import { runTestCluster } from '../helpers/local.ts';

describe('convergence on real MNIST', () => {
  it('one epoch over 20,000 images on 2 wasm workers reaches >= 90% test accuracy', async () => {
    const r = await runTestCluster('mnist-short.ts', 2, { backend: 'wasm' });
    expect(r.backend).toBe('wasm');
    expect(r.test?.['test_accuracy']).toBeGreaterThanOrEqual(0.9);
    expect(r.history.history['loss']?.[0]).toBeLessThan(1);
  });
});
