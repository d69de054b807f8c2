/**
 * One training step on the peer data plane, as the coordinator runs it: shard the batch over the
 * members, send each its shard (with weights and optimizer state only to a member that lacks them) and
 * the membership it exchanges gradients with, wait for every member to report its step exchanged, then
 * commit it. The coordinator sends and receives control messages only: gradients travel between the
 * workers (worker/exchange), and each worker applies the committed mean with its own optimizer.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { OptimizerState } from '../shared/model/keras/optimizer-state.ts';
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import type { MessageOf, WireTensor } from '../shared/wire/protocol.ts';
import type { WeightsMessage } from './broadcast.ts';
import type { Hub } from './hub.ts';
import type { Peer } from './peers.ts';
import { shardBatch } from './shard.ts';

/** What one step needs to know. */
export interface StepRequest {
  readonly hub: Hub;
  readonly roundId: number;
  readonly epoch: number;
  readonly step: number;
  readonly weightsVersion: number;
  readonly learningRate: number;
  /** The session of this membership (see `sessionOf`). */
  readonly session: string;
  /** The weights a member lacks (none when it holds `weightsVersion`). */
  readonly weightsFor: (peer: Peer) => WeightsMessage;
  /** The optimizer state for a member that has none yet; undefined when it has. */
  readonly optimizerFor: (peer: Peer) => OptimizerState | undefined;
  /** Per-request deadline in ms; 0 waits for everyone (liveness still comes from heartbeats). */
  readonly deadlineMs: number;
}

/** A step every member exchanged: who took part and what each reported. */
export interface SteppedRound {
  readonly members: readonly Peer[];
  readonly replies: readonly MessageOf<'stepped'>[];
}

/** The members of a step: the healthy workers in rank order but those `skipped`, as many as the batch has rows for. */
export function membersFor(hub: Hub, rows: number, skipped: ReadonlySet<Peer> = new Set()): Peer[] {
  const healthy = hub.peers.inState('HEALTHY');
  const fast = healthy.filter((p) => !skipped.has(p));
  return (fast.length > 0 ? fast : healthy).slice(0, Math.max(1, rows));
}

/** A session id for a membership: the same while the same workers take part (links stay up), new when
 * it changes. `nonce` makes ids of different coordinator runs differ. */
export function sessionOf(members: readonly Peer[], nonce: string): string {
  return createHash('sha256')
    .update(nonce)
    .update(members.map((p) => p.id).join(','))
    .digest('hex')
    .slice(0, 32);
}

/** A fresh nonce for `sessionOf`, one per coordinator run. */
export function sessionNonce(): string {
  return randomBytes(16).toString('hex');
}

/** Members that missed the deadline, and the examples they held. */
export interface LateRound {
  readonly stragglers: readonly Peer[];
  readonly examples: number;
}

/** Runs one step to the point where every member has exchanged it (or the deadline passed); throws if one is lost. */
export async function exchangeRound(
  req: StepRequest,
  members: readonly Peer[],
  batch: Int32Array,
  /** The next step's batch, if this epoch has one: each member is told its likely next shard to prefetch. */
  nextBatch?: Int32Array,
): Promise<SteppedRound | LateRound> {
  const { hub } = req;
  const shards = shardBatch(batch, members.length);
  const nextShards = nextBatch ? shardBatch(nextBatch, members.length) : [];
  const samples = shards.map((s) => s.length);
  const endpoints = members.map((p) => p.peerEndpoint ?? '');
  const keys = members.map((p) => p.peerKey);
  const withKeys = keys.every((k): k is string => k !== undefined);
  const replies = await hub.collect(
    'stepped',
    req.roundId,
    members,
    (peer, i) => {
      const idx = shards[i] as Int32Array;
      const indices: WireTensor = { name: 'indices', dtype: 'int32', shape: [idx.length], data: idx };
      const w = req.weightsFor(peer);
      const opt = req.optimizerFor(peer);
      return hub.send(peer, {
        kind: 'round',
        roundId: req.roundId,
        epoch: req.epoch,
        step: req.step,
        weightsVersion: req.weightsVersion,
        ...(w.indices && { weightIndices: w.indices }),
        ...(opt && { optimizerIterations: opt.iterations }),
        learningRate: req.learningRate,
        exchange: { session: req.session, rank: i, endpoints, ...(withKeys && { keys }), samples },
        groups: {
          weights: w.tensors,
          optimizer: opt ? [...opt.slots] : [],
          indices: [indices],
          next: nextOf(nextShards[i]),
        },
      });
    },
    (peer, msg) => {
      const want = samples[members.indexOf(peer)];
      if (msg.samples !== want) throw fleetError('ROUND_SAMPLES', { want, rank: peer.rank, received: msg.samples });
    },
    req.deadlineMs,
  );
  const late = members.filter((p) => !replies.has(p.id));
  if (late.length > 0) {
    // Members that never said `computed` held everyone up; with none such, the exchange itself was late.
    const slow = late.filter((p) => !hub.hasComputed(p));
    const stragglers = slow.length > 0 ? slow : late;
    return { stragglers, examples: stragglers.reduce((n, p) => n + (samples[members.indexOf(p)] ?? 0), 0) };
  }
  return { members, replies: members.map((p) => replies.get(p.id) as MessageOf<'stepped'>) };
}

function nextOf(shard: Int32Array | undefined): WireTensor[] {
  return shard && shard.length > 0 ? [{ name: 'next', dtype: 'int32', shape: [shard.length], data: shard }] : [];
}

/** Tells every member to apply the step it exchanged; the model is then at `weightsVersion`. */
export async function commitRound(
  hub: Hub,
  members: readonly Peer[],
  roundId: number,
  weightsVersion: number,
): Promise<void> {
  await Promise.all(members.map((p) => hub.send(p, { kind: 'commit', roundId, weightsVersion })));
}
