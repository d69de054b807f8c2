/**
 * Bad input gets a FleetError naming the file and the problem: truncated or corrupt files, files of no
 * model format, weights for another architecture, layers tfjs lacks. A failed save leaves the old file.
 */
import { chmodSync, copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFleetError, type ErrorCode } from '../../../../shared/runtime/errors.ts';
import { loadModel, loadWeights, modelFromJSON, saveModel, saveWeights } from '../../../../shared/io/saving/index.ts';
import { fixture, maxAbsDiff, predictFlat, scratch } from '../../../fixtures/saving/helpers.ts';

const tmp = scratch();
const at = (name: string) => path.join(tmp.dir, name);
const quiet = { onWarning: () => undefined };

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => tmp.cleanup());

async function rejection(p: Promise<unknown>): Promise<{ code: ErrorCode; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isFleetError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a rejection');
}

function dense(): tf.LayersModel {
  return tf.sequential({
    layers: [tf.layers.dense({ units: 3, inputShape: [4], name: 'd1' }), tf.layers.dense({ units: 2, name: 'd2' })],
  });
}

describe('unreadable files', () => {
  it('a truncated .h5 names the file and says it may be truncated', async () => {
    const bytes = readFileSync(fixture('keras2.3.1_dense16x32_relu_model.h5'));
    writeFileSync(at('truncated.h5'), bytes.subarray(0, 3000));
    const e = await rejection(loadModel(at('truncated.h5')));
    expect(e.code).toBe('FLEET_ERR_FORMAT');
    expect(e.message).toMatch(
      /Expected a readable HDF5 file \(it may be truncated or corrupt\) at .*truncated\.h5\. Received: .*truncated file: eof = 3000/,
    );
  });

  it('an HDF5 signature followed by garbage is FLEET_ERR_FORMAT', async () => {
    writeFileSync(at('garbage.h5'), Buffer.concat([Buffer.from('\x89HDF\r\n\x1a\n', 'latin1'), Buffer.alloc(200, 7)]));
    const e = await rejection(loadWeights(dense(), at('garbage.h5')));
    expect(e.code).toBe('FLEET_ERR_FORMAT');
    expect(e.message).toContain('garbage.h5');
  });

  it('a truncated .keras zip names the file', async () => {
    const bytes = readFileSync(fixture('keras3.8.0_masking_lstm1.keras'));
    writeFileSync(at('truncated.keras'), bytes.subarray(0, bytes.length - 2000));
    const e = await rejection(loadModel(at('truncated.keras')));
    expect(e.code).toBe('FLEET_ERR_FORMAT');
    expect(e.message).toMatch(/truncated\.keras/);
  });

  it('a zip without model.weights.h5, or with a corrupt one, names the missing or broken member', async () => {
    const config = new TextEncoder().encode('{"class_name": "Sequential", "config": {"layers": []}}');
    writeFileSync(at('nomember.keras'), zipSync({ 'config.json': config }));
    expect((await rejection(loadModel(at('nomember.keras')))).message).toMatch(
      /Expected model\.weights\.h5 in .*nomember\.keras/,
    );
    writeFileSync(at('badmember.keras'), zipSync({ 'config.json': config, 'model.weights.h5': new Uint8Array(64) }));
    const e = await rejection(loadModel(at('badmember.keras')));
    expect(e.code).toBe('FLEET_ERR_FORMAT');
    expect(e.message).toMatch(/badmember\.keras:model\.weights\.h5/);
  });

  it('a file that is neither HDF5, zip nor JSON shows its first bytes', async () => {
    writeFileSync(at('picture.h5'), Buffer.from('\x89PNG\r\n\x1a\n....', 'latin1'));
    const e = await rejection(loadModel(at('picture.h5')));
    expect(e.code).toBe('FLEET_ERR_FORMAT');
    expect(e.message).toMatch(
      /Expected .*picture\.h5 to be a Keras HDF5 file .*Received: first bytes "\\x89PNG\\x0d\\x0a/,
    );
  });

  it('a missing file is FLEET_ERR_FILE', async () => {
    const e = await rejection(loadModel(at('nope.keras')));
    expect(e.code).toBe('FLEET_ERR_FILE');
    expect(e.message).toMatch(/nope\.keras\. Received: no such file/);
  });

  it('a weights-only file given to loadModel says to use loadWeights', async () => {
    const e = await rejection(loadModel(fixture('keras2.3.1_dense16x32_relu_weights.h5')));
    expect(e.message).toMatch(/weights-only file; build the model, then call loadWeights/);
  });
});

describe('weights for another architecture', () => {
  it('a legacy weights file with other layer shapes names the layer and both shapes', async () => {
    const e = await rejection(loadWeights(dense(), fixture('keras2.3.1_dense16x32_relu_weights.h5')));
    expect(e.code).toBe('FLEET_ERR_WEIGHTS_MISMATCH');
    expect(e.message).toMatch(
      /Expected weights for 2 layers \(d1, d2\) in .*relu_weights\.h5\. Received: 1 layers with weights \(dense\)/,
    );
  });

  it('same layer count but another shape names the weight', async () => {
    const other = tf.sequential({ layers: [tf.layers.dense({ units: 5, inputShape: [16], name: 'dense' })] });
    const e = await rejection(loadWeights(other, fixture('keras2.3.1_dense16x32_relu_weights.h5')));
    expect(e.message).toMatch(
      /Expected dense\/kernel of layer "dense" to have shape \[16,5\] in .*Received: "dense\/kernel:0" of shape \[16,32\]/,
    );
  });

  it('a .keras archive into a model of another shape', async () => {
    const e = await rejection(loadWeights(dense(), fixture('keras3.8.0_masking_lstm1.keras')));
    expect(e.code).toBe('FLEET_ERR_WEIGHTS_MISMATCH');
  });
});

describe('layers TensorFlow.js lacks', () => {
  const config = (layer: object) => ({
    module: 'keras',
    class_name: 'Sequential',
    registered_name: null,
    config: {
      name: 'seq',
      layers: [
        {
          module: 'keras.layers',
          class_name: 'InputLayer',
          config: { batch_shape: [null, 8, 8, 3], name: 'input_layer' },
        },
        layer,
      ],
    },
  });

  it('a Keras layer tfjs does not implement (RandomRotation) names the class and the file', async () => {
    const e = await rejection(
      modelFromJSON(
        config({ module: 'keras.layers', class_name: 'RandomRotation', config: { name: 'rot', factor: 0.1 } }),
        { source: 'aug.json' },
      ),
    );
    expect(e.code).toBe('FLEET_ERR_MODEL_CONFIG');
    expect(e.message).toMatch(
      /in aug\.json\. Received: layer "rot" of class "RandomRotation" \(a Keras layer TensorFlow\.js does not implement\)/,
    );
  });

  it('a custom layer module (QKeras) says to register the class', async () => {
    const q = {
      module: 'qkeras.qlayers',
      class_name: 'QDense',
      registered_name: 'QDense',
      config: { name: 'fc1', units: 4, kernel_quantizer: 'quantized_bits(4)' },
    };
    writeFileSync(
      at('qkeras.keras'),
      zipSync({
        'config.json': new TextEncoder().encode(JSON.stringify(config(q))),
        'metadata.json': new TextEncoder().encode('{"keras_version": "3.14.1"}'),
        'model.weights.h5': new Uint8Array(0),
      }),
    );
    // The config is checked before the (here empty) weights are read.
    const e = await rejection(loadModel(at('qkeras.keras')));
    expect(e.message).toMatch(
      /qkeras\.keras\. Received: layer "fc1" of class "QDense" from custom module "qkeras\.qlayers"/,
    );
  });

  it('a subclassed model with no layer graph is refused', async () => {
    const e = await rejection(
      modelFromJSON(
        { module: 'legacy_nested_container', class_name: 'NestedDenseModel', config: { units: 3 } },
        { source: 'sub.json' },
      ),
    );
    expect(e.message).toMatch(
      /Expected a Sequential or Functional model in sub\.json\. Received: class "NestedDenseModel"/,
    );
  });

  it('an activation tfjs computes differently is an error, not a silent change', async () => {
    const e = await rejection(
      modelFromJSON(config({ class_name: 'Dense', config: { name: 'd', units: 2, activation: 'hard_sigmoid' } }), {
        source: 'k3.json',
      }),
    );
    expect(e.message).toMatch(/Keras 3 computes hard_sigmoid/);
  });
});

describe('atomic saves', () => {
  function failingModel(): tf.LayersModel {
    const m = dense();
    const w = m.layers[1]!.weights[0]!;
    // The second layer's kernel cannot be read: the save fails after the first layer was written.
    (w as unknown as { read(): tf.Tensor }).read = () => {
      throw new Error('device lost');
    };
    return m;
  }

  it.each(['model.h5', 'model.keras', 'weights.h5', 'model.weights.h5', 'tfjs/model.json'])(
    'a save to %s that fails midway leaves the earlier file and no temporary files',
    async (name) => {
      const good = dense();
      const file = at(`atomic/${name}`);
      const save = (m: tf.LayersModel) => (name.includes('weights') ? saveWeights(m, file) : saveModel(m, file));
      await save(good);
      const before = readFileSync(file);
      await expect(save(failingModel())).rejects.toThrow(/device lost/);
      expect(readFileSync(file).equals(before)).toBe(true);
      expect(readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      if (!name.includes('weights')) {
        const x = tf.ones([1, 4]);
        expect(maxAbsDiff(predictFlat((await loadModel(file, quiet)).model, x), predictFlat(good, x))).toBeLessThan(
          1e-6,
        );
      }
    },
  );

  it.skipIf(process.getuid?.() === 0)(
    'a read-only directory is FLEET_ERR_FILE and keeps the earlier file',
    async () => {
      const file = at('ro/model.h5');
      await saveModel(dense(), file);
      const before = readFileSync(file);
      chmodSync(path.dirname(file), 0o500);
      try {
        const e = await rejection(saveModel(dense(), file));
        expect(e.code).toBe('FLEET_ERR_FILE');
        expect(e.message).toMatch(/temporary file/);
      } finally {
        chmodSync(path.dirname(file), 0o700);
      }
      expect(readFileSync(file).equals(before)).toBe(true);
    },
  );

  it('an existing earlier file survives a save whose target name cannot be a model path', async () => {
    copyFileSync(fixture('keras2.3.1_dense16x32_relu_model.h5'), at('keep.h5'));
    const e = await rejection(saveModel(dense(), at('model.pt')));
    expect(e.message).toMatch(
      /Expected a model path ending in \.h5, \.hdf5, \.keras, \.json, or a directory\. Received: ".*model\.pt"/,
    );
  });
});
