/**
 * Running one training step with synchronized BatchNormalization. The forward pass needs the global
 * statistics of each BatchNormalization input, and the backward pass needs two global sums per layer,
 * each known only after every worker contributes. tfjs cannot pause a pass for the network, so the
 * step is run again after each all-reduce, with what is known so far, until a pass needs nothing new:
 * K layers cost K partial forward passes plus K + 1 full ones, and 2K round trips to the coordinator.
 * Every pass of a step sees the same random stream, so dropout masks agree between passes.
 */
import * as tf from '@tensorflow/tfjs';
import { seededRandom } from '../../runtime/rng.ts';
import { NeedsReduction, SyncBnPass, type BnLayer } from './layer.ts';

/** Sums `local` elementwise with every other worker's vector for the same reduction, in order. */
export type AllReduce = (local: Float32Array) => Promise<Float32Array>;

let active: SyncBnPass | undefined;

/**
 * Gives every BatchNormalization layer of `model` (nested models included) Keras 3's training
 * semantics: a frozen layer (`trainable = false`) runs in inference mode, with its moving statistics,
 * where tfjs would normalise with the batch's; and with `synchronized`, a trainable layer normalises
 * over the global batch while `synchronizedStep` runs. Elsewhere, and in inference, nothing changes.
 * Returns how many layers are synchronized. Idempotent per layer.
 */
export function prepareBatchNorm(model: tf.LayersModel, opts: { synchronized: boolean }): number {
  let count = 0;
  const visit = (layers: readonly tf.layers.Layer[], containers: readonly tf.layers.Layer[]) => {
    for (const layer of layers) {
      if (layer instanceof tf.LayersModel) visit(layer.layers, [...containers, layer]);
      else if (layer.getClassName() === 'BatchNormalization') {
        const bn = layer as unknown as BnLayer & { kerasSemantics?: { synchronized: boolean } };
        if (!bn.kerasSemantics) {
          const original = bn.call.bind(bn);
          bn.call = (inputs, kwargs) => {
            if (kwargs?.['training'] !== true) return original(inputs, kwargs);
            // Frozen as Keras 3 means it: the layer, or a model that contains it (tfjs leaves the layer's own flag set then).
            if (!layer.trainable || containers.some((c) => !c.trainable))
              return original(inputs, { ...kwargs, training: false });
            const pass = active;
            if (!pass || !bn.kerasSemantics?.synchronized) return original(inputs, kwargs);
            return pass.normalize(bn, Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs);
          };
        }
        bn.kerasSemantics = { synchronized: opts.synchronized };
        if (opts.synchronized) count++;
      }
    }
  };
  visit(model.layers, [model]);
  return count;
}

/** prepareBatchNorm with synchronization on; returns how many layers are synchronized. */
export function synchronizeBatchNorm(model: tf.LayersModel): number {
  return prepareBatchNorm(model, { synchronized: true });
}

/**
 * Runs `run` (one forward and backward pass over this worker's `rows` examples) until every
 * synchronized BatchNormalization call has its global statistics and sums, reducing through
 * `allReduce` in between; results of incomplete passes go to `discard`. The last pass's result is
 * returned, and the moving statistics are updated once, from the global statistics.
 */
export async function synchronizedStep<T>(
  rows: number,
  allReduce: AllReduce,
  run: () => T,
  discard: (r: T) => void,
): Promise<T> {
  const pass = new SyncBnPass(rows);
  const seed = Math.floor(Math.random() * 2 ** 32);
  for (;;) {
    pass.begin();
    let result: T;
    try {
      result = within(pass, seed, run);
    } catch (err) {
      const needs = pass.needs;
      if (!(err instanceof NeedsReduction) || !needs) throw err;
      releaseAbandonedTape();
      pass.setForward(needs.index, await allReduce(needs.local));
      continue;
    }
    const captured = pass.captured;
    if (!captured) {
      pass.applyMovingUpdates();
      return result;
    }
    discard(result);
    pass.setBackward(captured.index, await allReduce(captured.local));
  }
}

/** Runs `run` synchronously with `pass` active and Math.random replaced by a stream seeded with `seed`. */
function within<T>(pass: SyncBnPass, seed: number, run: () => T): T {
  const random = Math.random;
  Math.random = seededRandom(seed);
  active = pass;
  try {
    return run();
  } finally {
    active = undefined;
    Math.random = random;
  }
}

/**
 * A pass stopped by NeedsReduction left the gradient tape behind, holding the tensors its ops saved
 * for a backward pass that will never run. tfjs frees them only at the end of a completed gradient
 * computation, so free them the same way here (only outside any gradient computation).
 */
function releaseAbandonedTape(): void {
  const state = (
    tf.engine() as unknown as { state: { gradientDepth: number; activeTape: { saved?: tf.Tensor[] }[] | null } }
  ).state;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null;
}
