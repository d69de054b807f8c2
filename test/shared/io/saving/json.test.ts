/** Architecture JSON both ways: Keras 1/2/3 JSON into tfjs (with tolerated oddities) and tfjs into Keras JSON. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelFromJSON, modelToJSON } from '../../../../shared/io/saving/index.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const keras3Masking = {
  module: 'keras',
  class_name: 'Sequential',
  registered_name: null,
  config: {
    name: 'sequential',
    trainable: true,
    dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null },
    layers: [
      {
        module: 'keras.layers',
        class_name: 'InputLayer',
        config: { batch_shape: [null, 3, 2], dtype: 'float32', sparse: false, ragged: false, name: 'input_layer' },
        registered_name: null,
      },
      {
        module: 'keras.layers',
        class_name: 'Masking',
        config: {
          name: 'masking',
          dtype: {
            module: 'keras',
            class_name: 'DTypePolicy',
            config: { name: 'mixed_float16' },
            registered_name: null,
          },
          mask_value: { class_name: '__tensor__', config: { value: [0.0], dtype: 'float32' } },
        },
        registered_name: null,
        build_config: { input_shape: [null, 3, 2] },
      },
      {
        module: 'keras.layers',
        class_name: 'Dense',
        config: {
          name: 'dense',
          units: 2,
          activation: 'silu',
          kernel_initializer: {
            module: 'keras.initializers',
            class_name: 'LecunNormal',
            config: { seed: null },
            registered_name: null,
          },
          bias_initializer: 'my_custom_init',
          kernel_regularizer: {
            module: 'keras.regularizers',
            class_name: 'L2',
            config: { l2: 0.01 },
            registered_name: null,
          },
        },
        registered_name: null,
      },
    ],
  },
};

describe('Keras JSON into tfjs', () => {
  it('reads Keras 3 JSON: batch_shape, DTypePolicy, __tensor__ mask_value, module/registered_name, silu', async () => {
    const warnings: string[] = [];
    const model = await modelFromJSON(JSON.stringify(keras3Masking), { onWarning: (m) => warnings.push(m) });
    expect(model.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Masking', 'Dense']);
    expect((model.getLayer('masking').getConfig() as { maskValue: number }).maskValue).toBe(0);
    expect(model.inputs[0]!.shape).toEqual([null, 3, 2]);
    // A mixed-precision policy and an unknown initializer are tolerated, each with one warning.
    expect(warnings.join('\n')).toMatch(/mixed_float16/);
    expect(warnings.join('\n')).toMatch(/my_custom_init/);
    expect(warnings).toHaveLength(2);
  });

  it('reads Keras <= 2.1 Sequential configs whose config is a bare layer list', async () => {
    const model = await modelFromJSON({
      class_name: 'Sequential',
      config: [
        { class_name: 'Dense', config: { name: 'd', units: 3, activation: 'tanh', batch_input_shape: [null, 4] } },
      ],
      keras_version: '2.1.3',
    });
    expect(model.outputs[0]!.shape).toEqual([null, 3]);
  });

  it('reads Keras 3 functional JSON with dict-shaped inbound nodes and multi-input merges', async () => {
    const kt = (name: string, shape: number[]) => ({
      class_name: '__keras_tensor__',
      config: { shape, dtype: 'float32', keras_history: [name, 0, 0] },
    });
    const model = await modelFromJSON({
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      registered_name: 'Functional',
      config: {
        name: 'f',
        layers: [
          {
            module: 'keras.layers',
            class_name: 'InputLayer',
            config: { batch_shape: [null, 4], name: 'a' },
            name: 'a',
            inbound_nodes: [],
          },
          {
            module: 'keras.layers',
            class_name: 'InputLayer',
            config: { batch_shape: [null, 4], name: 'b' },
            name: 'b',
            inbound_nodes: [],
          },
          {
            module: 'keras.layers',
            class_name: 'Add',
            config: { name: 'add' },
            name: 'add',
            inbound_nodes: [{ args: [[kt('a', [4]), kt('b', [4])]], kwargs: {} }],
          },
          {
            module: 'keras.layers',
            class_name: 'Dense',
            config: { name: 'd', units: 1 },
            name: 'd',
            inbound_nodes: [{ args: [kt('add', [4])], kwargs: {} }],
          },
        ],
        input_layers: [
          ['a', 0, 0],
          ['b', 0, 0],
        ],
        output_layers: ['d', 0, 0],
      },
    });
    expect(model.inputs).toHaveLength(2);
    expect((model.predict([tf.ones([1, 4]), tf.ones([1, 4])]) as tf.Tensor).shape).toEqual([1, 1]);
  });
});

describe('tfjs into Keras JSON', () => {
  const model = () =>
    tf.sequential({
      layers: [
        tf.layers.dense({ units: 3, inputShape: [4], kernelInitializer: 'heNormal' }),
        tf.layers.dropout({ rate: 0.1 }),
      ],
    });

  it('keras3 (default): module, registered_name, explicit InputLayer with batch_shape, DTypePolicy, truncated_normal', () => {
    const json = JSON.parse(modelToJSON(model()));
    expect(json).toMatchObject({
      module: 'keras',
      class_name: 'Sequential',
      registered_name: null,
      build_config: { input_shape: [null, 4] },
    });
    const [input, dense] = json.config.layers;
    expect(input).toMatchObject({ class_name: 'InputLayer', config: { batch_shape: [null, 4] } });
    expect(dense).toMatchObject({
      module: 'keras.layers',
      class_name: 'Dense',
      config: {
        dtype: { class_name: 'DTypePolicy' },
        kernel_initializer: {
          module: 'keras.initializers',
          class_name: 'VarianceScaling',
          config: { distribution: 'truncated_normal' },
        },
      },
    });
    expect(dense.config.batch_input_shape).toBeUndefined();
  });

  it('keras2: tf.keras style with keras_version and backend; both read back into the same architecture', async () => {
    const json = JSON.parse(modelToJSON(model(), { dialect: 'keras2' }));
    expect(json).toMatchObject({
      class_name: 'Sequential',
      keras_version: expect.stringMatching(/^2\./),
      backend: 'tensorflow',
    });
    expect(json.config.layers[0]).toMatchObject({ class_name: 'InputLayer', config: { batch_input_shape: [null, 4] } });
    for (const dialect of ['keras2', 'keras3'] as const) {
      const back = await modelFromJSON(modelToJSON(model(), { dialect }));
      expect(back.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Dense', 'Dropout']);
    }
  });

  it('warns when a saved activation means something else in Keras 3 (hard_sigmoid)', () => {
    const warnings: string[] = [];
    const m = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [2], activation: 'hardSigmoid' })] });
    modelToJSON(m, { onWarning: (w) => warnings.push(w) });
    expect(warnings.join('\n')).toMatch(/hard_sigmoid .* Keras 3/);
  });
});
