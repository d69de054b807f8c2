/**
 * The guide's model examples run end to end on a local cluster (the code path of `tensorfleet local`),
 * at a small size: the job factories take trainCount/testCount, and the fit is cut to 1 epoch at a
 * global batch of 100 (few rounds: the cost of a run here is mostly starting processes).
 * examples/transfer-learning.ts is run by test/integration/transfer-learning.test.ts.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { runLocalJob, type LocalOptions } from '../../api/launcher.ts';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import type { AugmentSpec } from '../../shared/model/augment/config.ts';
import { resolveAugmentSpec } from '../../shared/model/augment/pipeline.ts';
import { loadJob } from '../../shared/model/job.ts';
import { customLoop } from '../../examples/custom-loop.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Loads examples/<file> with factory `args` on the coordinator and the workers, and fits it for 1 epoch on 2 workers, batch 100. */
async function runExample(file: string, args: Record<string, unknown>, extra: Partial<LocalOptions> = {}) {
  const abs = path.join(ROOT, 'examples', file);
  const job = await loadJob(abs, args);
  return runLocalJob(
    job,
    { path: abs, args },
    {
      job: abs,
      workers: 2,
      backend: 'cpu',
      metricsHost: '127.0.0.1',
      metricsPort: 0,
      heartbeatIntervalMs: 500,
      heartbeatTimeoutMs: 20_000,
      joinTimeoutMs: 60_000,
      quiet: true,
      ...extra,
      fit: { epochs: 1, batchSize: 100, verbose: 0, ...extra.fit },
    },
  );
}

const finite = (xs: number[] | undefined) => (xs ?? []).length > 0 && (xs ?? []).every(Number.isFinite);

describe('model examples', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('functional-api: the Functional MLP trains on MNIST', async () => {
    const r = await runExample('functional-api.ts', { trainCount: 1000, testCount: 100 });
    expect(r.model.getClassName()).toBe('Model');
    expect(Object.keys(r.history.history).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
    expect(r.history.history['val_accuracy']?.[0]).toBeGreaterThan(0.3); // 9 rounds; chance is 0.1
    expect(r.test?.['test_accuracy']).toBeGreaterThan(0.3);
  });

  const layerTypesTitle =
    'layer-types: Conv2D, BatchNormalization, MaxPooling2D, GlobalAveragePooling2D, ' +
    'LSTM, Flatten, Dropout, Dense in one model';
  it(layerTypesTitle, async () => {
    const r = await runExample('layer-types.ts', { trainCount: 320, testCount: 64 }, { backend: 'wasm' });
    const classes = new Set(r.model.layers.map((l) => l.getClassName()));
    for (const c of [
      'Conv2D',
      'BatchNormalization',
      'MaxPooling2D',
      'GlobalAveragePooling2D',
      'LSTM',
      'Flatten',
      'Dropout',
      'Dense',
    ])
      expect(classes).toContain(c);
    expect(finite(r.history.history['loss'])).toBe(true);
    // BatchNormalization's moving statistics came back from the workers (they start at 0 and 1).
    const bn = r.model.layers.find((l) => l.getClassName() === 'BatchNormalization') as tf.layers.Layer;
    const movingMean = bn.getWeights()[2] as tf.Tensor;
    expect(tf.max(tf.abs(movingMean)).dataSync()[0]).toBeGreaterThan(0);
  });

  it("custom-layer: the guide's CustomDenseLayer trains; workers rebuild it from the registered class", async () => {
    const r = await runExample('custom-layer.ts', { trainCount: 1000, testCount: 100 }, { fit: { batchSize: 32 } });
    expect(r.model.layers.map((l) => l.getClassName())).toEqual([
      'CustomDenseLayer',
      'CustomDenseLayer',
      'CustomDenseLayer',
    ]);
    expect(r.test?.['test_accuracy']).toBeGreaterThan(0.4); // 29 rounds (single-process: 0.54-0.71); chance is 0.1
  });

  it("custom-loop: the guide's GradientTape loop in one process prints its epochs and learns", async () => {
    const lines: string[] = [];
    const epochs = await customLoop({ epochs: 2, samples: 1000, log: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(
      /^Epoch 1, Loss: \d\.\d{4}, Accuracy: \d\.\d{4}\nEpoch 2, Loss: \d\.\d{4}, Accuracy: \d\.\d{4}$/,
    );
    expect((epochs[1] as [number, number])[0]).toBeLessThan((epochs[0] as [number, number])[0]);
  });

  it('custom-loop-distributed: the same train step on every worker', async () => {
    const r = await runExample(
      'custom-loop-distributed.ts',
      { trainCount: 1024, testCount: 200 },
      { fit: { batchSize: 32 } },
    );
    expect(finite(r.history.history['loss'])).toBe(true);
    expect(r.test?.['test_accuracy']).toBeGreaterThan(0.4); // 32 rounds (single-process: 0.66-0.74); chance is 0.1
  });

  it("augmented-convnet: the guide's augmented convnet on MNIST, augmentation layers in the model", async () => {
    const r = await runExample(
      'augmented-convnet.ts',
      { trainCount: 1280, testCount: 128 },
      { backend: 'wasm', fit: { batchSize: 64 } },
    );
    expect(r.model.layers.map((l) => l.getClassName())).toEqual([
      'Sequential',
      'Conv2D',
      'MaxPooling2D',
      'Conv2D',
      'MaxPooling2D',
      'Conv2D',
      'Flatten',
      'Dense',
      'Dense',
    ]);
    const augmentation = r.model.layers[0] as tf.Sequential;
    expect(augmentation.layers.map((l) => l.getClassName())).toEqual([
      'RandomFlip',
      'RandomRotation',
      'RandomZoom',
      'RandomContrast',
    ]);
    expect(finite(r.history.history['val_loss'])).toBe(true);
    expect(r.test?.['test_accuracy']).toBeGreaterThan(0.2); // 18 rounds (single-process: 0.41-0.49); chance is 0.1
  });

  it("augmented-convnet with augmentIn 'pipeline' moves the same layers into the job's augment option", async () => {
    // The batch pipeline itself is checked exactly in test/integration/models-equivalence.test.ts.
    const job = await loadJob(path.join(ROOT, 'examples/augmented-convnet.ts'), {
      augmentIn: 'pipeline',
      trainCount: 10,
      testCount: 10,
    });
    const data = await job.data();
    const pipeline = resolveAugmentSpec((job as { augment?: AugmentSpec }).augment as AugmentSpec, data.train.xShape);
    expect(pipeline.layers.map((l) => l.kind)).toEqual([
      'RandomFlip',
      'RandomRotation',
      'RandomZoom',
      'RandomContrast',
    ]);
    expect(job.model().layers.map((l) => l.getClassName())).not.toContain('Sequential');
  });
});
