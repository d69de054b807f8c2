/**
 * Synchronized BatchNormalization, in one process: N simulated workers, each with its own model and
 * a shard of the batch, reduce through an in-memory all-reduce; their gradients, averaged by rows
 * and applied by one optimizer, must reproduce plain tfjs model.fit at the global batch, moving
 * statistics included. Without synchronization they do not (the control that shows the test can fail).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../shared/runtime/backend/select.ts';
import { lossFunction } from '../../../shared/model/keras/losses.ts';
import { gradientStep, trainableVariables } from '../../../shared/model/step.ts';
import {
  prepareBatchNorm,
  synchronizeBatchNorm,
  synchronizedStep,
  type AllReduce,
} from '../../../shared/model/sync-bn/step.ts';
import { convBnModel, shapedData } from '../../fixtures/jobs/layer-models.ts';
import { maxRelativeDiff } from '../../helpers/weights.ts';

const glorot = (seed: number) => tf.initializers.glorotUniform({ seed });

/** Dense → BN → relu → Dense → BN(center: false) → Dense softmax: two synchronized layers in a row, on rank-2 inputs. */
function denseBnModel(): tf.Sequential {
  return tf.sequential({
    layers: [
      // No bias before BatchNormalization (it cancels; Adam would amplify its rounding-noise gradient).
      tf.layers.dense({ units: 8, inputShape: [12], useBias: false, kernelInitializer: glorot(31) }),
      tf.layers.batchNormalization({ momentum: 0.9 }),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.dense({ units: 6, useBias: false, kernelInitializer: glorot(32) }),
      tf.layers.batchNormalization({ momentum: 0.8, epsilon: 1e-2 }),
      tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: glorot(33) }),
    ],
  });
}

/** An all-reduce among `n` in-process callers: the k-th call of each is summed with the others' k-th calls. */
function memoryAllReduce(n: number): { forWorker: () => AllReduce; calls: () => number } {
  const rounds: { parts: Float32Array[]; waiters: ((v: Float32Array) => void)[] }[] = [];
  let total = 0;
  return {
    calls: () => total,
    forWorker: () => {
      let k = 0;
      return (local) => {
        total++;
        const r = (rounds[k] ??= { parts: [], waiters: [] });
        k++;
        return new Promise((resolve) => {
          r.parts.push(Float32Array.from(local));
          r.waiters.push(resolve);
          if (r.parts.length === n) {
            const sum = new Float32Array(local.length);
            for (const p of r.parts)
              p.forEach((v, i) => {
                sum[i] = (sum[i] as number) + v;
              });
            for (const w of r.waiters) w(sum);
          }
        });
      };
    },
  };
}

/** Trains `build()` with `workers` simulated workers for `steps` steps of `batch` rows (contiguous shards, larger first). */
async function distributed(
  build: () => tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  workers: number,
  batch: number,
  sync: boolean,
) {
  const model = build();
  const optimizer = tf.train.adam(0.01);
  const replicas = Array.from({ length: workers }, () => build());
  if (sync) for (const r of replicas) expect(synchronizeBatchNorm(r)).toBeGreaterThan(0);
  const loss = lossFunction('sparse_categorical_crossentropy');
  const n = x.shape[0] as number;
  let reductions = 0;
  let afterFirst = 0;
  for (let start = 0; start < n; start += batch) {
    const size = Math.min(batch, n - start);
    const per = Math.ceil(size / workers);
    for (const r of replicas) r.setWeights(model.getWeights());
    const reducer = memoryAllReduce(workers);
    const shards = replicas.map((r, w) => ({
      r,
      from: start + w * per,
      rows: Math.max(0, Math.min(per, start + size - (start + w * per))),
    }));
    const results = await Promise.all(
      shards.map(async ({ r, from, rows }) => {
        const xs = x.slice(from, rows);
        const ys = y.slice(from, rows);
        const run = () => gradientStep(r, loss, [], xs, ys);
        const step = sync ? await synchronizedStep(rows, reducer.forWorker(), run, (s) => tf.dispose(s.grads)) : run();
        tf.dispose([xs, ys]);
        return { step, rows };
      }),
    );
    reductions += reducer.calls();
    const variables = trainableVariables(model);
    tf.tidy(() => {
      const averaged = variables.map((_, i) =>
        tf.addN(results.map(({ step, rows }) => tf.mul(step.grads[i] as tf.Tensor, rows / size))),
      );
      optimizer.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: averaged[i] as tf.Tensor })));
      // Moving statistics: the row-weighted average of the replicas', as the coordinator takes them.
      const state = (m: tf.LayersModel) =>
        m.layers.filter((l) => l.getClassName() === 'BatchNormalization').flatMap((l) => l.nonTrainableWeights);
      state(model).forEach((w, i) =>
        w.write(tf.addN(shards.map(({ r, rows }) => tf.mul((state(r)[i] as tf.LayerVariable).read(), rows / size)))),
      );
    });
    tf.dispose(results.flatMap((r) => r.step.grads));
    if (start === 0) afterFirst = tf.memory().numTensors;
  }
  return { model, reductions, growth: tf.memory().numTensors - afterFirst };
}

async function fitted(build: () => tf.LayersModel, x: tf.Tensor, y: tf.Tensor, batch: number) {
  const model = build();
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
  await model.fit(x, y, { batchSize: batch, epochs: 1, shuffle: false, verbose: 0 });
  return model;
}

describe('synchronized BatchNormalization (cpu backend, in one process)', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  const cases = [
    ['conv + BN (rank 4), 2 workers', convBnModel, [8, 8, 1], 2, 1],
    ['dense + 2 BN (rank 2), 2 workers', denseBnModel, [12], 2, 2],
    ['dense + 2 BN, 3 uneven shards', denseBnModel, [12], 3, 2],
  ] as const;

  it.each(cases)(
    '%s: workers equal model.fit at batch 32 to 1e-4, moving statistics included',
    async (_name, build, shape, workers, layers) => {
      const d = shapedData(320, shape, 7);
      const x = tf.tensor(d.x, d.xShape);
      const y = tf.tensor(d.y, d.yShape);
      const expected = await fitted(build, x, y, 32);
      const { model, reductions, growth } = await distributed(build, x, y, workers, 32, true);
      expect(growth).toBe(0); // no tensor left behind by the passes
      expect(maxRelativeDiff(model, expected)).toBeLessThan(1e-4);
      expect(maxRelativeDiff(build(), expected)).toBeGreaterThan(1e-2); // training moved the weights
      expect(reductions).toBe(10 * workers * 2 * layers); // per step: a forward and a backward reduction per layer
      // The control: per-worker statistics differ from model.fit's, so the comparison can fail.
      const { model: unsynced } = await distributed(build, x, y, workers, 32, false);
      expect(maxRelativeDiff(unsynced, expected)).toBeGreaterThan(1e-3);
      tf.dispose([x, y]);
    },
  );

  it('one worker with synchronization equals the unsynchronized step', async () => {
    const d = shapedData(32, [12], 3);
    const x = tf.tensor(d.x, d.xShape);
    const y = tf.tensor(d.y, d.yShape);
    const plain = denseBnModel();
    const synced = denseBnModel();
    synchronizeBatchNorm(synced);
    const loss = lossFunction('sparse_categorical_crossentropy');
    const a = gradientStep(plain, loss, [], x, y);
    const b = await synchronizedStep(
      32,
      memoryAllReduce(1).forWorker(),
      () => gradientStep(synced, loss, [], x, y),
      (s) => tf.dispose(s.grads),
    );
    expect(b.loss).toBeCloseTo(a.loss, 5);
    a.grads.forEach((g, i) => {
      const diff = tf.max(tf.abs(tf.sub(g, b.grads[i] as tf.Tensor))).dataSync()[0] as number;
      expect(diff).toBeLessThan(1e-5);
    });
    expect(maxRelativeDiff(synced, plain)).toBeLessThan(1e-5); // moving statistics moved alike
    // Inference ignores synchronization: the same outputs as an unpatched layer.
    const p1 = plain.predict(x) as tf.Tensor;
    const p2 = synced.predict(x) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(p1, p2))).dataSync()[0]).toBeLessThan(1e-5);
  });

  it('a frozen BatchNormalization runs in inference mode in training, as in Keras 3, alone or inside a frozen base', async () => {
    const d = shapedData(32, [12], 5);
    const x = tf.tensor(d.x, d.xShape);
    const y = tf.tensor(d.y, d.yShape);
    const loss = lossFunction('sparse_categorical_crossentropy');
    const build = () => {
      const bn = tf.layers.batchNormalization({});
      const base = tf.sequential({
        layers: [tf.layers.dense({ units: 8, inputShape: [12], useBias: false, kernelInitializer: glorot(41) }), bn],
      });
      const model = tf.sequential({
        layers: [
          base,
          tf.layers.activation({ activation: 'relu' }),
          tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: glorot(42) }),
        ],
      });
      // Moving statistics away from (0, 1), so that inference mode is visibly not batch mode.
      bn.setWeights([...bn.getWeights().slice(0, 2), tf.fill([8], 0.3), tf.fill([8], 2)]);
      return { model, base, bn };
    };
    const gap = (base: tf.LayersModel) =>
      tf
        .max(
          tf.abs(
            tf.sub(base.apply(x, { training: true }) as tf.Tensor, base.apply(x, { training: false }) as tf.Tensor),
          ),
        )
        .dataSync()[0] as number;
    for (const freeze of ['layer', 'base'] as const) {
      const { model, base, bn } = build();
      if (freeze === 'layer') bn.trainable = false;
      else base.trainable = false;
      expect(gap(base)).toBeGreaterThan(0.1); // tfjs: batch statistics even when frozen
      prepareBatchNorm(model, { synchronized: false });
      expect(gap(base)).toBe(0); // Keras 3: the moving statistics
      const moving = Array.from(bn.getWeights()[2]?.dataSync() ?? []);
      tf.dispose(gradientStep(model, loss, [], x, y).grads);
      expect(Array.from(bn.getWeights()[2]?.dataSync() ?? [])).toEqual(moving); // not updated by training
    }
    const { model, base } = build(); // a trainable one keeps batch statistics
    prepareBatchNorm(model, { synchronized: false });
    expect(gap(base)).toBeGreaterThan(0.1);
  });
});
