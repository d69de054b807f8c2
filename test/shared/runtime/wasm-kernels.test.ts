/**
 * tensorfleet's wasm kernels against the tfjs cpu backend: every gradient is computed on both
 * backends from the same numbers and compared, so a wrong kernel fails here.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, type BackendChoice } from '../../../shared/runtime/backend/select.ts';
import { builtinKernel } from '../../../shared/runtime/backend/wasm-kernels/builtins.ts';
import { registerWasmKernels } from '../../../shared/runtime/backend/wasm-kernels/index.ts';

/** Max-norm relative error: max |cpu - wasm| over max |cpu|, robust to near-zero elements. */
const REL_TOL = 1e-4;

const MISSING_IN_422 = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
];
const REPLACED = ['Conv2DBackpropInput', 'MaxPoolGrad', 'Tile'];

let choice: BackendChoice;

beforeAll(async () => {
  choice = await selectBackend('wasm');
});

/** Deterministic pseudo-random values (mulberry32), identical on every backend. */
function seeded(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  let s = seed >>> 0;
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    values[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return tf.tensor(values, shape);
}

interface Run {
  values: Float32Array[];
  shapes: number[][];
}

async function runOn(backend: 'cpu' | 'wasm', f: () => tf.Tensor[]): Promise<Run> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const run = { values: out.map((t) => new Float32Array(t.dataSync())), shapes: out.map((t) => t.shape) };
  tf.dispose(out);
  return run;
}

/** Computes f on cpu and on wasm and expects every output to agree within REL_TOL. */
async function expectSameOnBoth(label: string, f: () => tf.Tensor[]): Promise<void> {
  const cpu = await runOn('cpu', f);
  const wasm = await runOn('wasm', f);
  expect(wasm.shapes, label).toEqual(cpu.shapes);
  cpu.values.forEach((ref, i) => {
    const got = wasm.values[i] as Float32Array;
    let scale = 0;
    let diff = 0;
    for (let k = 0; k < ref.length; k++) {
      scale = Math.max(scale, Math.abs(ref[k] as number));
      diff = Math.max(diff, Math.abs((ref[k] as number) - (got[k] as number)));
    }
    expect(
      scale,
      `${label} output ${i}: the reference is all zeros, the comparison would prove nothing`,
    ).toBeGreaterThan(0);
    expect(diff / scale, `${label} output ${i}`).toBeLessThanOrEqual(REL_TOL);
  });
}

/**
 * Expects no tensor and no wasm buffer to survive computing `compute` 10 times on inputs made once.
 * Deliberately outside tf.tidy, which would hide a kernel that forgets to dispose an intermediate.
 */
async function expectNoLeak(make: () => tf.Tensor[], compute: (inputs: tf.Tensor[]) => tf.Tensor[]): Promise<void> {
  await tf.setBackend('wasm');
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const inputs = make();
  tf.dispose(compute(inputs)); // Warm-up: lazily created state (none expected) is not a leak.
  const tensors = tf.memory().numTensors;
  const buffers = backend.numDataIds();
  for (let i = 0; i < 10; i++) tf.dispose(compute(inputs));
  expect(tf.memory().numTensors).toBe(tensors);
  expect(backend.numDataIds()).toBe(buffers);
  tf.dispose(inputs);
}

type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
interface ConvCase {
  x: [number, number, number, number];
  k: [number, number];
  strides: number | [number, number];
  pad: Pad;
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 7, 7, 3], k: [3, 3], strides: 1, pad: 'valid' },
  { x: [2, 7, 7, 3], k: [3, 3], strides: 2, pad: 'same' },
  { x: [2, 9, 8, 3], k: [5, 5], strides: 1, pad: 'same' },
  { x: [2, 5, 5, 3], k: [1, 1], strides: 1, pad: 'valid' },
  { x: [2, 5, 5, 3], k: [1, 1], strides: 2, pad: 'valid' },
  { x: [1, 8, 8, 2], k: [3, 3], strides: 2, pad: 'valid' },
  { x: [2, 6, 7, 2], k: [2, 3], strides: [2, 3], pad: 'same' },
  {
    x: [1, 6, 5, 2],
    k: [3, 3],
    strides: 1,
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
];

const label = (c: ConvCase): string =>
  `x ${c.x.join('x')} k ${c.k.join('x')} s ${String(c.strides)} ${JSON.stringify(c.pad)}`;

/** Inputs and gradients of one case, split so leak checks can make the inputs once. */
interface GradCase {
  make(): tf.Tensor[];
  grads(inputs: tf.Tensor[]): tf.Tensor[];
}

const both = (g: GradCase) => (): tf.Tensor[] => g.grads(g.make());

function convCase(c: ConvCase, outC: number): GradCase {
  const conv = (x: tf.Tensor, f: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad);
  return {
    make: () =>
      tf.tidy(() => {
        const x = seeded(c.x, 1);
        const filter = seeded([c.k[0], c.k[1], c.x[3], outC], 2);
        return [x, filter, seeded(conv(x, filter).shape, 3)]; // a random output gradient, not ones
      }),
    grads: ([x, filter, w]) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), w as tf.Tensor)))([
        x as tf.Tensor,
        filter as tf.Tensor,
      ]),
  };
}

function depthwiseCase(c: ConvCase, multiplier: number): GradCase {
  const conv = (x: tf.Tensor, f: tf.Tensor) => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad);
  return {
    make: () =>
      tf.tidy(() => {
        const x = seeded(c.x, 4);
        const filter = seeded([c.k[0], c.k[1], c.x[3], multiplier], 5);
        return [x, filter, seeded(conv(x, filter).shape, 6)];
      }),
    grads: ([x, filter, w]) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), w as tf.Tensor)))([
        x as tf.Tensor,
        filter as tf.Tensor,
      ]),
  };
}

function maxPoolCase(x: () => tf.Tensor, size: number, strides: number, pad: 'valid' | 'same'): GradCase {
  const pool = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, size, strides, pad);
  return {
    make: () =>
      tf.tidy(() => {
        const input = x();
        return [input, seeded(pool(input).shape, 7, 0.5, 1.5)];
      }),
    grads: ([input, w]) => [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pool(a), w as tf.Tensor)))(input as tf.Tensor)],
  };
}

describe('registerWasmKernels', () => {
  it('registers the kernels wasm 4.22 lacks and replaces the two broken or slow ones', () => {
    expect(choice.tfBackend).toBe('wasm');
    expect([...choice.kernels].sort()).toEqual([...MISSING_IN_422, ...REPLACED].sort());
    for (const name of MISSING_IN_422) expect(builtinKernel(name), name).toBeUndefined();
    for (const name of REPLACED) expect(builtinKernel(name), name).toBeDefined();
  });

  it('is idempotent', () => {
    const before = choice.kernels.map((k) => tf.getKernel(k, 'wasm')?.kernelFunc);
    expect(registerWasmKernels()).toEqual([...choice.kernels]);
    expect(() => registerWasmKernels()).not.toThrow();
    expect(choice.kernels.map((k) => tf.getKernel(k, 'wasm')?.kernelFunc)).toEqual(before);
    for (const name of REPLACED)
      expect(builtinKernel(name)?.kernelFunc).not.toBe(tf.getKernel(name, 'wasm')?.kernelFunc);
  });
});

describe('every kernel, called directly outside any tidy', () => {
  const attrsOf = (a: object) => a as unknown as tf.NamedAttrMap;
  const same = { strides: 2, pad: 'same' };
  const calls: Array<{ name: string; make: () => tf.NamedTensorMap; attrs: tf.NamedAttrMap }> = [
    {
      name: 'Conv2DBackpropInput',
      make: () => ({ dy: seeded([2, 3, 3, 4], 30), filter: seeded([3, 3, 3, 4], 31) }),
      attrs: attrsOf({ ...same, dataFormat: 'NHWC', inputShape: [2, 5, 5, 3] }),
    },
    {
      name: 'Conv2DBackpropFilter',
      make: () => ({ x: seeded([2, 5, 5, 3], 32), dy: seeded([2, 3, 3, 4], 33) }),
      attrs: attrsOf({ ...same, dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] }),
    },
    {
      name: 'DepthwiseConv2dNativeBackpropInput',
      make: () => ({ dy: seeded([2, 3, 3, 6], 34), filter: seeded([3, 3, 3, 2], 35) }),
      attrs: attrsOf({ ...same, dilations: 1, inputShape: [2, 5, 5, 3] }),
    },
    {
      name: 'DepthwiseConv2dNativeBackpropFilter',
      make: () => ({ x: seeded([2, 5, 5, 3], 36), dy: seeded([2, 3, 3, 6], 37) }),
      attrs: attrsOf({ ...same, dilations: 1, filterShape: [3, 3, 3, 2] }),
    },
    {
      name: 'MaxPoolGrad',
      make: () => ({ dy: seeded([2, 3, 3, 3], 38), input: seeded([2, 5, 5, 3], 39), output: seeded([2, 3, 3, 3], 40) }),
      attrs: attrsOf({ filterSize: 2, ...same }),
    },
    {
      name: 'UnsortedSegmentSum',
      make: () => ({ x: seeded([5, 3], 41), segmentIds: tf.tensor1d([3, 0, 3, 1, 9], 'int32') }),
      attrs: attrsOf({ numSegments: 4 }),
    },
    { name: 'Tile', make: () => ({ x: seeded([2, 1, 3], 42) }), attrs: attrsOf({ reps: [2, 3, 1] }) },
  ];
  for (const { name, make, attrs } of calls) {
    it(`${name} returns one new tensor and frees every intermediate`, async () => {
      await tf.setBackend('wasm');
      const backend = tf.backend() as unknown as { numDataIds(): number };
      const inputs = make();
      tf.dispose(tf.engine().runKernel(name, inputs, attrs) as tf.Tensor);
      const tensors = tf.memory().numTensors;
      const buffers = backend.numDataIds();
      for (let i = 0; i < 10; i++) {
        const out = tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;
        expect(tf.memory().numTensors).toBe(tensors + 1);
        expect(backend.numDataIds()).toBe(buffers + 1);
        out.dispose();
      }
      expect(tf.memory().numTensors).toBe(tensors);
      expect(backend.numDataIds()).toBe(buffers);
      tf.dispose(inputs);
    });
  }
});

describe('Conv2D gradients (Conv2DBackpropInput, Conv2DBackpropFilter)', () => {
  for (const c of CONV_CASES) {
    it(`match cpu: ${label(c)}`, async () => {
      await expectSameOnBoth(label(c), both(convCase(c, 4)));
    });
  }

  it('leak no tensors', async () => {
    const g = convCase({ x: [2, 7, 7, 3], k: [3, 3], strides: 2, pad: 'same' }, 4);
    await expectNoLeak(g.make, g.grads);
  });

  it('refuse NCHW with a clear error', async () => {
    await tf.setBackend('wasm');
    const dy = tf.zeros([1, 2, 3, 3]);
    const filter = tf.zeros([3, 3, 2, 2]);
    const attrs = {
      strides: 1,
      pad: 'valid',
      dataFormat: 'NCHW',
      inputShape: [1, 2, 5, 5],
    } as unknown as tf.NamedAttrMap;
    expect(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs)).toThrow(/NHWC.*Received: 'NCHW'/);
    tf.dispose([dy, filter]);
  });
});

describe('DepthwiseConv2dNative gradients', () => {
  for (const c of CONV_CASES) {
    for (const multiplier of [1, 2]) {
      it(`match cpu: ${label(c)} multiplier ${multiplier}`, async () => {
        await expectSameOnBoth(`${label(c)} m${multiplier}`, both(depthwiseCase(c, multiplier)));
      });
    }
  }

  it('leak no tensors', async () => {
    const g = depthwiseCase({ x: [2, 7, 7, 3], k: [3, 3], strides: 2, pad: 'same' }, 2);
    await expectNoLeak(g.make, g.grads);
  });

  it('refuse dilations > 1 with a clear error', async () => {
    await tf.setBackend('wasm');
    const dy = tf.zeros([1, 1, 1, 2]);
    const filter = tf.zeros([3, 3, 2, 1]);
    const attrs = { strides: 1, pad: 'valid', dilations: 2, inputShape: [1, 5, 5, 2] } as unknown as tf.NamedAttrMap;
    expect(() => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, attrs)).toThrow(
      /dilations of 1 only/,
    );
    tf.dispose([dy, filter]);
  });
});

describe('MaxPoolGrad', () => {
  const cases: Array<[number[], number, number, 'valid' | 'same']> = [
    [[2, 6, 6, 3], 2, 2, 'valid'],
    [[2, 7, 7, 3], 3, 2, 'same'],
    [[1, 5, 5, 2], 3, 1, 'same'],
    [[2, 5, 7, 3], 2, 2, 'same'],
  ];
  for (const [shape, size, strides, pad] of cases) {
    it(`matches cpu: x ${shape.join('x')} pool ${size} stride ${strides} ${pad}`, async () => {
      await expectSameOnBoth('maxPool', both(maxPoolCase(() => seeded(shape, 8), size, strides, pad)));
    });
  }

  it('built-in wasm MaxPoolGrad loses the gradient of all-negative windows (why it is replaced)', async () => {
    await tf.setBackend('wasm');
    const builtin = builtinKernel('MaxPoolGrad');
    if (builtin === undefined) throw new Error('Expected the built-in MaxPoolGrad to be kept');
    const input = seeded([1, 4, 4, 2], 9, -2, -0.1);
    const output = tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid');
    const dy = tf.onesLike(output);
    const attrs = { filterSize: 2, strides: 2, pad: 'valid' } as unknown as tf.NamedAttrMap;
    const info = builtin.kernelFunc({ inputs: { dy, input, output }, attrs, backend: tf.backend() }) as tf.TensorInfo;
    const dx = tf.engine().makeTensorFromTensorInfo(info);
    // 4 windows x 2 channels should each pass on a 1; the built-in routes them all to element 0,
    // where only the window that contains element 0 matches, so 7 of the 8 are lost.
    expect(tf.sum(dx).dataSync()[0]).toBe(1);
    expect(dx.dataSync()[0]).toBe(1);
    tf.dispose([input, output, dy, dx]);
  });

  it('routes the gradient of all-negative and tied windows like cpu', async () => {
    await expectSameOnBoth('all-negative', both(maxPoolCase(() => seeded([2, 6, 6, 3], 10, -3, -0.5), 2, 2, 'valid')));
    await expectSameOnBoth('all-tied', both(maxPoolCase(() => tf.fill([1, 5, 5, 2], -1), 3, 1, 'same')));
    const dx = await runOn('wasm', both(maxPoolCase(() => seeded([1, 4, 4, 2], 11, -2, -0.1), 2, 2, 'valid')));
    expect(dx.values[0]?.filter((v) => v !== 0).length).toBe(8); // one winner per window and channel
  });

  it('leaks no tensors', async () => {
    const g = maxPoolCase(() => seeded([2, 7, 7, 3], 12), 3, 2, 'same');
    await expectNoLeak(g.make, g.grads);
  });
});

describe('UnsortedSegmentSum', () => {
  it('matches cpu for float32 and int32 values, repeated and empty segments', async () => {
    await expectSameOnBoth('float', () => [
      tf.unsortedSegmentSum(seeded([6, 3], 13), tf.tensor1d([0, 2, 2, 4, 0, 1], 'int32'), 6),
    ]);
    await expectSameOnBoth('int', () => [
      tf.unsortedSegmentSum(
        tf.tensor2d(
          [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
          undefined,
          'int32',
        ),
        tf.tensor1d([1, 1, 0], 'int32'),
        3,
      ),
    ]);
  });

  it('gives tf.gather the gradient of cpu (Embedding lookups, axis 0 and 1)', async () => {
    const idx = (): tf.Tensor =>
      tf.tensor2d(
        [
          [1, 4, 1, 0, 6],
          [6, 6, 2, 1, 3],
        ],
        undefined,
        'int32',
      );
    await expectSameOnBoth('gather axis 0', () => {
      const params = seeded([7, 3], 14);
      const w = seeded([2, 5, 3], 15);
      return [tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, idx()), w)))(params)];
    });
    await expectSameOnBoth('gather axis 1', () => {
      const params = seeded([2, 7, 3], 16);
      const w = seeded([2, 2, 5, 3], 17);
      return [tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, idx(), 1), w)))(params)];
    });
  });

  it('leaks no tensors', async () => {
    await expectNoLeak(
      () => [seeded([4, 3], 18), tf.tensor1d([0, 2, 2], 'int32')],
      ([params, ids]) => [tf.grad((p: tf.Tensor) => tf.sum(tf.gather(p, ids as tf.Tensor)))(params as tf.Tensor)],
    );
  });
});

describe('Tile', () => {
  it('matches cpu for every rank, reps of 1 and more, and float32, int32 and bool', async () => {
    const cases: [number[], number[]][] = [
      [[5], [3]],
      [
        [1, 1, 1, 4],
        [2, 3, 5, 1],
      ],
      [
        [2, 3, 1, 2],
        [1, 2, 4, 3],
      ],
      [
        [3, 2],
        [1, 1],
      ],
      [
        [2, 2, 2, 2, 2],
        [2, 1, 3, 1, 2],
      ],
      [
        [0, 3],
        [2, 2],
      ],
    ];
    for (const [shape, reps] of cases) {
      const label = `[${shape}] x [${reps}]`;
      if (shape.includes(0)) {
        await expectSameOnBoth(label, () => [
          tf
            .tile(tf.zeros(shape), reps)
            .reshape([-1])
            .concat(tf.ones([1])),
        ]);
        continue;
      }
      await expectSameOnBoth(`${label} float32`, () => [tf.tile(seeded(shape, 20), reps)]);
      await expectSameOnBoth(`${label} int32`, () => [
        tf.tile(tf.cast(tf.mul(seeded(shape, 21), 100), 'int32'), reps).toFloat(),
      ]);
      await expectSameOnBoth(`${label} bool`, () => [
        tf
          .tile(tf.greater(seeded(shape, 22), 0), reps)
          .toFloat()
          .add(1),
      ]);
    }
    await expectSameOnBoth('scalar', () => [tf.tile(tf.scalar(3), [])]);
  });

  it('gives BatchNormalization, which tiles its statistics, the gradients of cpu', async () => {
    await expectSameOnBoth('bn', () => {
      const x = seeded([4, 5, 5, 3], 23);
      const bn = tf.layers.batchNormalization({});
      return [
        tf.grad((v: tf.Tensor) =>
          tf.sum(tf.mul(bn.apply(v, { training: true }) as tf.Tensor, seeded([4, 5, 5, 3], 24))),
        )(x),
      ];
    });
  });
});

/** Loss gradients of every trainable weight of a freshly built, identically seeded model. */
function modelGrads(build: () => tf.LayersModel, x: () => tf.Tensor, labels: () => tf.Tensor): () => tf.Tensor[] {
  return () => {
    const model = build();
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const xs = x();
    const ys = labels();
    const { grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar,
      vars,
    );
    const out = vars.map((v) => grads[v.name] as tf.Tensor);
    model.dispose();
    return out;
  };
}

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

describe('Keras layers train on wasm', () => {
  it('conv stack (Conv2D, BatchNormalization, MaxPooling2D, SeparableConv2D, DepthwiseConv2D, Dense): same gradients as cpu', async () => {
    const build = (): tf.LayersModel => {
      const m = tf.sequential();
      m.add(
        tf.layers.conv2d({
          inputShape: [9, 9, 2],
          filters: 4,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: init(1),
        }),
      );
      m.add(tf.layers.batchNormalization());
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(
        tf.layers.separableConv2d({
          filters: 3,
          kernelSize: 3,
          depthMultiplier: 2,
          depthwiseInitializer: init(2),
          pointwiseInitializer: init(3),
        }),
      );
      m.add(
        tf.layers.depthwiseConv2d({
          kernelSize: 2,
          strides: 1,
          padding: 'same',
          activation: 'tanh',
          depthwiseInitializer: init(4),
        }),
      );
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 3, kernelInitializer: init(5) }));
      return m;
    };
    await expectSameOnBoth(
      'conv stack',
      modelGrads(
        build,
        () => seeded([4, 9, 9, 2], 19),
        () => tf.oneHot(tf.tensor1d([0, 2, 1, 2], 'int32'), 3),
      ),
    );
  });

  it('text stack (Embedding, LSTM, Dense): same gradients as cpu', async () => {
    const build = (): tf.LayersModel => {
      const m = tf.sequential();
      m.add(
        tf.layers.embedding({
          inputDim: 11,
          outputDim: 4,
          inputLength: 5,
          embeddingsInitializer: tf.initializers.randomUniform({ seed: 6 }),
        }),
      );
      m.add(tf.layers.lstm({ units: 3, kernelInitializer: init(7), recurrentInitializer: init(8) }));
      m.add(tf.layers.dense({ units: 2, kernelInitializer: init(9) }));
      return m;
    };
    const tokens = (): tf.Tensor =>
      tf.tensor2d([
        [1, 5, 5, 0, 10],
        [3, 3, 7, 2, 1],
        [9, 1, 4, 4, 6],
      ]);
    await expectSameOnBoth(
      'text stack',
      modelGrads(build, tokens, () => tf.oneHot(tf.tensor1d([0, 1, 1], 'int32'), 2)),
    );
  });

  it('a Conv2D + MaxPooling2D + Dense model.fit lowers the loss', async () => {
    await tf.setBackend('wasm');
    const n = 32;
    const labels = Array.from({ length: n }, (_, i) => i % 2);
    // Class 0 lights the top-left quadrant, class 1 the bottom-right one, over seeded noise.
    const xs = tf.tidy(() => {
      const mask0 = tf.pad(tf.ones([4, 4, 1]), [
        [0, 4],
        [0, 4],
        [0, 0],
      ]);
      const mask1 = tf.pad(tf.ones([4, 4, 1]), [
        [4, 0],
        [4, 0],
        [0, 0],
      ]);
      const signal = tf.stack(labels.map((l) => (l === 0 ? mask0 : mask1)));
      return tf.add(signal, seeded([n, 8, 8, 1], 20, -0.5, 0.5));
    });
    const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 2);
    const model = tf.sequential();
    model.add(
      tf.layers.conv2d({
        inputShape: [8, 8, 1],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(10),
      }),
    );
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(11) }));
    model.compile({ optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy' });
    const history = await model.fit(xs, ys, { epochs: 6, batchSize: 16, shuffle: false, verbose: 0 });
    const losses = history.history.loss as number[];
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1) as number).toBeLessThan(0.8 * (losses[0] as number));
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
