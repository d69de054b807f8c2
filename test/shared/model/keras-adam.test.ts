/**
 * 'adam' is Keras 3's Adam, checked against Python Keras 3 in the test: one step on a tiny gradient
 * (where tfjs's rule differs most), and the guide's MLP (Dropout 0) trained 3 steps on 2 workers from
 * the same initial weights and MNIST rows as Keras.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { local } from '../../../api/cluster.ts';
import { loadMnist } from '../../../shared/model/data/mnist.ts';
import { makeOptimizer } from '../../../shared/model/keras/optimizers.ts';
import { selectBackend } from '../../../shared/runtime/backend/select.ts';
import { PYTHON, hasPython } from '../../fixtures/saving/python.ts';

const SCRIPT = path.resolve(import.meta.dirname, '../../python/keras_adam.py');

function keras(cases: object): { tiny?: number; mlp?: number[][] } {
  const out = execFileSync(PYTHON, [SCRIPT], {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    timeout: 170_000,
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { tiny?: number; mlp?: number[][] };
}

/** One step of `name` from 0 on gradient g. */
function oneStep(name: string, g: number, lr: number): number {
  const v = tf.variable(tf.zeros([1]));
  const opt = makeOptimizer({ name, learningRate: lr });
  opt.applyGradients({ [v.name]: tf.tensor([g]) });
  const out = v.dataSync()[0] as number;
  opt.dispose();
  v.dispose();
  return out;
}

/** The guide's MLP with Dropout rate 0 and seeded initial weights. */
function guideMlp(): tf.Sequential {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 128, activation: 'relu', inputShape: [784], kernelInitializer: init(1) }),
      tf.layers.dropout({ rate: 0 }),
      tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.dropout({ rate: 0 }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
}

beforeAll(async () => {
  await selectBackend('cpu');
});

describe.runIf(hasPython)("Keras 3's Adam", () => {
  it('one step on a gradient of 1e-6 moves the weight as Keras does, not as tfjs does', () => {
    const { tiny } = keras({ tiny: { grad: 1e-6, lr: 1e-3 } });
    expect(Math.abs(oneStep('adam', 1e-6, 1e-3) - (tiny as number))).toBeLessThan(1e-7);
    // The control: tfjs's rule, still available by name, is 3.8x further.
    expect(Math.abs(oneStep('tfjs_adam', 1e-6, 1e-3) - (tiny as number))).toBeGreaterThan(1e-4);
  });

  it("the guide's MLP, 3 steps on 2 workers, ends within 1e-5 of Keras 3", async () => {
    const { train } = loadMnist({ trainCount: 96, testCount: 1 });
    const x = tf.tensor(train.x, [...train.xShape]);
    const y = tf.tensor(train.y, [...train.yShape]);
    const model = guideMlp();
    const initial = model.getWeights().map((w) => ({ shape: w.shape, data: Array.from(w.dataSync()) }));
    const ref =
      keras({
        mlp: {
          weights: initial,
          x: Array.from(train.x),
          xShape: train.xShape,
          y: Array.from(train.y),
          lr: 1e-3,
          batch: 32,
        },
      }).mlp ?? [];
    model.compile({ optimizer: makeOptimizer('adam'), loss: 'sparseCategoricalCrossentropy' });
    const cluster = await local({ workers: 2, backend: 'cpu', quiet: true });
    onTestFinished(() => cluster.close());
    await cluster.fit(model, x, y, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
    const ours = model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(ours.length).toBe(ref.length);
    let worst = 0;
    let moved = 0;
    ours.forEach((w, i) =>
      w.forEach((v, j) => {
        const k = ref[i]?.[j] as number;
        worst = Math.max(worst, Math.abs(v - k));
        moved = Math.max(moved, Math.abs(k - (initial[i]?.data[j] as number)));
      }),
    );
    expect(moved).toBeGreaterThan(1e-3); // the weights did move in Keras
    expect(worst).toBeLessThan(1e-5);
  });
});
