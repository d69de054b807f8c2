/**
 * wasm against the native TensorFlow backend (built by `tensorfleet setup native`), side by side in one
 * run: plain tfjs model.fit in this process, same model, data and batch on each backend.
 *   npx tsx bench/native.ts                      # MLP on 6,400 MNIST images, convnet on 1,920
 *   npx tsx bench/native.ts --conv-samples 640   # a quicker convnet pass
 * A backend that cannot be activated is reported with the reason instead of a number.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendRequest } from '../shared/runtime/backend/select.ts';
import { loadMnist } from '../shared/model/data/mnist.ts';
import { loadJob } from '../shared/model/job.ts';
import { makeOptimizer } from '../shared/model/keras/optimizers.ts';
import { guideConvnet } from './jobs/guide.ts';

const MLP_JOB = path.resolve(import.meta.dirname, 'jobs/mlp.ts');
const BACKENDS: readonly BackendRequest[] = ['wasm', 'tensorflow'];
const BATCH = 64; // the guide's batch size for both models
const WARMUP_BATCHES = 2; // untimed batches first: kernel compilation, memory pools

/** One model to time: how to build it, and its data. */
interface Workload {
  readonly name: string;
  readonly model: () => tf.LayersModel;
  readonly optimizer: () => tf.Optimizer;
  readonly x: Float32Array;
  readonly xShape: readonly number[];
  readonly y: Float32Array;
}

async function workloads(convSamples: number): Promise<Workload[]> {
  const job = await loadJob(MLP_JOB);
  const { train } = await job.data();
  const images = loadMnist({ trainCount: convSamples, testCount: 0, layout: 'image' }).train;
  return [
    {
      name: `MLP 784-128-64-10, ${train.xShape[0]} images`,
      model: job.model,
      optimizer: () => makeOptimizer(job.compile.optimizer),
      x: train.x,
      xShape: train.xShape,
      y: train.y,
    },
    {
      name: `guide convnet 28x28x1, ${images.xShape[0]} images`,
      model: guideConvnet,
      optimizer: () => tf.train.rmsprop(0.001),
      x: images.x,
      xShape: images.xShape,
      y: images.y,
    },
  ];
}

/** Samples per second of one timed epoch of model.fit, after a short untimed warm-up. */
async function fitRate(w: Workload): Promise<number> {
  const model = w.model();
  model.compile({ optimizer: w.optimizer(), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const n = w.xShape[0] as number;
  const x = tf.tensor(w.x, [...w.xShape]);
  const y = tf.tensor(w.y, [n]);
  const warm = Math.min(n, WARMUP_BATCHES * BATCH);
  const [xw, yw] = [x.slice(0, warm), y.slice(0, warm)];
  await model.fit(xw, yw, { batchSize: BATCH, epochs: 1, verbose: 0 });
  const t0 = performance.now();
  await model.fit(x, y, { batchSize: BATCH, epochs: 1, verbose: 0 });
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([x, y, xw, yw]);
  model.dispose();
  return n / seconds;
}

/** Runs every workload on every backend and prints one table. */
export async function runNativeBench(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({ args: [...argv], options: { 'conv-samples': { type: 'string', default: '1920' } } });
  const convSamples = Number(values['conv-samples']);
  const print = (s: string) => process.stdout.write(`${s}\n`);
  const loads = await workloads(convSamples);
  const rates = new Map<string, number>();
  const unavailable = new Map<string, string>();
  for (const backend of BACKENDS) {
    let active: string;
    try {
      active = (await selectBackend(backend)).tfBackend;
    } catch (err) {
      unavailable.set(backend, (err as Error).message.split('\n')[0] ?? String(err));
      continue;
    }
    for (const w of loads) rates.set(`${backend}/${w.name}`, await fitRate(w));
    print(`  ${backend}: done (tf.getBackend()=${active})`);
  }
  print(`tensorfleet native bench: plain tfjs model.fit, one process, batch ${BATCH}, samples/s (higher is better)`);
  print(`${'model'.padEnd(40)}${BACKENDS.map((b) => b.padStart(14)).join('')}  tensorflow/wasm`);
  for (const w of loads) {
    const cells = BACKENDS.map((b) => rates.get(`${b}/${w.name}`));
    const [wasm, native] = cells;
    const ratio = wasm !== undefined && native !== undefined ? `${(native / wasm).toFixed(2)} x` : '-';
    print(
      `${w.name.padEnd(40)}${cells.map((c) => (c === undefined ? 'n/a' : c.toFixed(0)).padStart(14)).join('')}  ${ratio}`,
    );
  }
  for (const [backend, reason] of unavailable) print(`  ${backend} not run: ${reason}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runNativeBench(process.argv.slice(2));
  process.exit(0);
}
