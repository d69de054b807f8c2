/**
 * Round trips through real Python Keras 3 (the venv of .ci/steps/20-python.sh): tfjs-trained models saved
 * as .h5, .keras, weights-only files and JSON + weights predict the same in Python; Python-saved .h5 and .keras files
 * predict the same in tfjs, train a step, and save back loadable by Python. Tolerance 1e-5.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadModel,
  modelToJSON,
  saveModel,
  saveWeights,
  type TrainingConfig,
} from '../../../../shared/io/saving/index.ts';
import { layers } from '../../../../shared/model/layers/keras-defaults.ts';
import { maxAbsDiff, predictFlat, scratch } from '../../../fixtures/saving/helpers.ts';
import { hasPython, PYTHON, readArray, runPython, writeArray } from '../../../fixtures/saving/python.ts';

if (!hasPython && process.env.CI) throw new Error(`${PYTHON} is missing: run bash .ci/steps/20-python.sh first`);

const tmp = scratch();
const at = (name: string) => path.join(tmp.dir, name);

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => tmp.cleanup());

function convNet(): tf.LayersModel {
  const m = tf.sequential({
    name: 'conv_net',
    layers: [
      tf.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }),
      tf.layers.batchNormalization(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.dropout({ rate: 0.2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, activation: 'softmax' }),
    ],
  });
  m.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
  return m;
}

function lstmNet(): tf.LayersModel {
  const input = tf.input({ shape: [6, 3], name: 'series' });
  const h = tf.layers
    .lstm({ units: 5, recurrentActivation: 'sigmoid', name: 'lstm' })
    .apply(input) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, name: 'head' }).apply(h) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out, name: 'lstm_net' });
  m.compile({ optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError' });
  return m;
}

/** The guide's LSTM from tensorfleet's Keras-default layers: no recurrentActivation given. */
function guideLstm(): tf.LayersModel {
  const m = tf.sequential({
    name: 'guide_lstm',
    layers: [
      layers.lstm({ units: 5, returnSequences: true, inputShape: [6, 3] }),
      layers.lstm({ units: 4 }),
      layers.dense({ units: 1 }),
    ],
  });
  m.compile({ optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError' });
  return m;
}

describe.skipIf(!hasPython)('tfjs -> Python Keras', () => {
  it('Dense, Conv2D, MaxPooling2D, BatchNormalization, Dropout and LSTM models trained in tfjs predict the same in Python', async () => {
    const conv = convNet();
    const lstm = lstmNet();
    await conv.fit(
      tf.randomNormal([32, 8, 8, 1], 0, 1, 'float32', 1),
      tf.randomUniform([32, 1], 0, 4, 'int32', 2).cast('float32'),
      { epochs: 3, batchSize: 8, verbose: 0 },
    );
    await lstm.fit(tf.randomNormal([16, 6, 3], 0, 1, 'float32', 3), tf.randomNormal([16, 2], 0, 1, 'float32', 4), {
      epochs: 3,
      batchSize: 4,
      verbose: 0,
    });
    // BatchNormalization's moving statistics moved away from 0/1, so Python really uses the saved ones.
    expect(Math.abs(conv.layers[1]!.getWeights()[2]!.dataSync()[0] as number)).toBeGreaterThan(1e-3);

    const jobs: {
      model?: string;
      json?: string;
      weights?: string;
      inputs: string;
      out: string;
      expected: Float32Array;
    }[] = [];
    const cases: [string, tf.LayersModel, tf.Tensor, TrainingConfig][] = [
      [
        'conv',
        conv,
        tf.randomNormal([5, 8, 8, 1], 0, 1, 'float32', 5),
        { optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
      ],
      [
        'lstm',
        lstm,
        tf.randomNormal([5, 6, 3], 0, 1, 'float32', 6),
        { optimizer: { name: 'sgd', learningRate: 0.05 }, loss: 'mse' },
      ],
      [
        'guide_lstm',
        guideLstm(),
        tf.randomNormal([5, 6, 3], 0, 1, 'float32', 7),
        { optimizer: { name: 'sgd', learningRate: 0.05 }, loss: 'mse' },
      ],
    ];
    for (const [name, model, x, compile] of cases) {
      writeArray(at(`${name}_x.json`), x);
      const expected = predictFlat(model, x);
      await saveModel(model, at(`${name}.h5`), { trainingConfig: compile });
      await saveModel(model, at(`${name}.keras`), { trainingConfig: compile });
      await saveWeights(model, at(`${name}_weights.h5`));
      await saveWeights(model, at(`${name}.weights.h5`));
      writeFileSync(at(`${name}.json`), modelToJSON(model));
      const job = (file: string, weights?: string) => ({
        [file.endsWith('.json') ? 'json' : 'model']: at(file),
        ...(weights && { weights: at(weights) }),
        inputs: at(`${name}_x.json`),
        out: at(`${file}.${weights ?? 'model'}.out.json`),
        expected,
      });
      jobs.push(
        job(`${name}.h5`),
        job(`${name}.keras`),
        job(`${name}.keras`, `${name}_weights.h5`),
        job(`${name}.keras`, `${name}.weights.h5`),
        job(`${name}.json`, `${name}.weights.h5`),
      );
    }
    writeFileSync(at('jobs.json'), JSON.stringify(jobs.map(({ expected: _e, ...j }) => j)));
    await runPython('predict', at('jobs.json'));
    for (const j of jobs) {
      const { tensor, extra } = readArray(j.out);
      const what = `${path.basename(j.model ?? j.json ?? '')} ${j.weights ?? ''}`;
      expect(maxAbsDiff(tensor.dataSync(), j.expected), what).toBeLessThan(1e-5);
      if (j.model && !j.weights) expect(extra.compiled, `${what} was compiled from its training config`).toBe(true);
    }
  }, 240_000);
});

describe.skipIf(!hasPython)('Python Keras -> tfjs -> Python Keras', () => {
  it('loads Python .h5 and .keras files, predicts the same, trains a step and saves back loadable by Python', async () => {
    await runPython('make', tmp.dir);
    const jobs: { model: string; inputs: string; out: string; expected: Float32Array }[] = [];
    for (const name of ['py_seq', 'py_lstm']) {
      const x = readArray(at(`${name}_x.json`)).tensor;
      const y = readArray(at(`${name}_y.json`)).tensor;
      for (const ext of ['h5', 'keras']) {
        const loaded = await loadModel(at(`${name}.${ext}`), { onWarning: () => undefined });
        expect(maxAbsDiff(predictFlat(loaded.model, x), y.dataSync()), `${name}.${ext}`).toBeLessThan(1e-5);
        expect(loaded.trainingConfig?.loss).toMatch(name === 'py_seq' ? /sparse_categorical_crossentropy/ : /mse/);
        // One training step in tfjs must move the predictions.
        const model = loaded.model;
        model.compile({
          optimizer: tf.train.sgd(0.1),
          loss: name === 'py_seq' ? 'sparseCategoricalCrossentropy' : 'meanSquaredError',
        });
        const target = name === 'py_seq' ? tf.tensor2d([[0], [1], [2], [3], [0]]) : tf.onesLike(y);
        await model.fit(x, target, { epochs: 1, batchSize: 5, verbose: 0 });
        const after = predictFlat(model, x);
        expect(maxAbsDiff(after, y.dataSync())).toBeGreaterThan(1e-5);
        for (const back of ['h5', 'keras']) {
          const file = `${name}.${ext}.back.${back}`;
          await saveModel(model, at(file), { ...(loaded.trainingConfig && { trainingConfig: loaded.trainingConfig }) });
          jobs.push({ model: at(file), inputs: at(`${name}_x.json`), out: at(`${file}.out.json`), expected: after });
        }
      }
    }
    writeFileSync(at('back-jobs.json'), JSON.stringify(jobs.map(({ expected: _e, ...j }) => j)));
    await runPython('predict', at('back-jobs.json'));
    for (const j of jobs)
      expect(maxAbsDiff(readArray(j.out).tensor.dataSync(), j.expected), path.basename(j.model)).toBeLessThan(1e-5);
  }, 240_000);
});
