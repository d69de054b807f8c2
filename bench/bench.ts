/**
 * `npm run bench`: the guide's MLP (all 60,000 MNIST images) and convnet (a fixed subset), each as plain
 * tfjs `model.fit` in one process and as tensorfleet at 1 and 2 workers (or `--workers 1,2,4,8`), side by
 * side in one run, medians of `--runs` (default 3), printed as ratios; with the bytes per step of each
 * role and where a step's time goes; the transport against raw ZeroMQ and memcpy; and, when the venv has
 * torch, PyTorch in one process and DDP (gloo) on the same models and global batch.
 *
 *   npm run bench                                   # wasm, then native tensorflow when it is built
 *   npx tsx bench/bench.ts --backend wasm --runs 3 --mlp-images 60000 --conv-images 1920
 *   npx tsx bench/bench.ts --workers 1,2,4,8        # scaling, on a host with the cores for it
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as zmq from 'zeromq';
import { runLocalJob } from '../api/launcher.ts';
import type { RunResult } from '../coordinator/run.ts';
import { makeOptimizer } from '../shared/model/keras/optimizers.ts';
import { loadJob } from '../shared/model/job.ts';
import { selectBackend, type BackendRequest } from '../shared/runtime/backend/select.ts';

const JOB = path.resolve(import.meta.dirname, 'jobs/guide.ts');
const ROOT = path.resolve(import.meta.dirname, '..');
const print = (s: string): void => void process.stdout.write(`${s}\n`);

interface Options {
  readonly backends: BackendRequest[];
  readonly workers: number[];
  readonly runs: number;
  readonly mlpImages: number;
  readonly convImages: number;
}

function parse(argv: readonly string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (name: string, d: number) => {
    const v = Number(get(name) ?? d);
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`Expected --${name} to be an integer >= 1. Received: ${get(name)}`);
    return v;
  };
  const workers = (get('workers') ?? '1,2').split(',').map(Number);
  if (workers.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`Expected --workers N[,N...]. Received: ${get('workers')}`);
  const backend = get('backend') as BackendRequest | undefined;
  return {
    backends: backend ? [backend] : nativeBuilt() ? ['wasm', 'tensorflow'] : ['wasm'],
    workers,
    runs: int('runs', 3),
    mlpImages: int('mlp-images', 60000),
    convImages: int('conv-images', 1920),
  };
}

function nativeBuilt(): boolean {
  try {
    const pkg = createRequire(import.meta.url).resolve('@tensorflow/tfjs-node/package.json');
    return existsSync(path.join(path.dirname(pkg), 'deps', 'tensorfleet-native.json'));
  } catch {
    return false;
  }
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Samples per second of one timed epoch of plain model.fit, after an untimed warm-up of 640 images. */
async function plainFit(args: { model: string; images: number }): Promise<number> {
  const job = await loadJob(JOB, args);
  const { train } = await job.data();
  const model = job.model();
  model.compile({
    optimizer: makeOptimizer(job.compile.optimizer),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
  });
  const x = tf.tensor(train.x, [...train.xShape]);
  const y = tf.tensor(train.y, [...train.yShape]);
  await model.fit(x.slice(0, 640), y.slice(0, 640), { batchSize: 64, epochs: 1, verbose: 0 });
  const t0 = performance.now();
  await model.fit(x, y, { batchSize: 64, epochs: 1, verbose: 0, shuffle: false });
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([x, y]);
  model.dispose();
  return (train.xShape[0] as number) / seconds;
}

/** One tensorfleet run; the rate counts the rounds only (worker start-up and the first pull are excluded). */
async function cluster(
  backend: BackendRequest,
  workers: number,
  args: { model: string; images: number },
): Promise<RunResult> {
  const job = await loadJob(JOB, args);
  return runLocalJob(
    job,
    { path: JOB, args },
    {
      job: JOB,
      workers,
      backend,
      metricsHost: '127.0.0.1',
      metricsPort: 0,
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 60_000,
      joinTimeoutMs: 120_000,
      quiet: true,
    },
  );
}

const rateOf = (r: RunResult) => (r.times.rounds * 64) / r.times.total;

async function benchModel(backend: BackendRequest, o: Options, args: { model: string; images: number }): Promise<void> {
  print(`\n${args.model}, ${args.images} MNIST images, global batch 64, backend ${backend}, median of ${o.runs}`);
  await selectBackend(backend);
  const fit: number[] = [];
  const runs = new Map<number, RunResult[]>(o.workers.map((n) => [n, []]));
  // Interleaved, so that drift in the machine's load spreads over every configuration.
  for (let i = 0; i < o.runs; i++) {
    fit.push(await plainFit(args));
    for (const n of o.workers) runs.get(n)?.push(await cluster(backend, n, args));
  }
  const base = median(fit);
  print(`  plain tfjs model.fit        ${base.toFixed(0).padStart(7)} samples/s   1.00x`);
  const one = runs.get(o.workers[0] as number) ?? [];
  const oneRate = median(one.map(rateOf));
  for (const n of o.workers) {
    const rs = runs.get(n) ?? [];
    const rate = median(rs.map(rateOf));
    const vsOne = n === o.workers[0] ? '' : `, ${(rate / oneRate).toFixed(2)}x of ${o.workers[0]} worker(s)`;
    print(
      `  tensorfleet, ${String(n).padStart(2)} worker(s)   ${rate.toFixed(0).padStart(7)} samples/s   ` +
        `${(rate / base).toFixed(2)}x model.fit${vsOne}`,
    );
    const r = rs[Math.floor(rs.length / 2)] as RunResult;
    const t = r.times;
    const ms = (s: number) => `${((s / t.rounds) * 1000).toFixed(2)} ms`;
    print(
      `      per step: ${ms(t.total)} = compute ${ms(t.compute)} + exchange ${ms(t.exchange)} ` +
        `+ control ${ms(t.control)}; pulls ${(t.pull * 1000).toFixed(0)} ms in all`,
    );
    const w = r.traffic.workers[0];
    print(
      `      bytes per step: coordinator ${r.traffic.coordinatorBytesPerStep}, ` +
        `each worker's exchange ${w?.sentPerStep ?? 0} out / ${w?.receivedPerStep ?? 0} in`,
    );
  }
}

async function zmqOneWay(bytes: number, iters: number): Promise<number> {
  const router = new zmq.Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(router.lastEndpoint as string);
  const payload = Buffer.alloc(bytes, 1);
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await dealer.send(payload);
    await router.receive();
    times.push(performance.now() - t0);
  }
  dealer.close();
  router.close();
  return median(times);
}

function memcpy(bytes: number, iters: number): number {
  const a = new Float32Array(bytes / 4).fill(1);
  const b = new Float32Array(bytes / 4);
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    b.set(a);
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** PyTorch reference rows from bench/torch_ref.py, when the venv has torch. */
function torchRows(o: Options): void {
  const python = path.join(ROOT, '.venv/bin/python');
  if (!existsSync(python))
    return print('\n(PyTorch rows skipped: no .venv; `pip install torch==2.13.0` into it to add them)');
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return print('\n(PyTorch rows skipped: the venv has no torch; `.venv/bin/pip install torch==2.13.0`)');
  }
  print('\nPyTorch on the same cores (synthetic MNIST-shaped data, global batch 64, DDP with gloo, 1 thread each):');
  for (const [model, images] of [
    ['mlp', o.mlpImages],
    ['convnet', o.convImages],
  ] as const) {
    const out = execFileSync(
      python,
      [path.join(ROOT, 'bench/torch_ref.py'), '--model', model, '--images', String(images), '--runs', String(o.runs)],
      { encoding: 'utf8' },
    );
    const rows = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { mode: string; procs: number; samples_per_s: number });
    const single = rows.find((r) => r.mode === 'single')?.samples_per_s ?? NaN;
    for (const r of rows) {
      const ratio = r.mode === 'single' ? '1.00x' : `${(r.samples_per_s / single).toFixed(2)}x of one process`;
      const how = r.mode === 'single' ? 'one process' : `DDP ${r.procs} procs`;
      print(`  ${model.padEnd(8)} ${how}   ${r.samples_per_s.toFixed(0).padStart(7)} samples/s   ${ratio}`);
    }
  }
}

/** Runs the benchmark and prints ratios. */
export async function runBench(argv: readonly string[]): Promise<void> {
  const o = parse(argv);
  for (const backend of o.backends) {
    await benchModel(backend, o, { model: 'mlp', images: o.mlpImages });
    await benchModel(backend, o, { model: 'convnet', images: o.convImages });
  }
  if (!o.backends.includes('tensorflow'))
    print('\n(native tensorflow backend not built: `npx tensorfleet setup native --from-pip` adds its rows)');
  const bytes = 109_386 * 4; // the MLP's parameters as float32
  const zmqMs = await zmqOneWay(bytes, 200);
  const cpMs = memcpy(bytes, 2000);
  print(
    `\nraw ZeroMQ, ${(bytes / 1024).toFixed(0)} KiB one way over loopback: ${zmqMs.toFixed(3)} ms; ` +
      `memcpy of the same: ${cpMs.toFixed(3)} ms (${(zmqMs / cpMs).toFixed(0)}x)`,
  );
  torchRows(o);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await runBench(process.argv.slice(2));
}
