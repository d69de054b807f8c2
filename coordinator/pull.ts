/**
 * Pulling the model back from the workers. On the peer data plane the workers hold the newest weights
 * and optimizer state; the coordinator fetches them from one worker that holds the newest version when
 * it needs them itself: for epoch-end callbacks, checkpoints, the final save, and for a worker that
 * joins. That is P values (and the optimizer's slots) per pull, not per step.
 */
import type * as tf from '@tensorflow/tfjs';
import { writeOptimizerState } from '../shared/model/keras/optimizer-state.ts';
import { trainableVariables } from '../shared/model/step.ts';
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import { checkTensors, type MessageOf } from '../shared/wire/protocol.ts';
import { weightSpecs, writeWeights } from '../shared/wire/weights.ts';
import type { Hub } from './hub.ts';
import type { Peer } from './peers.ts';

/** Fetches weights version `version` and the optimizer state from a worker that holds it, into `model`
 * and `optimizer`; throws FLEET_ERR_WORKER_LOST when that worker is lost (pull again), and
 * FLEET_ERR_STATE_LOST when no live worker holds the version. */
export async function pullState(
  hub: Hub,
  pullId: number,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  version: number,
): Promise<Peer> {
  const live = hub.peers.inState('HEALTHY');
  const source = live.find((p) => p.weightsVersion === version);
  if (!source) throw fleetError('PULL_NO_SOURCE', { version, live: live.length });
  const replies = await hub.collect(
    'pulled',
    pullId,
    [source],
    (peer) => hub.send(peer, { kind: 'pull', pullId }),
    (peer, msg) => checkPulled(model, version, peer, msg),
  );
  const msg = replies.get(source.id) as MessageOf<'pulled'>;
  writeWeights(model, msg.groups.weights);
  await writeOptimizerState(model, optimizer, {
    iterations: msg.optimizerIterations,
    slots: [...msg.groups.optimizer],
  });
  return source;
}

/** A pulled state must be the version asked for, fit the model, be finite, and name its slots by position. */
function checkPulled(model: tf.LayersModel, version: number, peer: Peer, msg: MessageOf<'pulled'>): void {
  if (msg.weightsVersion !== version)
    throw fleetError('PULL_VERSION', { want: version, rank: peer.rank, received: msg.weightsVersion });
  checkTensors(msg.groups.weights, weightSpecs(model), { finite: true });
  const shapes = trainableVariables(model).map((v) => v.shape.join(','));
  for (const slot of msg.groups.optimizer) {
    const at = /^#(\d+)\//.exec(slot.name);
    const want = at ? shapes[Number(at[1])] : undefined;
    if (want === undefined || want !== slot.shape.join(','))
      throw fleetError('PULL_SLOT', { received: `${slot.name} [${slot.shape}]` });
  }
}
