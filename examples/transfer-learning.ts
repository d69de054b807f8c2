/**
 * The guide's transfer learning on the cluster: Keras's VGG16 architecture (include_top=False) as a
 * frozen base under the guide's head (GlobalAveragePooling2D, Dense 256 relu, Dropout 0.5, Dense 10
 * softmax); train the head, then unfreeze block5 and fine-tune at a 100x lower learning rate.
 *   npx tsx examples/transfer-learning.ts [--workers 2] [--backend wasm] [--samples 512] [--epochs 3] [--weights DIR]
 *
 * ImageNet weights cannot be downloaded here, so the base's weights come from a local folder in
 * TensorFlow.js format (model.json + weights.bin): --weights DIR, or, without it, a seeded VGG16
 * written to a temporary folder first. The images are 32x32x3 (VGG16's smallest input) with 10
 * synthetic classes, so that it runs in minutes on CPUs; with real weights, use real images.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { local, type History } from '../index.ts';
import { saveModelFiles } from '../shared/io/applications/weights-file.ts';
import { vgg16 } from '../shared/io/applications/vgg16.ts';
import type { BackendRequest } from '../shared/runtime/backend/select.ts';
import { seededRandom } from '../shared/runtime/rng.ts';

const INPUT: [number, number, number] = [32, 32, 3];

/** n images of 32x32x3 in [0, 1): noise, plus one bright (quadrant, channel) pair per class. */
export function syntheticImages(n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const rand = seededRandom(seed);
  const [h, w, c] = INPUT;
  const x = new Float32Array(n * h * w * c);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const label = Math.floor(rand() * 10);
    y[i] = label;
    const quadrant = label % 4;
    const channel = Math.floor(label / 4) % 3;
    for (let r = 0; r < h; r++)
      for (let q = 0; q < w; q++)
        for (let k = 0; k < c; k++) {
          const inQuadrant = (r < h / 2 ? 0 : 2) + (q < w / 2 ? 0 : 1) === quadrant;
          x[((i * h + r) * w + q) * c + k] = 0.5 * rand() + (inQuadrant && k === channel ? 0.5 : 0);
        }
  }
  return { x: tf.tensor4d(x, [n, h, w, c]), y: tf.tensor1d(y) };
}

/** Writes a seeded VGG16 (include_top=False, 32x32x3) to `dir` in TensorFlow.js format: stand-in "pretrained" weights. */
export async function writeStandInWeights(dir: string, seed = 0): Promise<void> {
  const base = vgg16({ includeTop: false, inputShape: INPUT, seed });
  await saveModelFiles(base, dir);
  base.dispose();
}

/** Every weight of `model` by name, copied out (to compare before and after training). */
export function snapshot(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, Float32Array.from(w.read().dataSync())]));
}

/** Options of transferLearning; the defaults are the documented run. */
export interface TransferOptions {
  workers?: number;
  backend?: BackendRequest;
  /** Training images (default 512). */
  samples?: number;
  /** Epochs of each phase (default 3). */
  epochs?: number;
  /** Folder of the base's weights; default: a seeded stand-in written to a temporary folder. */
  weights?: string;
  verbose?: 0 | 1 | 2;
}

/** What a run leaves: the model, its base, and the weights before, after the head phase and after fine-tuning. */
export interface TransferResult {
  model: tf.Sequential;
  base: tf.LayersModel;
  histories: [History, History];
  weights: {
    initial: Map<string, Float32Array>;
    afterHead: Map<string, Float32Array>;
    afterFineTune: Map<string, Float32Array>;
  };
}

/** Both phases of the guide's transfer learning on a local cluster. */
export async function transferLearning(opts: TransferOptions = {}): Promise<TransferResult> {
  const tmp = opts.weights ? undefined : mkdtempSync(path.join(os.tmpdir(), 'tensorfleet-vgg16-'));
  try {
    const weightsDir = opts.weights ?? (tmp as string);
    if (tmp) await writeStandInWeights(weightsDir);
    // Load the "pretrained" base and freeze it (keras.applications.VGG16(weights=..., include_top=False)).
    const base = vgg16({ includeTop: false, inputShape: INPUT, weights: weightsDir });
    base.trainable = false;
    const model = tf.sequential({
      layers: [
        base,
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 256, activation: 'relu' }),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    const { x, y } = syntheticImages(opts.samples ?? 512, 1);
    const cluster = await local({ workers: opts.workers ?? 2, backend: opts.backend ?? 'auto' });
    const fitArgs = { epochs: opts.epochs ?? 3, batchSize: 32, verbose: opts.verbose ?? 1 };
    const initial = snapshot(model);

    // Phase 1: only the head trains.
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const head = await cluster.fit(model, x, y, fitArgs);
    const afterHead = snapshot(model);

    // Phase 2: unfreeze the top block (block5_*) and fine-tune everything trainable at a lower rate.
    base.trainable = true;
    for (const layer of base.layers) layer.trainable = layer.name.startsWith('block5_');
    model.compile({ optimizer: tf.train.adam(1e-5), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const fineTune = await cluster.fit(model, x, y, fitArgs);
    await cluster.close(); // the workers exit; a cluster keeps them across calls until then
    tf.dispose([x, y]);
    return {
      model,
      base,
      histories: [head, fineTune],
      weights: { initial, afterHead, afterFineTune: snapshot(model) },
    };
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

/** Names of the weights whose values differ between two snapshots. */
export function changed(a: Map<string, Float32Array>, b: Map<string, Float32Array>): string[] {
  return [...a.keys()].filter((k) => {
    const u = a.get(k) as Float32Array;
    const v = b.get(k) as Float32Array;
    return u.length !== v.length || u.some((value, i) => value !== v[i]);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '2' },
      backend: { type: 'string', default: 'auto' },
      samples: { type: 'string', default: '512' },
      epochs: { type: 'string', default: '3' },
      weights: { type: 'string' },
    },
  });
  const r = await transferLearning({
    workers: Number(values.workers),
    backend: values.backend as BackendRequest,
    samples: Number(values.samples),
    epochs: Number(values.epochs),
    ...(values.weights && { weights: values.weights }),
  });
  const base = new Set(r.base.weights.map((w) => w.originalName));
  const headPhase = changed(r.weights.initial, r.weights.afterHead);
  const finePhase = changed(r.weights.afterHead, r.weights.afterFineTune);
  console.log(
    `Phase 1 (base frozen): ${headPhase.length} weights changed, ${headPhase.filter((n) => base.has(n)).length} of them in VGG16`,
  );
  const fineBlocks = [...new Set(finePhase.filter((n) => base.has(n)).map((n) => n.split('/')[0]))];
  console.log(`Phase 2 (block5 unfrozen): changed in VGG16: ${fineBlocks.join(', ')}`);
  console.log(`Final accuracy: ${(r.histories[1].history['accuracy']?.at(-1) ?? NaN).toFixed(4)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main();
  process.exit(0);
}
