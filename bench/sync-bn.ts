/**
 * What synchronized BatchNormalization costs: a convnet with two BatchNormalization layers, one epoch
 * of 3,200 MNIST images at a global batch of 64, on 2 workers with per-worker BN and with syncBatchNorm,
 * against plain tfjs model.fit in one process; measured side by side in one run, printed as ratios.
 *   npx tsx bench/sync-bn.ts [--backend cpu|wasm|tensorflow]
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runLocalJob } from '../api/launcher.ts';
import { selectBackend, type BackendRequest } from '../shared/runtime/backend/select.ts';
import { loadJob } from '../shared/model/job.ts';
import { makeOptimizer } from '../shared/model/keras/optimizers.ts';

const JOB = path.resolve(import.meta.dirname, 'jobs/convbn.ts');
const backend = (process.argv[process.argv.indexOf('--backend') + 1] ?? 'wasm') as BackendRequest;

async function plainFit(): Promise<number> {
  await selectBackend(backend);
  const job = await loadJob(JOB);
  const { train } = await job.data();
  const model = job.model();
  model.compile({ optimizer: makeOptimizer(job.compile.optimizer), loss: 'sparseCategoricalCrossentropy' });
  const x = tf.tensor(train.x, [...train.xShape]);
  const y = tf.tensor(train.y, [...train.yShape]);
  await model.fit(x.slice(0, 640), y.slice(0, 640), { batchSize: 64, epochs: 1, verbose: 0 }); // warm-up
  const t0 = performance.now();
  await model.fit(x, y, { batchSize: 64, epochs: 1, verbose: 0 });
  const rate = (train.xShape[0] as number) / ((performance.now() - t0) / 1000);
  tf.dispose([x, y]);
  return rate;
}

async function cluster(sync: boolean): Promise<{ rate: number; compute: number; transfer: number }> {
  const job = await loadJob(JOB, { sync });
  const r = await runLocalJob(
    job,
    { path: JOB, args: { sync } },
    {
      job: JOB,
      workers: 2,
      backend,
      metricsHost: '127.0.0.1',
      metricsPort: 0,
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 30_000,
      joinTimeoutMs: 120_000,
      quiet: true,
    },
  );
  const t = r.times;
  return {
    rate: (t.rounds * 64) / t.total,
    compute: (t.compute / t.rounds) * 1000,
    transfer: (t.exchange / t.rounds) * 1000,
  };
}

const fit = await plainFit();
const perWorker = await cluster(false);
const synced = await cluster(true);
const f = (v: number) => v.toFixed(0);
console.log(`backend ${backend}, convnet with 2 BatchNormalization layers, global batch 64, 3,200 MNIST images`);
console.log(`plain model.fit (1 process):        ${f(fit)} samples/s`);
console.log(
  `2 workers, per-worker BN:           ${f(perWorker.rate)} samples/s = ${(perWorker.rate / fit).toFixed(2)}x fit; ` +
    `per round compute ${perWorker.compute.toFixed(1)} ms, transfer ${perWorker.transfer.toFixed(1)} ms`,
);
console.log(
  `2 workers, syncBatchNorm:           ${f(synced.rate)} samples/s = ${(synced.rate / fit).toFixed(2)}x fit; ` +
    `per round compute (reduces included) ${synced.compute.toFixed(1)} ms, transfer ${synced.transfer.toFixed(1)} ms`,
);
console.log(`syncBatchNorm / per-worker BN:      ${(synced.rate / perWorker.rate).toFixed(2)}x`);
