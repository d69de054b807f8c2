/** Every Keras fixture loads; where a fixture records inputs and outputs, predictions match to 1e-5. */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { withH5, readFloat32, getDataset } from '../../../../shared/io/saving/h5.ts';
import { loadModel, loadWeights, modelFromJSON } from '../../../../shared/io/saving/index.ts';
import { fixture, maxAbsDiff, predictFlat } from '../../../fixtures/saving/helpers.ts';

const numbers = (file: string) =>
  readFileSync(fixture(file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('tf.keras 2.11 conv2d fixtures', () => {
  const inputs = numbers('tfkeras2.11_conv2d_1layer_inputs.txt');
  const expected = numbers('tfkeras2.11_conv2d_1layer_expected_outputs.txt');

  async function check(model: tf.LayersModel) {
    inputs.forEach((row, i) => {
      const out = predictFlat(model, tf.tensor4d(row, [1, 5, 5, 1]));
      expect(maxAbsDiff(out, expected[i] as number[])).toBeLessThan(1e-5);
    });
  }

  it('loads the full model .h5 (kernel_initializer "random_kernel" tolerated with a warning)', async () => {
    const loaded = await loadModel(fixture('tfkeras2.11_conv2d_1layer_model.h5'), { onWarning: () => undefined });
    expect(loaded.format).toBe('h5');
    expect(loaded.kerasVersion).toBe('2.11.0');
    expect(loaded.warnings.join('\n')).toMatch(/random_kernel/);
    expect(loaded.trainingConfig).toBeUndefined();
    await check(loaded.model);
  });

  it('builds from to_json() and takes the weights-only .h5', async () => {
    const warnings: string[] = [];
    const model = await modelFromJSON(readFileSync(fixture('tfkeras2.11_conv2d_1layer_to_json.json'), 'utf8'), {
      onWarning: (m) => warnings.push(m),
    });
    expect(warnings).toHaveLength(1);
    await loadWeights(model, fixture('tfkeras2.11_conv2d_1layer_weights.h5'));
    await check(model);
  });
});

describe('Keras 2.3.1 dense + ReLU fixtures (fixed-length strings, empty weight lists)', () => {
  async function io() {
    return withH5(fixture('keras2.3.1_dense16x32_relu_inputs_and_outputs.h5'), 'r', (f) => ({
      x: readFloat32(getDataset(f, 'inputs/dense_input')!),
      y: readFloat32(getDataset(f, 'outputs/re_lu_1')!),
    }));
  }

  it('loads the full model with its training_config and predicts the recorded outputs', async () => {
    const { x, y } = await io();
    const loaded = await loadModel(fixture('keras2.3.1_dense16x32_relu_model.h5'), { onWarning: () => undefined });
    expect(loaded.model.layers.map((l) => l.getClassName())).toEqual(['Dense', 'ReLU']);
    expect(loaded.trainingConfig).toMatchObject({
      loss: 'mean_squared_error',
      metrics: ['mae'],
      optimizer: { name: 'rmsprop', learningRate: expect.closeTo(1e-4, 9) },
    });
    expect(maxAbsDiff(predictFlat(loaded.model, tf.tensor(x.data, x.shape)), y.data)).toBeLessThan(1e-5);
  });

  it('loads the weights-only file into the same architecture', async () => {
    const { x, y } = await io();
    const model = (await loadModel(fixture('keras2.3.1_dense16x32_relu_model.h5'), { onWarning: () => undefined }))
      .model;
    model.layers[0]!.setWeights(model.layers[0]!.getWeights().map((w) => tf.zerosLike(w)));
    await loadWeights(model, fixture('keras2.3.1_dense16x32_relu_weights.h5'));
    expect(maxAbsDiff(predictFlat(model, tf.tensor(x.data, x.shape)), y.data)).toBeLessThan(1e-5);
  });
});

describe('Keras 3.8 .keras Masking + LSTM', () => {
  it('loads (batch_shape, DTypePolicy, __tensor__ mask_value, nested cell vars) and predicts like a hand-written LSTM', async () => {
    const loaded = await loadModel(fixture('keras3.8.0_masking_lstm1.keras'), { onWarning: () => undefined });
    expect(loaded.format).toBe('keras');
    expect(loaded.kerasVersion).toBe('3.8.0');
    const model = loaded.model;
    expect(model.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Masking', 'LSTM']);
    const [kernel, recurrent, bias] = model
      .getLayer('lstm')
      .getWeights()
      .map((w) => w.arraySync() as number[][] & number[]);
    expect(kernel).toHaveLength(2);
    // Reference: Keras's LSTM (gates i, f, c, o; sigmoid/tanh), with masked steps carrying the state over.
    const x = [
      [
        [1, 2],
        [0, 0],
        [0.5, -1],
      ],
      [
        [0, 0],
        [-1, 0.3],
        [2, 1],
      ],
    ];
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const expected = x.map((seq) => {
      let h = 0;
      let c = 0;
      for (const [a, b] of seq as [number, number][]) {
        if (a === 0 && b === 0) continue;
        const z = [0, 1, 2, 3].map(
          (g) =>
            a * (kernel as number[][])[0]![g]! +
            b * (kernel as number[][])[1]![g]! +
            h * (recurrent as number[][])[0]![g]! +
            (bias as number[])[g]!,
        );
        c = sig(z[1]!) * c + sig(z[0]!) * Math.tanh(z[2]!);
        h = sig(z[3]!) * Math.tanh(c);
      }
      return h;
    });
    expect(maxAbsDiff(predictFlat(model, tf.tensor3d(x)), expected)).toBeLessThan(1e-5);
  });
});
