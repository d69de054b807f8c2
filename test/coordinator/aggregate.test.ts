/**
 * weightedAverage: the sample-weighted mean of the workers' gradients and then their state tensors,
 * checked against a float64 reference; the one-worker shortcut hands back the worker's own buffers;
 * workers that trained no samples take no part, even when their tensors hold garbage.
 */
import { describe, expect, it } from 'vitest';
import { weightedAverage, type Contribution } from '../../coordinator/aggregate.ts';
import type { WireTensor } from '../../shared/wire/protocol.ts';

/** A deterministic float32 vector (a small LCG), so failures reproduce. */
function vector(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 10 ** ((i % 7) - 3); // magnitudes from 1e-3 to 1e3
  }
  return out;
}

const tensor = (name: string, data: Float32Array, shape: number[] = [data.length]): WireTensor =>
  ({ name, dtype: 'float32', shape, data });

/** The only two places that know Contribution's layout: building one, and listing its tensors in order. */
const make = (samples: number, tensors: WireTensor[]): Contribution => ({ samples, tensors });
const tensorsOf = (c: Contribution): readonly WireTensor[] => c.tensors;

/** Gradients (kernel, bias), then one state tensor (a moving mean), as a gradients reply carries them. */
function contribution(samples: number, seed: number): Contribution {
  const kernel = tensor('kernel', vector(12, seed), [3, 4]);
  return make(samples, [kernel, tensor('bias', vector(4, seed + 1)), tensor('moving_mean', vector(4, seed + 2))]);
}

/** sum_i n_i g_i / sum_i n_i in float64, over the workers with samples. */
function reference(cs: readonly Contribution[], ti: number): Float64Array {
  const live = cs.filter((c) => c.samples > 0);
  const total = live.reduce((n, c) => n + c.samples, 0);
  const at = (c: Contribution, j: number) => (tensorsOf(c)[ti] as WireTensor).data[j] as number;
  const out = new Float64Array((tensorsOf(live[0] as Contribution)[ti] as WireTensor).data.length);
  for (let j = 0; j < out.length; j++) out[j] = live.reduce((a, c) => a + c.samples * at(c, j), 0) / total;
  return out;
}

describe('weightedAverage', () => {
  it('is the sample-weighted mean, gradients then state, rounded once to float32 from float64', () => {
    const cs = [contribution(3, 1), contribution(29, 2), contribution(8, 3)];
    const out = weightedAverage(cs);
    expect(out.map((t) => t.length)).toEqual([12, 4, 4]);
    for (const ti of [0, 1, 2]) {
      const ref = reference(cs, ti);
      const got = out[ti] as Float32Array;
      expect(got).toBeInstanceOf(Float32Array);
      expect(got.length).toBe(ref.length);
      // Each element is the float64 mean rounded once to float32.
      expect(Array.from(got)).toEqual(Array.from(ref, (r) => Math.fround(r)));
    }
    // An unweighted mean is something else: the 29-sample worker dominates.
    const bias = (c: Contribution, j: number) => (tensorsOf(c)[1] as WireTensor).data[j] as number;
    const plain = (j: number) => cs.reduce((a, c) => a + bias(c, j), 0) / cs.length;
    expect((out[1] as Float32Array)[0]).not.toBe(Math.fround(plain(0)));
  });

  it('equals the gradient of the whole batch when every worker saw the same rows count', () => {
    const a = contribution(16, 5);
    const b = contribution(16, 9);
    const out = weightedAverage([a, b]);
    const ka = (tensorsOf(a)[0] as WireTensor).data;
    const kb = (tensorsOf(b)[0] as WireTensor).data;
    const mean = (j: number) => Math.fround(((ka[j] as number) + (kb[j] as number)) / 2);
    (out[0] as Float32Array).forEach((v, j) => expect(v).toBe(mean(j)));
  });

  it('hands back the only worker\'s buffers as they are (no copy, no rounding)', () => {
    const only = contribution(7, 4);
    const out = weightedAverage([only]);
    expect(out).toHaveLength(3);
    tensorsOf(only).forEach((t, i) => expect(out[i]).toBe(t.data));
  });

  it('leaves out workers with zero samples, whatever their tensors hold', () => {
    const kernel = tensor('kernel', new Float32Array(12).fill(NaN), [3, 4]);
    const bias = tensor('bias', new Float32Array(4).fill(1e30));
    const idle = make(0, [kernel, bias, tensor('moving_mean', new Float32Array(4).fill(-Infinity))]);
    const a = contribution(5, 11);
    const b = contribution(11, 12);
    const out = weightedAverage([idle, a, idle, b]);
    const ref = weightedAverage([a, b]);
    expect(out).toEqual(ref);
    for (const t of out) expect(t.every(Number.isFinite)).toBe(true);
    // With one live worker left, the shortcut applies even beside idle ones.
    expect(weightedAverage([idle, a])[0]).toBe((tensorsOf(a)[0] as WireTensor).data);
  });

  it('returns no tensors when nobody trained a sample', () => {
    expect(weightedAverage([])).toEqual([]);
    expect(weightedAverage([make(0, [tensor('bias', new Float32Array(4))])])).toEqual([]);
  });
});
