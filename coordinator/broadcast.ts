/**
 * Which weights a round sends each worker. Training changes only the trainable weights and the
 * BatchNormalization statistics; the rest (a frozen base, say VGG16's 14.7 M weights under a small
 * head) is sent to a worker once and then only when it changes, instead of every round.
 */
import type * as tf from '@tensorflow/tfjs';
import type { WireTensor } from '../shared/wire/protocol.ts';
import { stateWeights } from '../shared/wire/weights.ts';
import type { Peer } from './peers.ts';

/** What to send one worker: tensors, and the model.weights indices they are when not all of them. */
export interface WeightsMessage {
  readonly tensors: readonly WireTensor[];
  readonly indices?: number[];
}

/** The weights of each version, and who holds which of the fixed ones. */
export class WeightBroadcast {
  private readonly changing: number[] = [];
  private readonly fixed: number[] = [];
  private generation = 0;
  private current: readonly WireTensor[] = [];
  private currentVersion = -1;
  /** Per peer: the generation of the fixed weights it holds. Keyed by the Peer object, not its id: a
   * worker that rejoins is a new Peer, rebuilt from the welcome's weights. */
  private readonly held = new WeakMap<Peer, number>();

  constructor(model: tf.LayersModel) {
    const moving = new Set<unknown>([...model.trainableWeights, ...stateWeights(model)]);
    model.weights.forEach((w, i) => (moving.has(w) ? this.changing : this.fixed).push(i));
  }

  /**
   * Takes all weights about to be sent as `version`; returns the version to send them as. Weights
   * that changed without a round (a callback restored the best epoch's, say) get the next version,
   * so that no worker keeps the old ones. Fixed weights that changed start a new generation, so
   * every worker gets all weights again. Comparing reads memory, far less than sending it; tfjs
   * never mutates the arrays dataSync returned, so holding them keeps the last version's content.
   */
  update(all: readonly WireTensor[], version: number): number {
    const prev = this.current;
    const first = prev.length !== all.length;
    const sameAt = (i: number) => !first && sameData((all[i] as WireTensor).data, (prev[i] as WireTensor).data);
    const fixedSame = !first && this.fixed.every(sameAt);
    if (!fixedSame) this.generation++;
    // Re-sent under the version they last went out as, the weights must be unchanged (fixed ones compared above).
    const next =
      !first && version === this.currentVersion && !(fixedSame && this.changing.every(sameAt)) ? version + 1 : version;
    this.current = all;
    this.currentVersion = next;
    return next;
  }

  /** Takes `all` as what the workers hold at `version` (pulled from one of them): nothing new to send. */
  adopt(all: readonly WireTensor[], version: number): void {
    const prev = this.current;
    const fixedSame =
      prev.length === all.length &&
      this.fixed.every((i) => sameData((all[i] as WireTensor).data, (prev[i] as WireTensor).data));
    if (!fixedSame) this.generation++;
    this.current = all;
    this.currentVersion = version;
  }

  /** All weights for a worker that lacks the current fixed ones, else only those training changes. */
  forPeer(peer: Peer): WeightsMessage {
    if (this.held.get(peer) !== this.generation || this.fixed.length === 0) return { tensors: this.current };
    return { tensors: this.changing.map((i) => this.current[i] as WireTensor), indices: this.changing };
  }

  /** `peer` answered a request carrying forPeer's weights, so it holds this generation. */
  delivered(peer: Peer): void {
    this.held.set(peer, this.generation);
  }
}

function sameData(a: Float32Array | Int32Array, b: Float32Array | Int32Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  // Compare bit patterns, so -0 vs 0 and NaN payloads count as changes.
  const x = new Int32Array(a.buffer, a.byteOffset, a.length);
  const y = new Int32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
