/**
 * The native TensorFlow backend built by `tensorfleet setup native` (docs/native.md).
 *
 * The flag and state checks always run. The rest needs the built addon: it is skipped only when the
 * setup has not been run in this checkout (no deps/tensorfleet-native.json stamp), and the skip
 * reason is printed. CI runs the setup in .ci/steps/40-native.sh.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { isFleetError } from '../../shared/runtime/errors.ts';
import { sourceKey } from '../../cli/native/setup.ts';
import { parseNativeArgs } from '../../cli/native/spec.ts';
import { nativeSetupState, readStamp } from '../../cli/native/state.ts';
import { JOBS } from '../helpers/local.ts';
import { killAll, startCli, type Proc } from '../helpers/procs.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const stamp = readStamp(ROOT, 'cpu');
const state = nativeSetupState(ROOT, 'cpu');
// Skipped only when the setup never ran here; a stamp whose addon has gone makes the tests fail.
const skipReason = stamp === null && !state.ready ? state.reason : null;
if (skipReason !== null) process.stderr.write(`[native.test] native backend tests skipped: ${skipReason}\n`);

describe('setup native flags', () => {
  it('defaults to the pinned pip wheel and takes one explicit source', () => {
    const spec = parseNativeArgs(['--root', ROOT], {});
    if (spec === 'help') throw new Error('unexpected help');
    expect(spec.source).toEqual({ kind: 'pip' });
    expect(spec.sourceExplicit).toBe(false);
    expect(spec.flavour).toBe('cpu');
    expect(sourceKey(spec.source, 'cpu')).toMatch(/^pip:tensorflow-cpu==2\.\d+\.\d+$/);
    const gpu = parseNativeArgs(['--from-pip', '--gpu'], { npm_config_nodedir: '/opt/node' });
    if (gpu === 'help') throw new Error('unexpected help');
    expect(gpu.sourceExplicit).toBe(true);
    expect(gpu.flavour).toBe('gpu');
    expect(gpu.hints.nodeDir).toBe('/opt/node');
  });

  it.each([
    [['--from-pip', '--from-wheel', 'x.whl'], /Expected at most one of --from-pip, --from-wheel, --from-tarball/],
    [
      ['--from-wheel', '/nonexistent/tf.whl'],
      /Expected --from-wheel to name an existing \.whl file\. Received: "\/nonexistent\/tf\.whl"/,
    ],
    [['--from-tarball', 'lib.zip'], /Expected --from-tarball to name an existing \.tar\.gz file/],
    [['--bogus'], /Expected setup native flags\. Received: Unknown option '--bogus'/],
    [['--root', '/nonexistent'], /Expected --root to be a project folder with a package.json/],
  ])('rejects %j', (argv, pattern) => {
    let caught: unknown;
    try {
      parseNativeArgs(argv, {});
    } catch (err) {
      caught = err;
    }
    expect(isFleetError(caught, 'FLEET_ERR_CONFIG')).toBe(true);
    expect((caught as Error).message).toMatch(pattern);
  });

  it('reports a root that was never set up as not ready, with the command to run', () => {
    const s = nativeSetupState(path.join(ROOT, 'test', 'fixtures'), 'cpu');
    expect(s.ready).toBe(false);
    if (!s.ready) expect(s.reason).toMatch(/native setup has not been run .*setup native --from-pip/);
  });
});

/** One layer of the Keras guide, in a model small enough to differentiate on both backends. */
interface LayerCase {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly layers: () => tf.layers.Layer[];
  /** BatchNormalization is checked on its training path (batch statistics); Dropout with training off. */
  readonly training: boolean;
}

const CASES: readonly LayerCase[] = [
  {
    name: 'Dense',
    inputShape: [4, 6],
    training: true,
    layers: () => [tf.layers.dense({ units: 5, activation: 'tanh', inputShape: [6] })],
  },
  {
    name: 'Conv2D',
    inputShape: [2, 8, 8, 3],
    training: true,
    layers: () => [tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'tanh', inputShape: [8, 8, 3] })],
  },
  {
    name: 'LSTM',
    inputShape: [2, 5, 3],
    training: true,
    layers: () => [tf.layers.lstm({ units: 4, inputShape: [5, 3] })],
  },
  {
    name: 'MaxPooling2D',
    inputShape: [2, 6, 6, 2],
    training: true,
    layers: () => [tf.layers.maxPooling2d({ poolSize: 2, inputShape: [6, 6, 2] })],
  },
  {
    name: 'BatchNormalization',
    inputShape: [8, 6],
    training: true,
    layers: () => [tf.layers.batchNormalization({ inputShape: [6] })],
  },
  {
    name: 'Dropout(off)',
    inputShape: [4, 6],
    training: false,
    layers: () => [tf.layers.dropout({ rate: 0.5, inputShape: [6] })],
  },
  {
    name: 'GlobalAveragePooling2D',
    inputShape: [2, 4, 4, 3],
    training: true,
    layers: () => [tf.layers.globalAveragePooling2d({ inputShape: [4, 4, 3] })],
  },
  {
    name: 'Flatten',
    inputShape: [2, 4, 4, 3],
    training: true,
    layers: () => [tf.layers.flatten({ inputShape: [4, 4, 3] })],
  },
];

/**
 * Gradients of sum(model(x) * r) with respect to x and every trainable weight, on the current backend.
 * x, r and the weights come from seeded generators in tfjs-core, so both backends see the same numbers.
 */
function gradients(c: LayerCase): Map<string, Float32Array> {
  const model = tf.sequential({ layers: c.layers() });
  // Positive weights keep BatchNormalization's variance usable; every weight differs by seed.
  tf.tidy(() =>
    model.setWeights(model.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.5, 1.5, 'float32', 100 + i))),
  );
  const x = tf.variable(tf.randomNormal([...c.inputShape], 0, 1, 'float32', 1));
  const named = tf.tidy(() => {
    const shape = (model.apply(x, { training: c.training }) as tf.Tensor).shape;
    const r = tf.randomNormal(shape, 0, 1, 'float32', 2);
    const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(model.apply(x, { training: c.training }) as tf.Tensor, r)) as tf.Scalar,
      [x, ...weights],
    );
    const byName: Record<string, tf.Tensor> = { x: grads[x.name]! };
    model.trainableWeights.forEach((w, i) => (byName[`${i}:${w.name.split('/').pop()}`] = grads[weights[i]!.name]!));
    return byName;
  });
  const out = new Map(Object.entries(named).map(([k, t]) => [k, t.dataSync() as Float32Array] as const));
  tf.dispose([x, ...Object.values(named)]);
  model.dispose();
  return out;
}

/** max |a - b| / max |b|: the error relative to the gradient's scale (elementwise ratios blow up near 0). */
function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

describe.skipIf(skipReason !== null)(
  `native tensorflow backend${skipReason === null ? '' : ` (skipped: ${skipReason})`}`,
  () => {
    const procs: Proc[] = [];
    afterAll(() => killAll(procs));

    it('setup native a second time changes nothing', async () => {
      const before = readStamp(ROOT, 'cpu');
      const addonMtime = statSync(before!.addon).mtimeMs;
      const p = startCli(['setup', 'native']);
      procs.push(p);
      const { code } = await p.exited;
      expect(code, p.stdout + p.stderr).toBe(0);
      expect(p.stdout).toMatch(/already built against TensorFlow \d+\.\d+\.\d+ .*nothing to do/);
      expect(readStamp(ROOT, 'cpu')).toEqual(before);
      expect(statSync(before!.addon).mtimeMs).toBe(addonMtime);
    });

    describe('gradients match the cpu backend to 1e-4 relative', () => {
      const worst: string[] = [];
      beforeAll(async () => {
        const choice = await selectBackend('tensorflow');
        expect(choice.tfBackend).toBe('tensorflow');
      });
      afterAll(async () => {
        await tf.setBackend('cpu');
        process.stdout.write(`[native.test] worst relative gradient error, tensorflow vs cpu: ${worst.join(', ')}\n`);
      });

      it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
        await tf.setBackend('tensorflow');
        const native = gradients(c);
        await tf.setBackend('cpu');
        const reference = gradients(c);
        expect([...native.keys()]).toEqual([...reference.keys()]);
        let caseWorst = 0;
        for (const [key, want] of reference) {
          const got = native.get(key)!;
          expect(got.length, key).toBe(want.length);
          expect(
            want.some((v) => v !== 0),
            `${key} gradient is all zeros`,
          ).toBe(true);
          const err = relativeError(got, want);
          caseWorst = Math.max(caseWorst, err);
          expect(err, `${c.name} d/d${key}`).toBeLessThan(1e-4);
        }
        worst.push(`${c.name} ${caseWorst.toExponential(1)}`);
      });
    });

    it('tensorfleet local --backend tensorflow trains mnist-short on the native backend', async () => {
      const p = startCli([
        'local',
        '--workers',
        '2',
        '--backend',
        'tensorflow',
        '--epochs',
        '1',
        '--metrics-port',
        '0',
        path.join(JOBS, 'mnist-short.ts'),
      ]);
      procs.push(p);
      const { code } = await p.exited;
      const out = p.stdout + p.stderr;
      expect(code, out.slice(-3000)).toBe(0);
      expect(out).toMatch(/\[tensorfleet coordinator\] backend: tensorflow \(tf\.getBackend\(\)=tensorflow/);
      expect(
        out.match(/\[tensorfleet worker pid \d+\] backend: tensorflow \(tf\.getBackend\(\)=tensorflow/g),
      ).toHaveLength(2);
      expect(out).toMatch(/worker 0: HEALTHY -> DONE/);
      expect(out).toMatch(/worker 1: HEALTHY -> DONE/);
    }, 600_000);
  },
);
