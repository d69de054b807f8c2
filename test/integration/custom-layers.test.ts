/**
 * Custom layers (tf.layers.Layer subclasses registered with tf.serialization.registerClass) train on
 * the cluster exactly as in one process; one registered on the coordinator only fails with an error
 * that names the class and says how to register it. Also: the model JSON that travels to workers
 * keeps frozen nested models frozen (tfjs drops that flag).
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { makeOptimizer } from '../../shared/model/keras/optimizers.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { loadJob } from '../../shared/model/job.ts';
import { modelFromKerasJson, modelToKerasJson } from '../../shared/io/model-json.ts';
import { JOBS, runTestCluster } from '../helpers/local.ts';
import { maxRelativeDiff } from '../helpers/weights.ts';

beforeAll(async () => {
  await selectBackend('cpu');
});

describe('custom layers on the cluster', () => {
  it("a model of the guide's CustomDenseLayer trains on 2 workers as tfjs model.fit does", async () => {
    const job = await loadJob(path.join(JOBS, 'custom-dense.ts')); // registers CustomDenseLayer here too
    const data = (await job.data()).train;
    const reference = job.model();
    reference.compile({
      optimizer: makeOptimizer({ name: 'adam', learningRate: 0.01 }),
      loss: 'sparseCategoricalCrossentropy',
    });
    const x = tf.tensor(data.x, [...data.xShape]);
    const y = tf.tensor(data.y, [...data.yShape]);
    await reference.fit(x, y, { batchSize: 32, epochs: 1, shuffle: false, verbose: 0 });
    const distributed = await runTestCluster('custom-dense.ts', 2);
    expect(distributed.model.layers.map((l) => l.getClassName())).toEqual([
      'CustomDenseLayer',
      'CustomDenseLayer',
      'CustomDenseLayer',
    ]);
    expect(maxRelativeDiff(distributed.model, reference)).toBeLessThan(1e-4);
    expect(maxRelativeDiff(job.model(), reference)).toBeGreaterThan(1e-2);
  });

  it('a custom layer registered on the coordinator only fails, naming the class and how to register it', async () => {
    const run = runTestCluster('custom-dense-unregistered.ts', 2);
    await expect(run).rejects.toMatchObject({
      code: 'FLEET_ERR_WORKER_LOST',
      message: expect.stringMatching(
        new RegExp(
          /Worker \d .*failed while joining: FLEET_ERR_JOB_INVALID: /.source +
            /Expected layer class "CustomDenseLayer" to be registered on this worker.*/.source +
            /tf\.serialization\.registerClass\(CustomDenseLayer\) at the top level of the job module.*/.source +
            /Received: Unknown layer: CustomDenseLayer/.source,
        ),
      ),
    });
  });
});

describe('model JSON for the workers (shared/io/model-json.ts)', () => {
  it('names an unregistered class and how to register it, in FLEET_ERR_JOB_INVALID', async () => {
    const json = modelToKerasJson(tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] })) as {
      config: { layers: { class_name: string }[] };
    };
    (json.config.layers[0] as { class_name: string }).class_name = 'MyLayer';
    await expect(modelFromKerasJson(json)).rejects.toMatchObject({
      code: 'FLEET_ERR_JOB_INVALID',
      message: expect.stringMatching(
        /Expected layer class "MyLayer" to be registered on this worker.*registerClass\(MyLayer\).*Received: Unknown layer: MyLayer/,
      ),
    });
    await expect(modelFromKerasJson('not a config')).rejects.toThrow(
      /Expected a Keras model config object.*Received: "not a config"/,
    );
  });

  it('keeps a frozen nested model frozen (base.trainable = false), with the same weight order', async () => {
    const input = tf.input({ shape: [6, 6, 3] });
    const conv = tf.layers
      .conv2d({ filters: 2, kernelSize: 3, name: 'block1_conv1' })
      .apply(input) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(conv) as tf.SymbolicTensor;
    const base = tf.model({ inputs: input, outputs: bn, name: 'base' });
    base.trainable = false;
    const model = tf.sequential({
      layers: [base, tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 2 })],
    });
    const names = (m: tf.LayersModel) => ({
      trainable: m.trainableWeights.map((w) => w.originalName),
      all: m.weights.map((w) => w.originalName),
    });
    // Plain tfjs loses the flag: every weight of the base comes back trainable.
    const plain = await tf.models.modelFromJSON({ modelTopology: model.toJSON(null, false) as never });
    expect(plain.trainableWeights.length).toBeGreaterThan(model.trainableWeights.length);
    const rebuilt = await modelFromKerasJson(JSON.parse(JSON.stringify(modelToKerasJson(model))));
    expect(names(rebuilt)).toEqual(names(model));
    expect(names(rebuilt).trainable).toHaveLength(2);
    // Unfreezing part of the base (fine-tuning) travels too.
    base.trainable = true;
    base.getLayer('bn').trainable = false;
    const again = await modelFromKerasJson(JSON.parse(JSON.stringify(modelToKerasJson(model))));
    expect(names(again)).toEqual(names(model));
  });
});
