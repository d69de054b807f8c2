/**
 * A worker's side of a training step on the peer data plane: flatten this worker's gradient and
 * BatchNormalization statistics into one vector, exchange it with the members for the weighted mean,
 * hold the mean until the coordinator commits the step, then apply it with this worker's optimizer.
 * Nothing in the model changes before the commit, so a step abandoned mid-exchange leaves no trace.
 */
import * as tf from '@tensorflow/tfjs';
import { setLearningRate, getLearningRate } from '../../shared/model/keras/learning-rate.ts';
import { trainableVariables } from '../../shared/model/step.ts';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';
import type { MessageOf } from '../../shared/wire/protocol.ts';
import { stateWeights, writeState } from '../../shared/wire/weights.ts';
import type { Membership } from './mesh.ts';
import { planExchange } from './plan.ts';
import type { ExchangeRouter } from './rounds.ts';

/** Values of a model's flat step vector: its trainable weights, then its BatchNormalization statistics. */
export function stepSizes(model: tf.LayersModel): { grads: number[]; state: number[] } {
  const size = (shape: readonly (number | null)[]) => shape.reduce<number>((a, d) => a * (d ?? 1), 1);
  return {
    grads: trainableVariables(model).map((v) => size(v.shape)),
    state: stateWeights(model).map((w) => size(w.shape)),
  };
}

/** Concatenates arrays into one new Float32Array. */
export function flatten(parts: readonly (Float32Array | Int32Array)[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Cuts a flat vector back into views of the given sizes. */
export function unflatten(flat: Float32Array, sizes: readonly number[], from = 0): Float32Array[] {
  let at = from;
  return sizes.map((n) => {
    const view = flat.subarray(at, at + n);
    at += n;
    return view;
  });
}

/** The membership a round's `exchange` field describes. */
export function membershipOf(ex: MessageOf<'round'>['exchange']): Membership {
  return {
    session: ex.session,
    rank: ex.rank,
    members: ex.endpoints.map((endpoint, rank) => ({
      rank,
      endpoint,
      ...(ex.keys?.[rank] && { publicKey: ex.keys[rank] }),
    })),
  };
}

/** Exchanges this worker's flat step vector for the members' weighted mean. */
export async function exchangeStep(
  router: ExchangeRouter,
  msg: MessageOf<'round'>,
  flat: Float32Array,
): Promise<Float32Array> {
  const ex = msg.exchange;
  if (ex.rank >= ex.endpoints.length || ex.samples.length !== ex.endpoints.length) {
    throw fleetError('EXCHANGE_MEMBERS', {
      plan: ex.endpoints.length,
      members: ex.endpoints.length,
      samples: ex.samples.length,
    });
  }
  const plan = planExchange(flat.length, ex.endpoints.length);
  return router.begin({ roundId: msg.roundId, plan, samples: ex.samples }).run(flat);
}

/** Applies a committed mean: the optimizer update at `learningRate`, then the averaged BN statistics. */
export function applyStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  averaged: Float32Array,
  learningRate: number,
): void {
  const sizes = stepSizes(model);
  const grads = unflatten(averaged, sizes.grads);
  const state = unflatten(
    averaged,
    sizes.state,
    sizes.grads.reduce((a, b) => a + b, 0),
  );
  if (getLearningRate(optimizer) !== learningRate) setLearningRate(optimizer, learningRate);
  const variables = trainableVariables(model);
  const named = variables.map((v, i) => ({
    name: v.name,
    tensor: tf.tensor((grads[i] as Float32Array).slice(), v.shape, 'float32'),
  }));
  try {
    optimizer.applyGradients(named);
  } finally {
    tf.dispose(named.map((n) => n.tensor));
  }
  if (state.length > 0)
    writeState(
      model,
      state.map((v) => v.slice()),
    );
}
