/**
 * Format round trips inside tfjs: tfjs model.json + weights.bin (plain paths, file:// URLs, the routers),
 * legacy .h5 and .keras written here and read back, format detection by magic bytes, and the HDF5
 * layout details Python Keras relies on.
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getGroup, readString, readStrings, withH5 } from '../../../../shared/io/saving/h5.ts';
import { layerPaths, snakeClass } from '../../../../shared/io/saving/keras3-weights.ts';
import {
  formatForPath,
  loadModel,
  loadWeights,
  registerFileRouters,
  saveModel,
  saveWeights,
} from '../../../../shared/io/saving/index.ts';
import { fixture, maxAbsDiff, predictFlat, scratch } from '../../../fixtures/saving/helpers.ts';

const tmp = scratch();
const at = (name: string) => path.join(tmp.dir, name);
const quiet = { onWarning: () => undefined };

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => tmp.cleanup());

function mixed(): tf.LayersModel {
  const input = tf.input({ shape: [6, 3], name: 'series' });
  const lstm = tf.layers
    .lstm({ units: 4, returnSequences: true, recurrentActivation: 'sigmoid', name: 'lstm' })
    .apply(input) as tf.SymbolicTensor;
  const flat = tf.layers.flatten({ name: 'flat' }).apply(lstm) as tf.SymbolicTensor;
  const a = tf.layers.dense({ units: 3, activation: 'relu', name: 'a' }).apply(flat) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(a) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' }).apply(bn) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'mixed' });
}

const x = () => tf.randomNormal([3, 6, 3], 0, 1, 'float32', 11);

describe('round trips in tfjs', () => {
  it.each(['m.h5', 'm.keras', 'tfjs-dir', 'named.json', 'file://URL/model.json'])(
    'saveModel then loadModel via %s predicts the same',
    async (name) => {
      const model = mixed();
      const target = name.startsWith('file://') ? `file://${at('url')}/model.json` : at(name);
      await saveModel(model, target, {
        trainingConfig: {
          optimizer: { name: 'adam', learningRate: 0.002 },
          loss: 'categorical_crossentropy',
          metrics: ['accuracy'],
        },
      });
      const loaded = await loadModel(target, quiet);
      expect(maxAbsDiff(predictFlat(loaded.model, x()), predictFlat(model, x()))).toBeLessThan(1e-6);
      expect(loaded.trainingConfig).toMatchObject({
        loss: 'categorical_crossentropy',
        metrics: ['accuracy'],
        optimizer: { name: 'adam', learningRate: 0.002 },
      });
    },
  );

  it('writes model.json + weights.bin in a directory, and <name>.weights.bin beside other .json names', async () => {
    await saveModel(mixed(), at('dir2'));
    expect(existsSync(at('dir2/model.json')) && existsSync(at('dir2/weights.bin'))).toBe(true);
    await saveModel(mixed(), at('other.json'));
    expect(existsSync(at('other.weights.bin'))).toBe(true);
  });

  it('registers file:// routers so model.save and tf.loadLayersModel work without tfjs-node', async () => {
    registerFileRouters();
    const model = mixed();
    await model.save(`file://${at('routed')}`);
    const back = await tf.loadLayersModel(`file://${at('routed')}/model.json`);
    expect(maxAbsDiff(predictFlat(back, x()), predictFlat(model, x()))).toBeLessThan(1e-6);
  });

  it('loadWeights takes every weights source: legacy .h5, .weights.h5, .keras, tfjs', async () => {
    const model = mixed();
    await saveWeights(model, at('w.h5'));
    await saveWeights(model, at('w.weights.h5'));
    await saveModel(model, at('w.keras'));
    await saveModel(model, at('wdir'));
    for (const src of ['w.h5', 'w.weights.h5', 'w.keras', 'wdir']) {
      const fresh = mixed();
      await loadWeights(fresh, at(src));
      expect(maxAbsDiff(predictFlat(fresh, x()), predictFlat(model, x())), src).toBeLessThan(1e-6);
    }
  });

  it('detects the format from magic bytes, not the extension (HDF5 named .keras, zip named .h5)', async () => {
    copyFileSync(fixture('keras2.3.1_dense16x32_relu_model.h5'), at('really-h5.keras'));
    copyFileSync(fixture('keras3.8.0_masking_lstm1.keras'), at('really-zip.h5'));
    expect((await loadModel(at('really-h5.keras'), quiet)).format).toBe('h5');
    expect((await loadModel(at('really-zip.h5'), quiet)).format).toBe('keras');
  });

  it('chooses the format to write from the name', () => {
    expect([
      formatForPath('a.h5'),
      formatForPath('a.hdf5'),
      formatForPath('a.keras'),
      formatForPath('a/model.json'),
      formatForPath('file://dir'),
    ]).toEqual(['h5', 'h5', 'keras', 'tfjs', 'tfjs']);
  });
});

describe('file layouts Python Keras reads', () => {
  it('legacy .h5: root attributes, layer_names in model order, weight_names, empty lists as float64 [0]', async () => {
    await saveModel(mixed(), at('layout.h5'), { trainingConfig: { optimizer: 'sgd', loss: 'mse' } });
    await withH5(at('layout.h5'), 'r', (f) => {
      expect(Object.keys(f.attrs).sort()).toEqual([
        'backend',
        'keras_version',
        'model_config',
        'tensorfleet_writer',
        'training_config',
      ]);
      expect(JSON.parse(readString(f, 'training_config')!)).toMatchObject({
        loss: 'mean_squared_error',
        optimizer_config: { class_name: 'SGD' },
      });
      expect(readString(f, 'training_config')).toContain('"momentum":0.0');
      const mw = getGroup(f, 'model_weights')!;
      expect(readStrings(mw, 'layer_names')).toEqual(['series', 'lstm', 'flat', 'a', 'bn', 'out']);
      expect(readStrings(getGroup(mw, 'lstm')!, 'weight_names')).toEqual([
        'lstm/kernel:0',
        'lstm/recurrent_kernel:0',
        'lstm/bias:0',
      ]);
      expect(readStrings(getGroup(mw, 'bn')!, 'weight_names')).toEqual([
        'bn/gamma:0',
        'bn/beta:0',
        'bn/moving_mean:0',
        'bn/moving_variance:0',
      ]);
      expect(getGroup(mw, 'flat')!.attrs.weight_names!.dtype).toBe('<d');
      expect(getGroup(mw, 'top_level_model_weights')).toBeDefined();
    });
  });

  it('.keras: stored members, Keras 3 config, layers/<class path>/vars with nested LSTM cell', async () => {
    await saveModel(mixed(), at('layout.keras'));
    const files = unzipSync(new Uint8Array(readFileSync(at('layout.keras'))));
    expect(Object.keys(files).sort()).toEqual(['config.json', 'metadata.json', 'model.weights.h5']);
    const config = JSON.parse(Buffer.from(files['config.json']!).toString('utf8'));
    expect(config).toMatchObject({ module: 'keras.src.models.functional', class_name: 'Functional' });
    const layers = config.config.layers as {
      class_name: string;
      module: string;
      config: Record<string, unknown>;
      inbound_nodes: unknown[];
    }[];
    expect(layers[0]).toMatchObject({ class_name: 'InputLayer', config: { batch_shape: [null, 6, 3] } });
    expect(layers[1]).toMatchObject({
      module: 'keras.layers',
      class_name: 'LSTM',
      config: { dtype: { class_name: 'DTypePolicy' } },
    });
    expect(layers[1]!.inbound_nodes[0]).toMatchObject({
      args: [{ class_name: '__keras_tensor__', config: { keras_history: ['series', 0, 0] } }],
    });
    expect(JSON.parse(Buffer.from(files['metadata.json']!).toString('utf8')).keras_version).toMatch(/^3\./);
  });

  it('derives Keras 3 weight paths from class names, as Keras does', () => {
    expect(['BatchNormalization', 'Conv2D', 'MaxPooling2D', 'LSTM', 'InputLayer'].map(snakeClass)).toEqual([
      'batch_normalization',
      'conv2d',
      'max_pooling2d',
      'lstm',
      'input_layer',
    ]);
    expect(
      layerPaths([
        { className: 'Dense', name: 'a' },
        { className: 'Dense', name: 'b' },
        { className: 'Dense', name: 'c' },
      ]),
    ).toEqual(['layers/dense', 'layers/dense_1', 'layers/dense_2']);
  });
});
