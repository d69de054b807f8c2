/** The guide-style programmatic API: fit, evaluate and predict run distributed and match one process. */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { local as openLocal, type Cluster, type LocalClusterOptions } from '../../api/cluster.ts';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { FleetError } from '../../shared/runtime/errors.ts';
import { smallModel, tensors } from '../helpers/data.ts';
import { maxRelativeDiff } from '../helpers/weights.ts';

beforeAll(async () => {
  await selectBackend('cpu');
});

/** Clusters keep their workers until closed: every test's are closed after it. */
const opened: Cluster[] = [];
async function local(opts: LocalClusterOptions): Promise<Cluster> {
  const c = await openLocal(opts);
  opened.push(c);
  return c;
}
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

describe('tensorfleet.local() programmatic API', () => {
  it("fit returns a Keras History and trains the caller's model like model.fit does", async () => {
    const cluster = await local({ workers: 2, backend: 'cpu' });
    const { x, y } = tensors(256);
    const val = tensors(64, 8);
    const model = smallModel(tf.train.sgd(0.1));
    const reference = smallModel(tf.train.sgd(0.1));
    const history = await cluster.fit(model, x, y, {
      epochs: 2,
      batchSize: 32,
      shuffle: false,
      validationData: [val.x, val.y],
      verbose: 0,
    });
    await reference.fit(x, y, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
    expect(Object.keys(history.history).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
    expect(history.epoch).toEqual([0, 1]);
    expect(maxRelativeDiff(model, reference)).toBeLessThan(1e-5);
  });

  it('with syncBatchNorm, a model with BatchNormalization trains like model.fit at the global batch', async () => {
    const bnModel = () => {
      const m = tf.sequential({
        layers: [
          tf.layers.dense({
            units: 16,
            useBias: false,
            inputShape: [20],
            kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
          }),
          tf.layers.batchNormalization({}),
          tf.layers.activation({ activation: 'relu' }),
          tf.layers.dense({
            units: 4,
            activation: 'softmax',
            kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
          }),
        ],
      });
      m.compile({ optimizer: tf.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy' });
      return m;
    };
    const { x, y } = tensors(256);
    const model = bnModel();
    const reference = bnModel();
    await (
      await local({ workers: 2, backend: 'cpu', syncBatchNorm: true })
    ).fit(model, x, y, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
    await reference.fit(x, y, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
    expect(maxRelativeDiff(model, reference)).toBeLessThan(1e-4); // moving statistics included
    expect(maxRelativeDiff(bnModel(), reference)).toBeGreaterThan(1e-2);
  });

  it('evaluate and predict equal single-process results to 1e-5, rows in order', async () => {
    const cluster = await local({ workers: 3, backend: 'cpu' });
    const model = smallModel();
    const { x, y } = tensors(101, 9); // 101 rows: uneven shards 34/34/33
    const [loss, acc] = await cluster.evaluate(model, x, y);
    const ref = model.evaluate(x, y, { batchSize: 101 }) as tf.Scalar[];
    expect(loss).toBeCloseTo(ref[0]!.dataSync()[0] as number, 5);
    expect(acc).toBeCloseTo(ref[1]!.dataSync()[0] as number, 5);
    const pred = await cluster.predict(model, x);
    const refPred = model.predict(x) as tf.Tensor;
    expect(pred.shape).toEqual([101, 4]);
    expect(tf.max(tf.abs(tf.sub(pred, refPred))).dataSync()[0]).toBeLessThan(1e-5);
  });

  it('rejects bad input before any worker is sent it, saying what was expected', async () => {
    const cluster = await local({ workers: 2, backend: 'cpu' });
    const { x, y } = tensors(64);
    const fails = async (p: Promise<unknown>, code: string, text: RegExp) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FleetError);
      expect((err as FleetError).code).toBe(code);
      expect((err as FleetError).message).toMatch(text);
    };
    await fails(
      cluster.fit(smallModel(), x, y, { validationSplit: 1.5 }),
      'FLEET_ERR_CONFIG',
      /Expected validationSplit in \(0, 1\)\. Received: 1\.5/,
    );
    const m = smallModel();
    await fails(
      cluster.fit(m, x, y, { compile: { optimizer: 'adam', loss: 'sparse_categorical_crossentropyy' } }),
      'FLEET_ERR_LOSS',
      /Received: "sparse_categorical_crossentropyy"/,
    );
    await fails(
      cluster.fit(m, x, y, { compile: { optimizer: 'adamw2', loss: 'mse' } }),
      'FLEET_ERR_OPTIMIZER',
      /Expected an optimizer among sgd, adam, tfjs_adam, rmsprop, adagrad\. Received: "adamw2"/,
    );
    await fails(
      cluster.fit(m, tf.zeros([64, 21]), y),
      'FLEET_ERR_DATA',
      /expected train x of shape \[n, 20\].*Received: \[64, 21\]/,
    );
    await fails(cluster.fit(m, x, tf.zeros([63])), 'FLEET_ERR_DATA', /same number of rows\. Received: 64 and 63/);
  });
});

describe('labels that do not fit the model', () => {
  it('fail before any worker is sent them', async () => {
    const cluster = await local({ workers: 2, backend: 'cpu' });
    const { x } = tensors(64);
    const err = await cluster.fit(smallModel(), x, tf.zeros([64, 7]), { epochs: 1 }).then(
      () => undefined,
      (e: unknown) => e as FleetError,
    );
    expect(err?.code).toBe('FLEET_ERR_DATA');
    expect(err?.message).toMatch(
      /expected train y to fit the model's output \[n,4\] under loss sparseCategoricalCrossentropy\. Received: y of shape \[64,7\]/,
    );
  });
});
