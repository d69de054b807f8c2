/**
 * The Keras augmentation layers tfjs lacks (shared/model/layers): shapes kept, identity at inference, a seed
 * reproduces the output, each changes the image as Keras's would, they serialise under Keras's class
 * names and config keys, their gradient is exact, and tfjs's own model.fit trains through them.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../../shared/runtime/backend/select.ts';
import { affineImagesAdjoint, rotationMatrix } from '../../../../shared/model/augment/index.ts';
import {
  RandomContrast,
  RandomFlip,
  RandomRotation,
  RandomZoom,
  randomContrast,
  randomFlip,
  randomRotation,
  randomZoom,
} from '../../../../shared/model/layers/index.ts';

const SHAPE = [4, 6, 6, 3];
const image = (seed = 1) => tf.randomUniform(SHAPE, 0, 1, 'float32', seed);
const train = (layer: tf.layers.Layer, x: tf.Tensor) => layer.apply(x, { training: true }) as tf.Tensor;
const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);

const factories: [string, (seed: number) => tf.layers.Layer][] = [
  ['RandomFlip', (seed) => randomFlip({ mode: 'horizontal_and_vertical', seed })],
  ['RandomRotation', (seed) => randomRotation({ factor: 0.2, seed })],
  ['RandomZoom', (seed) => randomZoom({ heightFactor: 0.3, widthFactor: [-0.2, 0.1], seed })],
  ['RandomContrast', (seed) => randomContrast({ factor: 0.5, valueRange: [0, 1], seed })],
];

beforeAll(async () => {
  await selectBackend('cpu');
});

describe.each(factories)('%s', (className, make) => {
  it('keeps the shape, is the identity at inference and changes images in training', () => {
    const x = image();
    const layer = make(7);
    for (const kwargs of [{}, { training: false }]) expect(maxAbs(layer.apply(x, kwargs) as tf.Tensor, x)).toBe(0);
    const y = train(layer, x);
    expect(y.shape).toEqual(SHAPE);
    expect(layer.computeOutputShape([null, 6, 6, 3])).toEqual([null, 6, 6, 3]);
    // Over a few calls something changes (a flip may leave a whole batch of 4 alone once, at 1/16).
    const changed = [y, train(layer, x), train(layer, x)].some((t) => maxAbs(t, x) > 1e-3);
    expect(changed).toBe(true);
  });

  it('reproduces its outputs for a given seed, and differs for another', () => {
    const x = image(2);
    const a = make(11);
    const b = make(11);
    const c = make(12);
    const outA = [train(a, x), train(a, x)];
    const outB = [train(b, x), train(b, x)];
    outA.forEach((t, i) => expect(maxAbs(t, outB[i] as tf.Tensor)).toBe(0));
    expect(
      Math.max(maxAbs(outA[0] as tf.Tensor, train(c, x)), maxAbs(outA[1] as tf.Tensor, train(c, x))),
    ).toBeGreaterThan(0);
  });

  it('serialises under its Keras class name and config keys, and rebuilds from model JSON', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.inputLayer({ inputShape: [6, 6, 3] }),
        make(3),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const json = model.toJSON(null, false) as {
      config: { layers: { class_name: string; config: Record<string, unknown> }[] };
    };
    const entry = json.config.layers.find((l) => l.class_name === className);
    expect(entry?.config['seed']).toBe(3);
    for (const key of Object.keys(entry?.config ?? {})) expect(key).toMatch(/^[a-z_]+$/);
    const rebuilt = await tf.models.modelFromJSON({
      modelTopology: json as unknown as tf.io.ModelJSON['modelTopology'],
    });
    expect(rebuilt.layers.map((l) => l.getClassName())).toContain(className);
    expect(rebuilt.toJSON(null, false)).toEqual(json);
  });
});

describe('what each transform does', () => {
  it('RandomFlip horizontal mirrors the columns of each image or leaves it exactly', () => {
    const x = image(3);
    const mirrored = tf.reverse(x, 2);
    const y = train(new RandomFlip({ mode: 'horizontal', seed: 5 }), x);
    const per = tf
      .unstack(y)
      .map((img, i) => [maxAbs(img, tf.unstack(x)[i] as tf.Tensor), maxAbs(img, tf.unstack(mirrored)[i] as tf.Tensor)]);
    for (const [same, flipped] of per) expect(Math.min(same as number, flipped as number)).toBe(0);
    expect(per.some(([same]) => (same as number) > 0)).toBe(true);
  });

  it('RandomRotation with factor [0.25, 0.25] turns every image a quarter counter-clockwise (rot90)', () => {
    const x = image(4);
    const y = train(new RandomRotation({ factor: [0.25, 0.25], fillMode: 'constant', seed: 1 }), x);
    // rot90 of [h, w] counter-clockwise: out[r][c] = in[c][w - 1 - r], i.e. transpose, then reverse the rows.
    const rot90 = tf.reverse(tf.transpose(x, [0, 2, 1, 3]), 1);
    expect(maxAbs(y, rot90)).toBeLessThan(1e-5);
  });

  it('RandomZoom with a fixed zoom in shows the middle of the image, scaled about its centre', () => {
    // A horizontal ramp (value = column) zoomed in by 0.5 in width: the row reads 2 ± 0.5·distance.
    const ramp = tf.tile(tf.reshape(tf.range(0, 5, 1, 'float32'), [1, 1, 5, 1]), [1, 5, 1, 1]);
    const y = train(new RandomZoom({ heightFactor: [0, 0], widthFactor: [-0.5, -0.5], seed: 1 }), ramp);
    expect(Array.from(y.dataSync().slice(0, 5))).toEqual([1, 1.5, 2, 2.5, 3]);
  });

  it('RandomContrast scales each image about its per-channel mean by one factor in [1 - f, 1 + f]', () => {
    const x = tf.randomUniform([3, 5, 5, 2], 0.3, 0.7, 'float32', 9); // values stay inside [0, 1] after a contrast of up to 1.4
    const y = train(new RandomContrast({ factor: 0.4, valueRange: [0, 1], seed: 2 }), x);
    const mean = tf.mean(x, [1, 2], true);
    const ratio = tf.div(tf.sub(y, mean), tf.sub(x, mean)); // (y - mean) / (x - mean) = f per image
    const perImage = tf.unstack(ratio).map((r) => r.dataSync());
    for (const r of perImage) {
      const f = r[0] as number;
      expect(f).toBeGreaterThanOrEqual(0.6);
      expect(f).toBeLessThanOrEqual(1.4);
      for (const v of r) expect(v).toBeCloseTo(f, 3);
    }
  });
});

describe('training through the layers', () => {
  it('passes the exact gradient back to its input (the transform is linear: the adjoint)', () => {
    const x = image(5);
    const weights = tf.randomUniform(SHAPE, -1, 1, 'float32', 6);
    const layer = new RandomRotation({ factor: [0.1, 0.1], fillMode: 'reflect', seed: 3 });
    const grad = tf.grad((input: tf.Tensor) =>
      tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, weights)),
    )(x);
    const [n, h, w, c] = SHAPE as [number, number, number, number];
    const want = affineImagesAdjoint(
      weights.dataSync() as Float32Array,
      { n, h, w, c },
      Array.from({ length: n }, () => rotationMatrix(36, h, w)),
      { fillMode: 'reflect', interpolation: 'bilinear', fillValue: 0 },
    );
    expect(maxAbs(grad, tf.tensor(want, SHAPE))).toBeLessThan(1e-5);
  });

  it("tfjs's model.fit trains a model that starts with the augmentation layers", async () => {
    const model = tf.sequential({
      layers: [
        randomFlip({ mode: 'horizontal', seed: 1, inputShape: [6, 6, 3] }),
        randomRotation({ factor: 0.05, seed: 2 }),
        randomZoom({ heightFactor: 0.1, seed: 3 }),
        randomContrast({ factor: 0.1, valueRange: [0, 1], seed: 4 }),
        tf.layers.flatten(),
        tf.layers.dense({
          units: 2,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }),
        }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
    const x = tf.randomUniform([32, 6, 6, 3], 0, 1, 'float32', 7);
    const y = tf.cast(tf.greater(tf.mean(x, [1, 2, 3]), 0.5), 'float32');
    // shuffle: false, because tfjs shuffles with the unseeded Math.random: with it, this run (and the
    // loss it reaches) changed from one run to the next, and it failed about one time in six.
    const h = await model.fit(x, y, { epochs: 10, batchSize: 16, shuffle: false, verbose: 0 });
    const loss = h.history['loss'] as number[];
    expect(loss[9]).toBeLessThan((loss[0] as number) * 0.9); // deterministic; measured 0.830 -> 0.591
  });

  it('rejects bad arguments with what was expected and what was received', () => {
    expect(() => randomFlip({ mode: 'diagonal' as 'horizontal' })).toThrow(
      /RandomFlip arguments.*mode.*Received: .*diagonal/,
    );
    expect(() => randomRotation({ factor: 2 })).toThrow(/Expected factor \(a fraction of 2π\) in \[-1, 1\]/);
    expect(() => randomZoom({ heightFactor: 0.1, dataFormat: 'channels_first' as 'channels_last' })).toThrow(
      /data_format/,
    );
    expect(() => train(randomFlip({ seed: 1 }), tf.zeros([2, 3]))).toThrow(
      /expects images of rank 4.*Received: shape \[2, 3\]/,
    );
  });
});
