/**
 * `npm run bench`: tensorfleet local with 1 and 2 workers against plain tfjs model.fit in one process,
 * same model, backend and global batch, measured side by side in one run and printed as ratios.
 * Also a per-round time breakdown, and the transport against raw ZeroMQ and memcpy.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as zmq from 'zeromq';
import { runLocal } from '../api/launcher.ts';
import type { PhaseTimes } from '../coordinator/training.ts';
import { selectBackend, type BackendRequest } from '../shared/runtime/backend/select.ts';
import { loadJob } from '../shared/model/job.ts';
import { makeOptimizer } from '../shared/model/keras/optimizers.ts';

const JOB = path.resolve(import.meta.dirname, 'jobs/mlp.ts');

async function plainFit(backend: BackendRequest): Promise<number> {
  await selectBackend(backend);
  const job = await loadJob(JOB);
  const { train } = await job.data();
  const model = job.model();
  model.compile({ optimizer: makeOptimizer(job.compile.optimizer), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const x = tf.tensor(train.x, [...train.xShape]);
  const y = tf.tensor(train.y, [...train.yShape]);
  const n = train.xShape[0] as number;
  await model.fit(x.slice(0, 640), y.slice(0, 640), { batchSize: job.fit.batchSize, epochs: 1, verbose: 0 }); // warm-up
  const t0 = performance.now();
  await model.fit(x, y, { batchSize: job.fit.batchSize, epochs: 1, verbose: 0 });
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([x, y]);
  return n / seconds;
}

async function cluster(backend: BackendRequest, workers: number): Promise<{ rate: number; times: PhaseTimes }> {
  const r = await runLocal({ job: JOB, workers, backend, metricsHost: '127.0.0.1', metricsPort: 0, heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 30_000, joinTimeoutMs: 120_000, quiet: true });
  // Skip nothing: the first rounds include worker warm-up, which model.fit's warm-up run excluded,
  // so this slightly understates tensorfleet.
  return { rate: (r.times.rounds * 64) / r.times.total, times: r.times };
}

async function zmqRoundTrip(bytes: number, iters: number): Promise<number> {
  const router = new zmq.Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(router.lastEndpoint as string);
  const payload = Buffer.alloc(bytes, 1);
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) {
    await dealer.send(payload);
    const [id, msg] = await router.receive();
    await router.send([id as Buffer, msg as Buffer]);
    await dealer.receive();
  }
  const ms = (performance.now() - t0) / iters;
  dealer.close();
  router.close();
  return ms;
}

function memcpy(bytes: number, iters: number): number {
  const a = new Float32Array(bytes / 4).fill(1);
  const b = new Float32Array(bytes / 4);
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) b.set(a);
  return (performance.now() - t0) / iters;
}

const ms = (s: number, rounds: number) => `${((s / rounds) * 1000).toFixed(2)} ms`;

/**
 * Runs the benchmark and prints ratios. `--backend X` picks one backend; by default wasm, and then the
 * native tensorflow backend too when `tensorfleet setup native` has built it.
 */
export async function runBench(argv: readonly string[]): Promise<void> {
  const i = argv.indexOf('--backend');
  if (i >= 0) return benchBackend(argv[i + 1] as BackendRequest);
  await benchBackend('wasm');
  const require = createRequire(import.meta.url);
  const stamp = (() => { try { return path.join(path.dirname(require.resolve('@tensorflow/tfjs-node/package.json')), 'deps', 'tensorfleet-native.json'); } catch { return ''; } })();
  if (stamp && existsSync(stamp)) await benchBackend('tensorflow');
  else process.stdout.write('(native tensorflow backend not built: run `npx tensorfleet setup native --from-pip` to bench it too)\n');
}

async function benchBackend(backend: BackendRequest): Promise<void> {
  const print = (s: string) => process.stdout.write(`${s}\n`);
  print(`tensorfleet bench: guide MLP (784-128-64-10), MNIST 6,400 images, global batch 64, backend ${backend}`);
  const plain = await plainFit(backend);
  const one = await cluster(backend, 1);
  const two = await cluster(backend, 2);
  print(`plain tfjs model.fit, 1 process : ${plain.toFixed(0)} samples/s`);
  print(`tensorfleet local, 1 worker     : ${one.rate.toFixed(0)} samples/s  = ${(one.rate / plain).toFixed(2)} x model.fit   (target >= 0.90)`);
  print(`tensorfleet local, 2 workers    : ${two.rate.toFixed(0)} samples/s  = ${(two.rate / plain).toFixed(2)} x model.fit, ${(two.rate / one.rate).toFixed(2)} x 1 worker   (target >= 1.60)`);
  for (const [name, r] of [['1 worker', one], ['2 workers', two]] as const) {
    const t = r.times;
    print(`per round, ${name}: total ${ms(t.total, t.rounds)} = compute ${ms(t.compute, t.rounds)} + exchange ${ms(t.exchange, t.rounds)} + control ${ms(t.control, t.rounds)}; pulls ${ms(t.pull, 1)} in all`);
  }
  const bytes = 109_386 * 4; // the MLP's parameters as float32
  const rt = await zmqRoundTrip(bytes, 200);
  const cp = memcpy(bytes, 2000);
  print(`raw ZeroMQ round trip of ${(bytes / 1024).toFixed(0)} KiB over loopback: ${rt.toFixed(3)} ms; memcpy of the same: ${cp.toFixed(3)} ms (zmq/memcpy ${(rt / cp).toFixed(0)}x)`);
  const transferPerRound = one.times.exchange / one.times.rounds * 1000;
  print(`tensorfleet transfer per round (1 worker) / raw ZeroMQ round trip: ${(transferPerRound / rt).toFixed(2)}x`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await runBench(process.argv.slice(2));
}
