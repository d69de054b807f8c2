/**
 * shared/model/augment: the pure NHWC transforms behind the augmentation layers and the batch pipeline.
 * Each transform changes an image as Keras's would (flip mirrors exactly, a quarter turn is rot90,
 * zoom scales about the centre, contrast is (x - mean)·f + mean per channel), and, where Python
 * Keras is installed (.ci/steps/20-python.sh), matches Keras 3's own layers on the same inputs.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  affineImages,
  affineImagesAdjoint,
  augmentRows,
  contrastImages,
  contrastImagesGradient,
  flipImages,
  mapCoordinate,
  parseAugmentation,
  resolveAugmentSpec,
  rotationMatrix,
  zoomMatrix,
  type FillMode,
  type ImageShape,
  type Interpolation,
} from '../../../shared/model/augment/index.ts';
import { seededRandom } from '../../../shared/runtime/rng.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const PYTHON = path.join(ROOT, '.venv/bin/python');

function randomImages(s: ImageShape, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: s.n * s.h * s.w * s.c }, () => r());
}
const at = (x: Float32Array, s: ImageShape, i: number, y: number, xx: number, k: number) =>
  x[((i * s.h + y) * s.w + xx) * s.c + k] as number;
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((acc, v, i) => acc + v * (b[i] as number), 0);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

describe('flip', () => {
  const s = { n: 2, h: 3, w: 4, c: 2 };
  const x = randomImages(s, 1);

  it('horizontal mirrors the columns of flipped images exactly and leaves the others', () => {
    const out = flipImages(x, s, [1, 0], 'horizontal');
    for (let y = 0; y < s.h; y++)
      for (let c = 0; c < s.w; c++)
        for (let k = 0; k < s.c; k++) {
          expect(at(out, s, 0, y, c, k)).toBe(at(x, s, 0, y, s.w - 1 - c, k));
          expect(at(out, s, 1, y, c, k)).toBe(at(x, s, 1, y, c, k));
        }
  });

  it('vertical mirrors rows; horizontal_and_vertical does both with one decision (a half turn)', () => {
    const v = flipImages(x, s, [1, 1], 'vertical');
    const hv = flipImages(x, s, [1, 1], 'horizontal_and_vertical');
    for (let y = 0; y < s.h; y++)
      for (let c = 0; c < s.w; c++) {
        expect(at(v, s, 1, y, c, 1)).toBe(at(x, s, 1, s.h - 1 - y, c, 1));
        expect(at(hv, s, 0, y, c, 0)).toBe(at(x, s, 0, s.h - 1 - y, s.w - 1 - c, 0));
      }
  });
});

describe('affine sampling (TensorFlow ImageProjectiveTransformV3 semantics)', () => {
  it('maps coordinates outside the image by fill mode, as tf.raw_ops.ImageProjectiveTransformV3 does', () => {
    const m = (mode: FillMode) => [-3, -2, -1, 0, 3, 4, 5, 6, 7].map((v) => mapCoordinate(v, 4, mode));
    expect(m('reflect')).toEqual([2, 1, 0, 0, 3, 3, 2, 1, 0]);
    // TensorFlow's wrap, measured on TF 2.19: periodic within one period, then its own quirk (it
    // divides by len - 1); we keep TensorFlow's behaviour, which is what Keras does.
    expect(m('wrap')).toEqual([3, 2, 3, 0, 3, 0, 1, 0, 0]);
    expect(m('nearest')).toEqual([0, 0, 0, 0, 3, 3, 3, 3, 3]);
    expect(m('constant')).toEqual([-3, -2, -1, 0, 3, 4, 5, 6, 7]);
  });

  it('a quarter turn (90°) is numpy rot90: out[y][x] = in[x][w-1-y], counter-clockwise', () => {
    const s = { n: 1, h: 5, w: 5, c: 3 };
    const x = randomImages(s, 2);
    for (const interpolation of ['bilinear', 'nearest'] as const) {
      const out = affineImages(x, s, [rotationMatrix(90, s.h, s.w)], {
        fillMode: 'constant',
        interpolation,
        fillValue: -1,
      });
      for (let y = 0; y < s.h; y++)
        for (let c = 0; c < s.w; c++)
          for (let k = 0; k < s.c; k++) {
            expect(at(out, s, 0, y, c, k)).toBeCloseTo(at(x, s, 0, c, s.w - 1 - y, k), 6);
          }
    }
  });

  it('a half turn of a non-square image equals flipping both axes', () => {
    const s = { n: 1, h: 3, w: 6, c: 1 };
    const x = randomImages(s, 3);
    const out = affineImages(x, s, [rotationMatrix(180, s.h, s.w)], {
      fillMode: 'reflect',
      interpolation: 'bilinear',
      fillValue: 0,
    });
    expect(maxAbsDiff(out, flipImages(x, s, [1], 'horizontal_and_vertical'))).toBeLessThan(1e-6);
  });

  it('zoom scales about the centre: zoom 1 is the identity, 0.5 shows the middle half', () => {
    const s = { n: 1, h: 5, w: 5, c: 1 };
    const ramp = Float32Array.from({ length: 25 }, (_, p) => p % 5); // value = column
    const opts = { fillMode: 'reflect' as const, interpolation: 'bilinear' as const, fillValue: 0 };
    expect(Array.from(affineImages(ramp, s, [zoomMatrix(1, 1, 5, 5)], opts))).toEqual(Array.from(ramp));
    const zoomedIn = affineImages(ramp, s, [zoomMatrix(0.5, 1, 5, 5)], opts);
    expect(Array.from(zoomedIn.subarray(0, 5))).toEqual([1, 1.5, 2, 2.5, 3]);
  });

  it('the adjoint is the transpose: <A x, y> = <x, Aᵀ y>, for every fill mode and interpolation', () => {
    const s = { n: 2, h: 6, w: 7, c: 2 };
    const x = randomImages(s, 4);
    const y = randomImages(s, 5);
    const matrices = [rotationMatrix(33, s.h, s.w), zoomMatrix(1.3, 0.8, s.h, s.w)];
    for (const fillMode of ['reflect', 'wrap', 'constant', 'nearest'] as const) {
      for (const interpolation of ['bilinear', 'nearest'] as const) {
        const opts = { fillMode, interpolation, fillValue: 0 };
        const lhs = dot(affineImages(x, s, matrices, opts), y);
        const rhs = dot(x, affineImagesAdjoint(y, s, matrices, opts));
        expect(Math.abs(lhs - rhs) / Math.abs(lhs)).toBeLessThan(1e-5);
      }
    }
  });
});

describe('contrast', () => {
  const s = { n: 2, h: 4, w: 3, c: 3 };
  const x = randomImages(s, 6);

  it('is (x - mean) * f + mean per image and channel, clipped to value_range', () => {
    const f = [0.5, 1.7];
    const out = contrastImages(x, s, f, [0, 1]);
    for (let i = 0; i < s.n; i++)
      for (let k = 0; k < s.c; k++) {
        let mean = 0;
        for (let y = 0; y < s.h; y++) for (let c = 0; c < s.w; c++) mean += at(x, s, i, y, c, k) / (s.h * s.w);
        for (let y = 0; y < s.h; y++)
          for (let c = 0; c < s.w; c++) {
            const want = Math.min(Math.max((at(x, s, i, y, c, k) - mean) * (f[i] as number) + mean, 0), 1);
            expect(at(out, s, i, y, c, k)).toBeCloseTo(want, 6);
          }
      }
  });

  it('its gradient matches a finite difference', () => {
    const f = [0.6, 1.4];
    const dy = randomImages(s, 7);
    const g = contrastImagesGradient(x, dy, s, f, [0, 1]);
    const eps = 1e-3;
    for (const idx of [0, 5, 17, 40]) {
      const plus = Float32Array.from(x);
      const minus = Float32Array.from(x);
      plus[idx] = (plus[idx] as number) + eps;
      minus[idx] = (minus[idx] as number) - eps;
      const numeric =
        (dot(contrastImages(plus, s, f, [0, 1]), dy) - dot(contrastImages(minus, s, f, [0, 1]), dy)) / (2 * eps);
      expect(g[idx]).toBeCloseTo(numeric, 2);
    }
  });
});

describe('configs and the batch pipeline', () => {
  it('parses Keras configs with Keras defaults and factor conventions', () => {
    expect(parseAugmentation({ class_name: 'RandomFlip', config: {} })).toEqual({
      kind: 'RandomFlip',
      mode: 'horizontal_and_vertical',
      seed: null,
    });
    expect(parseAugmentation({ class_name: 'RandomRotation', config: { factor: 0.2, seed: 3 } })).toMatchObject({
      factor: [-0.2, 0.2],
      sample: { fillMode: 'reflect', interpolation: 'bilinear', fillValue: 0 },
      seed: 3,
    });
    expect(parseAugmentation({ class_name: 'RandomZoom', config: { height_factor: [0.2, -0.1] } })).toMatchObject({
      heightFactor: [-0.1, 0.2],
      widthFactor: null,
    });
    expect(parseAugmentation({ class_name: 'RandomContrast', config: { factor: 0.2 } })).toMatchObject({
      factor: [0.2, 0.2],
      valueRange: [0, 255],
    });
  });

  it('rejects bad configs saying what was expected and what was received', () => {
    expect(() => parseAugmentation({ class_name: 'RandomFlip', config: { mode: 'diagonal' } })).toThrow(
      /FLEET_ERR_CONFIG|Expected augmentation layer.*mode.*Received: .*diagonal/,
    );
    expect(() => parseAugmentation({ class_name: 'RandomContrast', config: { factor: 1.5 } })).toThrow(
      /Expected factor in \[0, 1\].*Received/,
    );
    expect(() => parseAugmentation({ class_name: 'RandomShear', config: {} })).toThrow(
      /one of RandomFlip, RandomRotation, RandomZoom, RandomContrast/,
    );
    expect(() => resolveAugmentSpec({ layers: [{ class_name: 'RandomFlip', config: {} }] }, [10, 784])).toThrow(
      /Expected image data of shape \[n, height, width, channels\].*Received: xShape \[10, 784\]/,
    );
  });

  it('augments rows in place, each image by (seed, epoch, row) only, keeping the shape', () => {
    const spec = {
      layers: [
        { class_name: 'RandomFlip' as const, config: { mode: 'horizontal' as const } },
        { class_name: 'RandomRotation' as const, config: { factor: 0.1 } },
        { class_name: 'RandomContrast' as const, config: { factor: 0.3, value_range: [0, 1] as [number, number] } },
      ],
      seed: 5,
    };
    const pipeline = resolveAugmentSpec(spec, [100, 6, 6, 1]);
    const s = { n: 4, h: 6, w: 6, c: 1 };
    const size = s.h * s.w * s.c;
    const x = randomImages(s, 8);
    const buf = new Float32Array(x.length + 4);
    buf.set(x);
    buf.set([9, 9, 9, 9], x.length); // labels after the images: untouched
    const rows = Int32Array.from([10, 11, 12, 13]);
    const a = Float32Array.from(buf);
    const b = Float32Array.from(buf);
    const nextEpoch = Float32Array.from(buf);
    augmentRows(a, rows, pipeline, 0);
    augmentRows(b, rows, pipeline, 0);
    augmentRows(nextEpoch, rows, pipeline, 1);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(maxAbsDiff(a, nextEpoch)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(a.subarray(0, x.length), x)).toBeGreaterThan(1e-3);
    expect(Array.from(a.subarray(x.length))).toEqual([9, 9, 9, 9]);
    // Row 12 alone, in another batch (another shard, another worker), is augmented exactly the same.
    const alone = Float32Array.from(x.subarray(2 * size, 3 * size));
    augmentRows(alone, [12], pipeline, 0);
    expect(Array.from(alone)).toEqual(Array.from(a.subarray(2 * size, 3 * size)));
  });
});

describe.skipIf(!existsSync(PYTHON))('matches Python Keras 3 (.venv)', () => {
  it('flip, rotation and zoom in every fill mode and interpolation, and contrast', async () => {
    const s = { n: 2, h: 7, w: 9, c: 2 };
    const x = randomImages(s, 9);
    type Case = { name: string; layer: string; ours: Float32Array } & Record<string, unknown>;
    const cases: Case[] = [];
    const flips = [1, 0];
    for (const mode of ['horizontal', 'vertical', 'horizontal_and_vertical'] as const)
      cases.push({ name: `flip-${mode}`, layer: 'RandomFlip', mode, flips, ours: flipImages(x, s, flips, mode) });
    for (const fillMode of ['reflect', 'wrap', 'constant', 'nearest'] as FillMode[]) {
      for (const interpolation of ['bilinear', 'nearest'] as Interpolation[]) {
        const opts = { fillMode, interpolation, fillValue: 0.25 };
        const py = { fill_mode: fillMode, interpolation, fill_value: 0.25 };
        cases.push({
          name: `rotation-${fillMode}-${interpolation}`,
          layer: 'RandomRotation',
          factor: 0.1,
          ...py,
          ours: affineImages(
            x,
            s,
            [0, 1].map(() => rotationMatrix(36, s.h, s.w)),
            opts,
          ),
        });
        cases.push({
          name: `zoom-${fillMode}-${interpolation}`,
          layer: 'RandomZoom',
          height: 0.3,
          width: -0.2,
          ...py,
          ours: affineImages(
            x,
            s,
            [0, 1].map(() => zoomMatrix(0.8, 1.3, s.h, s.w)),
            opts,
          ),
        });
      }
    }
    cases.push({
      name: 'contrast',
      layer: 'RandomContrast',
      factors: [0.4, 1.8],
      value_range: [0.1, 0.9],
      ours: contrastImages(x, s, [0.4, 1.8], [0.1, 0.9]),
    });

    const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-augment-'));
    const input = path.join(dir, 'in.json');
    const output = path.join(dir, 'out.json');
    writeFileSync(
      input,
      JSON.stringify({ shape: [s.n, s.h, s.w, s.c], data: Array.from(x), cases: cases.map(({ ours: _, ...c }) => c) }),
    );
    let keras: { outputs: Record<string, number[]> };
    try {
      await promisify(execFile)(PYTHON, [path.join(import.meta.dirname, 'layers/keras_augment.py'), input, output], {
        timeout: 120_000,
      });
      keras = JSON.parse(readFileSync(output, 'utf8')) as { outputs: Record<string, number[]> };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const c of cases) {
      const theirs = keras.outputs[c.name] as number[];
      expect(theirs, c.name).toHaveLength(c.ours.length);
      expect(maxAbsDiff(c.ours, theirs), c.name).toBeLessThan(1e-4);
    }
  });
});
