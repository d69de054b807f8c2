/**
 * Moving an optimizer between processes (shared/model/keras/optimizer-state.ts): its class and config
 * rebuild the same optimizer, and its state, read from one model and written into another built the
 * same way under other tfjs variable names (as in another process), gives the same optimizer weights;
 * one more identical gradient then moves both models to bit-identical weights. Workers rely on this
 * when they join mid-run, and when the coordinator checkpoints what it pulled.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { KerasAdam } from '../../../shared/model/keras/keras-adam.ts';
import {
  optimizerConfig,
  optimizerFromConfig,
  readOptimizerState,
  writeOptimizerState,
  type OptimizerState,
} from '../../../shared/model/keras/optimizer-state.ts';
import { makeOptimizer } from '../../../shared/model/keras/optimizers.ts';
import { trainableVariables } from '../../../shared/model/step.ts';
import { selectBackend } from '../../../shared/runtime/backend/select.ts';
import { isFleetError } from '../../../shared/runtime/errors.ts';

beforeAll(async () => {
  await selectBackend('cpu');
});

const OPTIMIZERS: readonly (readonly [string, () => tf.Optimizer])[] = [
  ['adam (KerasAdam)', () => makeOptimizer({ name: 'adam', learningRate: 0.01 })],
  ['sgd', () => tf.train.sgd(0.1)],
  ['momentum (Nesterov)', () => tf.train.momentum(0.05, 0.9, true)],
  ['rmsprop (centered)', () => tf.train.rmsprop(0.01, 0.8, 0.3, 1e-6, true)],
  ['adagrad', () => tf.train.adagrad(0.1, 0.2)],
];

/** A small model with seeded initial weights: the same numbers every time it is built. */
function build(): tf.Sequential {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 3, inputShape: [4], activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.dense({ units: 2, kernelInitializer: init(2), biasInitializer: 'ones' }),
    ],
  });
}

/** A deterministic gradient for each trainable variable of `model`, in model order, differing by `seed`. */
function gradients(model: tf.LayersModel, seed: number): { name: string; tensor: tf.Tensor }[] {
  return trainableVariables(model).map((v, i) => {
    const n = v.size;
    const data = Float32Array.from({ length: n }, (_, j) => Math.sin(seed * 7 + i * 3 + j) * (j % 2 === 0 ? 1 : 1e-3));
    return { name: v.name, tensor: tf.tensor(data, v.shape) };
  });
}

/** Applies the same seeded gradient to `model`'s variables through `optimizer`. */
function step(model: tf.LayersModel, optimizer: tf.Optimizer, seed: number): void {
  const grads = gradients(model, seed);
  optimizer.applyGradients(grads);
  tf.dispose(grads.map((g) => g.tensor));
}

/** Every weight of `model` as bit patterns, so -0, NaN payloads and the last ulp all count. */
function bits(model: tf.LayersModel): number[][] {
  return model.weights.map((w) => Array.from(new Uint32Array(Float32Array.from(w.read().dataSync()).buffer)));
}

/** A state with its slot data as bit patterns, for exact comparison. */
function plain(s: OptimizerState): { iterations: number; slots: (string | number[])[][] } {
  const slotBits = (d: Float32Array | Int32Array) => Array.from(new Uint32Array(Float32Array.from(d).buffer));
  return { iterations: s.iterations, slots: s.slots.map((t) => [t.name, [...t.shape], slotBits(t.data)]) };
}

describe('optimizerConfig and optimizerFromConfig', () => {
  it.each(OPTIMIZERS)('rebuild %s with the same class and config', (_name, make) => {
    const original = make();
    const config = optimizerConfig(original);
    // Through JSON, as a welcome's header carries it.
    const rebuilt = optimizerFromConfig(JSON.parse(JSON.stringify(config)) as typeof config);
    expect(rebuilt.constructor).toBe(original.constructor);
    expect(rebuilt.getClassName()).toBe(original.getClassName());
    expect(rebuilt.getConfig()).toEqual(original.getConfig());
    expect(config.config).toEqual(original.getConfig());
    original.dispose();
    rebuilt.dispose();
  });

  it("builds 'adam' as KerasAdam with its own hyperparameters", () => {
    const config = optimizerConfig(new KerasAdam(0.002, 0.8, 0.99, 1e-5));
    expect(config).toEqual({
      className: 'KerasAdam',
      config: { learningRate: 0.002, beta1: 0.8, beta2: 0.99, epsilon: 1e-5 },
    });
    const rebuilt = optimizerFromConfig(config);
    expect(rebuilt).toBeInstanceOf(KerasAdam);
    expect(rebuilt.getConfig()).toEqual(config.config);
  });

  it('refuses a class tfjs does not know with FLEET_ERR_OPTIMIZER', () => {
    let caught: unknown;
    try {
      optimizerFromConfig({ className: 'NoSuchOptimizer', config: { learningRate: 0.1 } });
    } catch (err) {
      caught = err;
    }
    expect(isFleetError(caught, 'FLEET_ERR_OPTIMIZER'), String(caught)).toBe(true);
    expect(String(caught)).toContain('NoSuchOptimizer');
  });
});

describe('readOptimizerState and writeOptimizerState', () => {
  it.each(OPTIMIZERS)(
    'carry %s to a model under other variable names, and the next step matches bit for bit',
    async (_name, make) => {
      const a = build();
      const optA = make();
      step(a, optA, 1);
      step(a, optA, 2);
      const state = await readOptimizerState(a, optA);
      expect(state.iterations).toBe(2);
      expect(
        state.slots.every((s) => /^#\d+\//.test(s.name)),
        state.slots.map((s) => s.name).join(),
      ).toBe(true);

      // Another "process": a dummy model first, so the same layers get other tfjs variable names.
      const dummy = build();
      const b = build();
      const namesA = trainableVariables(a).map((v) => v.name);
      const namesB = trainableVariables(b).map((v) => v.name);
      expect(namesB.some((n, i) => n !== namesA[i])).toBe(true);
      b.setWeights(a.getWeights());
      const optB = optimizerFromConfig(optimizerConfig(optA));
      await writeOptimizerState(b, optB, state);

      expect(plain(await readOptimizerState(b, optB))).toEqual(plain(state));
      expect(bits(b)).toEqual(bits(a));
      step(a, optA, 3);
      step(b, optB, 3);
      const after = bits(a);
      expect(after).not.toEqual(bits(dummy)); // the step moved the weights
      expect(bits(b)).toEqual(after);
      expect(plain(await readOptimizerState(b, optB))).toEqual(plain(await readOptimizerState(a, optA)));
      for (const m of [a, b, dummy]) m.dispose();
      optA.dispose();
      optB.dispose();
    },
  );

  it('refuses a slot that names no variable of the model', async () => {
    const model = build();
    const optimizer = tf.train.momentum(0.1, 0.9);
    const slot = { name: '#9/momentum', dtype: 'float32' as const, shape: [1], data: Float32Array.of(0) };
    const written = writeOptimizerState(model, optimizer, { iterations: 1, slots: [slot] });
    const err = await written.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFleetError(err, 'FLEET_ERR_OPTIMIZER'), String(err)).toBe(true);
    model.dispose();
  });
});
