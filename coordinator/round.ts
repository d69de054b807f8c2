/**
 * Collecting one training round's gradients: shard the batch over the healthy workers, send each its
 * shard with the current weights, and accept validated replies. With a deadline, workers that miss it
 * are stragglers: their shards move to the workers that answered (a follow-up request without a
 * deadline, so the round always completes), and their late replies are stale and dropped.
 */
import type { Logger } from '../shared/runtime/log.ts';
import type { FleetMetrics } from '../shared/runtime/metrics.ts';
import type { MessageOf, TensorExpectation, WireTensor } from '../shared/wire/protocol.ts';
import type { Contribution } from './aggregate.ts';
import type { WeightsMessage } from './broadcast.ts';
import { gradientValidator, type Hub } from './hub.ts';
import type { Peer } from './peers.ts';
import { shardBatch } from './shard.ts';

/**
 * One accepted reply: who computed it and what it said; its `tensors` are the groups as the average
 * takes them, the `gradients` group then the `state` group (the order of the specs they were checked on).
 */
export interface Accepted {
  readonly peer: Peer;
  readonly msg: MessageOf<'gradients'> & Contribution;
}

/** What a round needs to know. */
export interface RoundRequest {
  readonly hub: Hub;
  readonly nextId: () => number;
  readonly epoch: number;
  readonly step: number;
  /** The weights each participant is sent (coordinator/broadcast.ts). */
  readonly weightsFor: (peer: Peer) => WeightsMessage;
  readonly weightsVersion: number;
  readonly specs: readonly TensorExpectation[];
  /** Per-request deadline in ms; 0 waits for everyone (liveness still comes from heartbeats). */
  readonly deadlineMs: number;
  readonly metrics: FleetMetrics;
  readonly log?: Logger;
}

/** Collects gradients for every example of `batch`, each example computed exactly once. */
export function gatherGradients(req: RoundRequest, batch: Int32Array): Promise<Accepted[]> {
  const workers = req.hub.peers.inState('HEALTHY');
  const shards = shardBatch(batch, workers.length);
  return collectShards(req, workers.map((p, i) => [p, shards[i] as Int32Array] as const).filter(([, s]) => s.length > 0), req.deadlineMs);
}

async function collectShards(req: RoundRequest, pairs: readonly (readonly [Peer, Int32Array])[], deadlineMs: number): Promise<Accepted[]> {
  const { hub } = req;
  const id = req.nextId();
  const shardOf = new Map(pairs.map(([p, s]) => [p.id, s]));
  const replies = await hub.collect('gradients', id, pairs.map(([p]) => p), (peer) => {
    const idx = shardOf.get(peer.id) as Int32Array;
    const indices: WireTensor = { name: 'indices', dtype: 'int32', shape: [idx.length], data: idx };
    const w = req.weightsFor(peer);
    return hub.send(peer, {
      kind: 'round', roundId: id, epoch: req.epoch, step: req.step, weightsVersion: req.weightsVersion,
      ...(w.indices && { weightIndices: w.indices }), groups: { weights: w.tensors, indices: [indices] },
    });
  }, gradientValidator(req.specs, new Map(pairs.map(([p, s]) => [p.id, s.length]))), deadlineMs);
  const accepted = pairs.flatMap(([peer]): Accepted[] => {
    const msg = replies.get(peer.id);
    return msg ? [{ peer, msg: { ...msg, tensors: [...msg.groups.gradients, ...msg.groups.state] } }] : [];
  });
  const late = pairs.filter(([p]) => !replies.has(p.id));
  if (late.length === 0) return accepted;
  req.metrics.stragglers.inc(late.length);
  const leftover = Int32Array.from(late.flatMap(([, s]) => Array.from(s)));
  req.log?.warn(`round ${id}: worker(s) ${late.map(([p]) => p.rank).join(', ')} missed the ${deadlineMs} ms deadline; their ${leftover.length} examples move to the ${accepted.length} faster worker(s)`);
  const fast = accepted.map((a) => a.peer);
  const reshard = shardBatch(leftover, fast.length);
  const redo = fast.map((p, i) => [p, reshard[i] as Int32Array] as const).filter(([, s]) => s.length > 0);
  return [...accepted, ...(await collectShards(req, redo, 0))];
}
