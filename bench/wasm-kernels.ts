/**
 * Micro-benchmark of tensorfleet's wasm kernels against the built-in ones they replace, on the
 * shapes of the Keras-guide MNIST convnet (batch 64), plus that convnet's full train step.
 *
 *   npx tsx bench/wasm-kernels.ts [--reps 20] [--steps 10]
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../shared/runtime/backend/select.ts';
import { builtinKernel } from '../shared/runtime/backend/wasm-kernels/builtins.ts';

const BATCH = 64;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** Milliseconds per call of `run`, after two warm-up calls (XNNPACK builds operators on first use). */
function msPerCall(run: () => void, reps: number): number {
  run();
  run();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  return (performance.now() - t0) / reps;
}

/** Times one kernel config on fixed inputs; the output is freed after every call. */
function timeKernel(
  config: tf.KernelConfig,
  inputs: tf.NamedTensorMap,
  attrs: tf.NamedAttrMap,
  reps: number,
): { ms: number; out: Float32Array } {
  const backend = tf.backend() as BackendWasm;
  const call = (): tf.TensorInfo => {
    const out = config.kernelFunc({ inputs, attrs, backend });
    return Array.isArray(out) ? (out[0] as tf.TensorInfo) : out;
  };
  const ms = msPerCall(() => backend.disposeData(call().dataId), reps);
  const info = call();
  const out = new Float32Array(backend.typedArrayFromHeap(info));
  backend.disposeData(info.dataId);
  return { ms, out };
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(a[i] as number));
  }
  return a.length === b.length ? diff / (scale || 1) : Number.POSITIVE_INFINITY;
}

interface ConvCase {
  label: string;
  input: [number, number, number, number];
  filter: [number, number, number, number];
  strides?: number;
  pad?: 'valid' | 'same';
}

// The three Conv2D layers of the Keras-guide convnet (valid padding, stride 1).
const CONVS: ConvCase[] = [
  { label: 'conv1 28x28x1 -> 26x26x32', input: [BATCH, 28, 28, 1], filter: [3, 3, 1, 32] },
  { label: 'conv2 13x13x32 -> 11x11x64', input: [BATCH, 13, 13, 32], filter: [3, 3, 32, 64] },
  { label: 'conv3 5x5x64 -> 3x3x64', input: [BATCH, 5, 5, 64], filter: [3, 3, 64, 64] },
];

// Not in the guide convnet: a strided 'same' conv, where the composition spreads dy with zeros.
const STRIDED: ConvCase = {
  label: 's2 same 14x14x32 -> 7x7x64',
  input: [BATCH, 14, 14, 32],
  filter: [3, 3, 32, 64],
  strides: 2,
  pad: 'same',
};

/** dy's shape for a case, from the forward conv's own shape rules. */
function dyShape(c: ConvCase): [number, number, number, number] {
  const info = tf.backend_util.computeConv2DInfo(c.input, c.filter, c.strides ?? 1, 1, c.pad ?? 'valid');
  return [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
}

function benchConvBackpropInput(reps: number): void {
  const builtin = builtinKernel('Conv2DBackpropInput');
  const ours = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (builtin === undefined || ours === undefined)
    throw new Error('Expected both the built-in and the tensorfleet Conv2DBackpropInput');
  console.log('\nConv2DBackpropInput, ms per call (batch 64)');
  console.log('  shape                          built-in  tensorfleet   speed-up   max rel diff');
  for (const c of [...CONVS, STRIDED]) {
    const dy = tf.randomNormal(dyShape(c), 0, 1, 'float32', 1);
    const filter = tf.randomNormal(c.filter, 0, 0.1, 'float32', 2);
    const attrs = {
      strides: c.strides ?? 1,
      pad: c.pad ?? 'valid',
      dataFormat: 'NHWC',
      inputShape: c.input,
    } as unknown as tf.NamedAttrMap;
    const a = timeKernel(builtin, { dy, filter }, attrs, reps);
    const b = timeKernel(ours, { dy, filter }, attrs, reps);
    const row =
      `${c.label.padEnd(30)} ${a.ms.toFixed(2).padStart(9)} ${b.ms.toFixed(2).padStart(12)} ` +
      `${(a.ms / b.ms).toFixed(1).padStart(9)}x`;
    console.log(`  ${row} ${maxRelDiff(a.out, b.out).toExponential(1).padStart(14)}`);
    tf.dispose([dy, filter]);
  }
}

function benchOthers(reps: number): void {
  console.log('\nOther kernels, ms per call (batch 64)');
  for (const c of CONVS) {
    const x = tf.randomNormal(c.input, 0, 1, 'float32', 3);
    const dy = tf.randomNormal(dyShape(c), 0, 1, 'float32', 4);
    const attrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: c.filter } as unknown as tf.NamedAttrMap;
    const ours = tf.getKernel('Conv2DBackpropFilter', 'wasm');
    if (ours === undefined) throw new Error('Expected tensorfleet Conv2DBackpropFilter');
    console.log(
      `  Conv2DBackpropFilter ${c.label.padEnd(30)} ${timeKernel(ours, { x, dy }, attrs, reps).ms.toFixed(2)}`,
    );
    tf.dispose([x, dy]);
  }
  for (const name of ['DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter']) {
    const kernel = tf.getKernel(name, 'wasm');
    if (kernel === undefined) throw new Error(`Expected tensorfleet ${name}`);
    const x = tf.randomNormal([BATCH, 16, 16, 64], 0, 1, 'float32', 9);
    const dy = tf.randomNormal([BATCH, 16, 16, 64], 0, 1, 'float32', 10);
    const filter = tf.randomNormal([3, 3, 64, 1], 0, 0.1, 'float32', 11);
    const attrs = {
      strides: 1,
      pad: 'same',
      dilations: 1,
      inputShape: x.shape,
      filterShape: filter.shape,
    } as unknown as tf.NamedAttrMap;
    console.log(`  ${name} 3x3 same on 16x16x64: ${timeKernel(kernel, { x, dy, filter }, attrs, reps).ms.toFixed(2)}`);
    tf.dispose([x, dy, filter]);
  }
  const builtin = builtinKernel('MaxPoolGrad');
  const ours = tf.getKernel('MaxPoolGrad', 'wasm');
  if (builtin === undefined || ours === undefined)
    throw new Error('Expected both the built-in and the tensorfleet MaxPoolGrad');
  for (const [h, c] of [
    [26, 32],
    [11, 64],
  ] as const) {
    const input = tf.randomNormal([BATCH, h, h, c], 0, 1, 'float32', 5);
    const output = tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid');
    const dy = tf.randomNormal(output.shape, 0, 1, 'float32', 6);
    const attrs = { filterSize: 2, strides: 2, pad: 'valid' } as unknown as tf.NamedAttrMap;
    const a = timeKernel(builtin, { dy, input, output }, attrs, reps).ms;
    const b = timeKernel(ours, { dy, input, output }, attrs, reps).ms;
    console.log(
      `  MaxPoolGrad 2x2 on ${h}x${h}x${c}: built-in ${a.toFixed(2)}, tensorfleet ${b.toFixed(2)} ` +
        '(built-in is wrong on all-negative windows)',
    );
    tf.dispose([input, output, dy]);
  }
}

/** The convnet of the TensorFlow/Keras guide: three 3x3 convs, two 2x2 max pools, two dense layers. */
function guideConvnet(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 64, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  return model;
}

async function samplesPerSecond(model: tf.Sequential, xs: tf.Tensor, ys: tf.Tensor, steps: number): Promise<number> {
  await model.trainOnBatch(xs, ys);
  await model.trainOnBatch(xs, ys);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await model.trainOnBatch(xs, ys);
  return (steps * BATCH) / ((performance.now() - t0) / 1000);
}

/** Runs `body` with the built-in kernel of `name` registered in place of tensorfleet's. */
async function withBuiltin<T>(name: string, body: () => Promise<T>): Promise<T> {
  const builtin = builtinKernel(name);
  const ours = tf.getKernel(name, 'wasm');
  if (builtin === undefined || ours === undefined) throw new Error(`Expected both kernels for ${name}`);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel(builtin);
  try {
    return await body();
  } finally {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(ours);
  }
}

async function benchTrainStep(steps: number): Promise<void> {
  const model = guideConvnet();
  const xs = tf.randomUniform([BATCH, 28, 28, 1], 0, 1, 'float32', 7);
  const ys = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32', 8) as tf.Tensor1D, 10);
  const ours = await samplesPerSecond(model, xs, ys, steps);
  const builtin = await withBuiltin('Conv2DBackpropInput', () => samplesPerSecond(model, xs, ys, steps));
  console.log(`\nKeras-guide convnet train step on wasm, batch ${BATCH}, ${steps} steps`);
  console.log(
    `  with tensorfleet kernels:             ${ours.toFixed(0)} samples/s (${((1000 * BATCH) / ours).toFixed(1)} ms/step)`,
  );
  console.log(
    `  with built-in Conv2DBackpropInput:    ${builtin.toFixed(0)} samples/s (${((1000 * BATCH) / builtin).toFixed(1)} ms/step)`,
  );
  tf.dispose([xs, ys]);
  model.dispose();
}

async function main(): Promise<void> {
  const choice = await selectBackend('wasm');
  console.log(`backend ${choice.tfBackend}; tensorfleet kernels: ${choice.kernels.join(', ')}`);
  benchConvBackpropInput(flag('reps', 20));
  benchOthers(flag('reps', 20));
  await benchTrainStep(flag('steps', 10));
}

await main();
