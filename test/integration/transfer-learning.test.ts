/**
 * Transfer learning on the cluster with Keras's VGG16 architecture (weights from a local file in
 * TensorFlow.js format): with the base frozen only the head's weights change and the base's stay
 * bit-identical; after unfreezing block5 and fine-tuning, blocks 1-4 stay bit-identical and block5
 * changes. Runs examples/transfer-learning.ts's own code at a small size on 2 wasm workers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changed, snapshot, transferLearning, writeStandInWeights } from '../../examples/transfer-learning.ts';
import { modelFilesHandler } from '../../shared/io/applications/weights-file.ts';
import { vgg16 } from '../../shared/io/applications/vgg16.ts';
import { selectBackend } from '../../shared/runtime/backend/select.ts';

const KERAS_VGG16_LAYERS = [
  'input_layer',
  'block1_conv1',
  'block1_conv2',
  'block1_pool',
  'block2_conv1',
  'block2_conv2',
  'block2_pool',
  'block3_conv1',
  'block3_conv2',
  'block3_conv3',
  'block3_pool',
  'block4_conv1',
  'block4_conv2',
  'block4_conv3',
  'block4_pool',
  'block5_conv1',
  'block5_conv2',
  'block5_conv3',
  'block5_pool',
];

let dir: string;
beforeAll(async () => {
  await selectBackend('wasm');
  dir = mkdtempSync(path.join(os.tmpdir(), 'tf-vgg16-'));
  await writeStandInWeights(dir, 7);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('VGG16 (shared/io/applications)', () => {
  it("has Keras's layer names and parameter count, and loads weights written in TensorFlow.js format", async () => {
    const base = vgg16({ includeTop: false, inputShape: [32, 32, 3], weights: dir });
    expect(base.name).toBe('vgg16');
    expect(base.layers.map((l) => l.name)).toEqual(KERAS_VGG16_LAYERS);
    expect(base.countParams()).toBe(14_714_688); // keras.applications.VGG16(include_top=False).count_params()
    expect(base.outputs[0]?.shape).toEqual([null, 1, 1, 512]);
    const reference = vgg16({ includeTop: false, inputShape: [32, 32, 3], seed: 7 });
    expect(changed(snapshot(base), snapshot(reference))).toEqual([]);
    const loaded = await tf.loadLayersModel(modelFilesHandler(dir)); // the custom IOHandler
    expect(changed(snapshot(loaded), snapshot(reference))).toEqual([]);
    expect(() => vgg16({ inputShape: [16, 16, 3] })).toThrow(/height and width >= 32.*Received: \[16,16,3\]/);
    tf.dispose([base, reference, loaded].flatMap((m) => m.weights.map((w) => w.read())));
  });
});

describe('transfer learning on 2 workers (wasm)', () => {
  it('trains only the head with the base frozen, then fine-tunes block5 only', async () => {
    const r = await transferLearning({ workers: 2, backend: 'wasm', samples: 64, epochs: 1, weights: dir, verbose: 0 });
    const baseNames = new Set(r.base.weights.map((w) => w.originalName));
    const head = [...r.weights.initial.keys()].filter((n) => !baseNames.has(n));
    expect(head).toHaveLength(4); // dense 256 kernel/bias, dense 10 kernel/bias

    // Phase 1: every VGG16 weight bit-identical, every head weight changed.
    const phase1 = changed(r.weights.initial, r.weights.afterHead);
    expect(phase1.sort()).toEqual([...head].sort());

    // Phase 2: block5 and the head change; blocks 1-4 stay bit-identical.
    const phase2 = changed(r.weights.afterHead, r.weights.afterFineTune);
    const block = (n: string) => n.split('_')[0] as string;
    expect(new Set(phase2.filter((n) => baseNames.has(n)).map(block))).toEqual(new Set(['block5']));
    expect(phase2.filter((n) => baseNames.has(n))).toHaveLength(6); // 3 convolutions x (kernel, bias)
    for (const n of head) expect(phase2).toContain(n);
    for (const h of r.histories) expect(h.history['loss']?.every(Number.isFinite)).toBe(true);
  });
});
