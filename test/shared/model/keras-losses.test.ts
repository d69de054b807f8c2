/**
 * Loss values against Python Keras 3, computed in the test: label shapes follow Keras's
 * squeeze-or-expand rule (`(n,)` labels against an `(n, 1)` output), and a custom loss that returns a
 * scalar is reduced once, in training and in evaluation alike.
 */
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { local } from '../../../api/cluster.ts';
import { customLoss, lossFunction, type SampleFn } from '../../../shared/model/keras/losses.ts';
import { selectBackend } from '../../../shared/runtime/backend/select.ts';
import { seededRandom } from '../../../shared/runtime/rng.ts';
import { PYTHON, hasPython } from '../../fixtures/saving/python.ts';
import path from 'node:path';

const SCRIPT = path.resolve(import.meta.dirname, '../../python/keras_losses.py');

interface Case {
  loss: string;
  yTrue: number[];
  yTrueShape: number[];
  yPred: number[];
  yPredShape: number[];
}

/** Keras 3's mean loss for each case. */
function kerasLosses(cases: Case[]): number[] {
  const out = execFileSync(PYTHON, [SCRIPT], { input: JSON.stringify(cases), encoding: 'utf8', timeout: 170_000 });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '[]') as number[];
}

const rand = seededRandom(7);
const uniform = (n: number, lo = 0, hi = 1) => Array.from({ length: n }, () => lo + (hi - lo) * rand());
const bits = (n: number) => Array.from({ length: n }, () => (rand() < 0.5 ? 0 : 1));
const N = 12;

// Keras class name, tensorfleet's function, labels and outputs.
const CASES: [string, SampleFn, Case][] = [
  [
    'MeanSquaredError',
    lossFunction('mse'),
    { loss: 'MeanSquaredError', yTrue: uniform(N), yTrueShape: [N], yPred: uniform(N), yPredShape: [N, 1] },
  ],
  [
    'MeanAbsoluteError',
    lossFunction('mae'),
    { loss: 'MeanAbsoluteError', yTrue: uniform(N), yTrueShape: [N], yPred: uniform(N), yPredShape: [N, 1] },
  ],
  [
    'BinaryCrossentropy (n,)',
    lossFunction('binary_crossentropy'),
    { loss: 'BinaryCrossentropy', yTrue: bits(N), yTrueShape: [N], yPred: uniform(N, 0.05, 0.95), yPredShape: [N, 1] },
  ],
  [
    'BinaryCrossentropy (n, 1)',
    lossFunction('binary_crossentropy'),
    {
      loss: 'BinaryCrossentropy',
      yTrue: bits(N),
      yTrueShape: [N, 1],
      yPred: uniform(N, 0.05, 0.95),
      yPredShape: [N, 1],
    },
  ],
  [
    'MeanSquaredError (n, 1) labels, (n,) output',
    lossFunction('mean_squared_error'),
    { loss: 'MeanSquaredError', yTrue: uniform(N), yTrueShape: [N, 1], yPred: uniform(N), yPredShape: [N] },
  ],
  [
    'custom scalar loss',
    customLoss((t, p) => tf.mean(tf.square(tf.sub(t, p)))),
    { loss: 'custom_scalar', yTrue: uniform(N), yTrueShape: [N], yPred: uniform(N), yPredShape: [N, 1] },
  ],
];

beforeAll(async () => {
  await selectBackend('cpu');
});

describe.runIf(hasPython)('losses against Keras 3', () => {
  const keras = hasPython ? kerasLosses(CASES.map((c) => c[2])) : [];

  it.each(CASES.map((c, i) => [c[0], i] as const))(
    '%s: the training mean and the evaluation sum/rows equal Keras',
    (_name, i) => {
      const [, fn, c] = CASES[i] as (typeof CASES)[number];
      const [train, evaluated] = tf.tidy(() => {
        const per = fn(tf.tensor(c.yTrue, c.yTrueShape), tf.tensor(c.yPred, c.yPredShape));
        expect(per.shape).toEqual([N]);
        return [tf.mean(per).dataSync()[0] as number, (tf.sum(per).dataSync()[0] as number) / N];
      });
      expect(Math.abs(train - (keras[i] as number))).toBeLessThan(1e-5);
      expect(Math.abs(evaluated - (keras[i] as number))).toBeLessThan(1e-5);
    },
  );

  it('the control: tfjs broadcasting (n,) labels against (n, 1) outputs is not Keras', () => {
    const c = CASES[0]?.[2] as Case;
    const broadcast = tf.tidy(
      () =>
        tf
          .mean(tf.metrics.meanSquaredError(tf.tensor(c.yTrue, c.yTrueShape), tf.tensor(c.yPred, c.yPredShape)))
          .dataSync()[0] as number,
    );
    expect(Math.abs(broadcast - (keras[0] as number))).toBeGreaterThan(1e-3);
  });

  it("cluster.evaluate with mse on (n,) labels gives Keras's loss, and binary_crossentropy accepts (n,) labels", async () => {
    const cluster = await local({ workers: 2, backend: 'cpu', quiet: true });
    onTestFinished(() => cluster.close());
    const model = tf.sequential({
      layers: [
        tf.layers.dense({
          units: 1,
          inputShape: [3],
          kernelInitializer: 'zeros',
          biasInitializer: tf.initializers.constant({ value: 0.5 }),
        }),
      ],
    });
    const xs = uniform(8 * 3);
    const ys = [0, 1, 0, 1, 1, 0, 1, 0];
    const x = tf.tensor(xs, [8, 3]);
    const y = tf.tensor(ys, [8]);
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const [mse] = await cluster.evaluate(model, x, y);
    const [kerasMse, kerasBce] = kerasLosses([
      { loss: 'MeanSquaredError', yTrue: ys, yTrueShape: [8], yPred: Array(8).fill(0.5), yPredShape: [8, 1] },
      { loss: 'BinaryCrossentropy', yTrue: ys, yTrueShape: [8], yPred: Array(8).fill(0.5), yPredShape: [8, 1] },
    ]);
    expect(Math.abs((mse as number) - (kerasMse as number))).toBeLessThan(1e-5);
    const [bce] = await cluster.evaluate(model, x, y, { compile: { optimizer: 'sgd', loss: 'binary_crossentropy' } });
    expect(Math.abs((bce as number) - (kerasBce as number))).toBeLessThan(1e-5);
  });
});
