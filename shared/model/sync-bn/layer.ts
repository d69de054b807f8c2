/**
 * Synchronized BatchNormalization (Keras `BatchNormalization(synchronized=True)`, Horovod's
 * SyncBatchNormalization, PyTorch's SyncBatchNorm): in training, every worker normalises with the
 * mean and variance of the whole global batch, and back-propagates through those global statistics,
 * so N workers compute exactly what one process computes at the global batch size.
 *
 * This module is the math of one step, transport-free: `SyncBnPass` stands in for a BatchNormalization
 * layer's training call while a step runs, and records which cross-worker sums it still needs.
 * A forward pass cannot pause for the network, so the step is re-run until every sum is known
 * (`sync-bn/step.ts`): this file never waits and never talks to a socket.
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of a tfjs BatchNormalization layer this module reads and writes. */
export interface BnLayer {
  readonly name: string;
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Variable } | null;
  beta: { read(): tf.Variable } | null;
  movingMean: { read(): tf.Variable; write(v: tf.Tensor): void };
  movingVariance: { read(): tf.Variable; write(v: tf.Tensor): void };
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

/** Thrown inside a pass that reached a BatchNormalization call whose global statistics are not known yet. */
export class NeedsReduction extends Error {
  constructor() {
    super('synchronized BatchNormalization needs a cross-worker reduction before this pass can go on');
  }
}

/** Global statistics of one BatchNormalization call: per-channel mean and (biased) variance over `count` values. */
interface GlobalStats {
  readonly mean: Float32Array;
  readonly variance: Float32Array;
  /** Values per channel across all workers (rows times spatial positions). */
  readonly count: number;
}

/** A vector this worker must sum with every other worker's, for call `index`. */
export interface Wanted {
  readonly index: number;
  readonly local: Float32Array;
}

/**
 * What one training step knows about its synchronized BatchNormalization calls, by call order
 * (a layer used twice is two calls). Lives across the passes of one step; `rows` is this worker's
 * share of the global batch, the weight the coordinator gives its gradients.
 */
export class SyncBnPass {
  private readonly forward: GlobalStats[] = [];
  private readonly backward: Float32Array[] = [];
  private readonly shifts: Float32Array[] = [];
  private calls: BnLayer[] = [];
  /** Set when the current pass stopped at a call without global statistics. */
  needs: Wanted | undefined;
  /** Set by the first call, in backward order, whose global gradient sums are not known. */
  captured: Wanted | undefined;

  constructor(readonly rows: number) {}

  /** Starts a pass: calls are counted from 0 again. */
  begin(): void {
    this.calls = [];
    this.needs = undefined;
    this.captured = undefined;
  }

  /**
   * Records the summed forward vector of call `index`: per channel Σ(x − shift), Σ(x − shift)², then the
   * count. The shift is the moving mean (equal on every worker), which keeps Σx² − (Σx)²/n from
   * cancelling catastrophically once the moving mean tracks the data.
   */
  setForward(index: number, sum: Float32Array): void {
    const shift = this.shifts[index] as Float32Array;
    const c = shift.length;
    if (sum.length !== 2 * c + 1)
      throw new Error(`expected ${2 * c + 1} sums for BatchNormalization call ${index}, got ${sum.length}`);
    const count = sum[2 * c] as number;
    const mean = new Float32Array(c);
    const variance = new Float32Array(c);
    for (let j = 0; j < c; j++) {
      const d = (sum[j] as number) / count;
      mean[j] = (shift[j] as number) + d;
      variance[j] = Math.max(0, (sum[c + j] as number) / count - d * d);
    }
    this.forward[index] = { mean, variance, count };
  }

  /** Records the summed backward vector of call `index`: per channel Σ rows·dy, then Σ rows·dy·x̂. */
  setBackward(index: number, sum: Float32Array): void {
    this.backward[index] = sum;
  }

  /** After the last pass: the moving statistics move toward the global ones, once per call, as tfjs does. */
  applyMovingUpdates(): void {
    this.calls.forEach((layer, i) => {
      const stats = this.forward[i] as GlobalStats;
      tf.tidy(() => {
        const decay = 1 - layer.momentum;
        for (const [variable, value] of [
          [layer.movingMean, stats.mean],
          [layer.movingVariance, stats.variance],
        ] as const) {
          const orig = variable.read();
          variable.write(tf.sub(orig, tf.mul(tf.sub(orig, tf.tensor1d(value)), decay)));
        }
      });
    });
  }

  /** The training-mode output of `layer` for `x`, normalised with global statistics; throws NeedsReduction when they are not known. */
  normalize(layer: BnLayer, x: tf.Tensor): tf.Tensor {
    const index = this.calls.length;
    this.calls.push(layer);
    const ndim = x.rank;
    const axis = layer.axis >= 0 ? layer.axis : layer.axis + ndim;
    const axes = [...Array(ndim).keys()].filter((a) => a !== axis);
    const channels = x.shape[axis] as number;
    const bshape = x.shape.map((d, a) => (a === axis ? d : 1));
    const stats = this.forward[index];
    if (!stats) {
      const shift = layer.movingMean.read().dataSync() as Float32Array;
      this.shifts[index] = shift;
      const local = new Float32Array(2 * channels + 1);
      tf.tidy(() => {
        const d = tf.sub(x, tf.reshape(tf.tensor1d(shift), bshape));
        local.set(tf.sum(d, axes).dataSync(), 0);
        local.set(tf.sum(tf.square(d), axes).dataSync(), channels);
      });
      local[2 * channels] = x.size / channels;
      this.needs = { index, local };
      throw new NeedsReduction();
    }
    const gamma = layer.scale && layer.gamma ? layer.gamma.read() : null;
    const beta = layer.center && layer.beta ? layer.beta.read() : null;
    const meanB = tf.reshape(tf.tensor1d(stats.mean), bshape);
    const invstdB = tf.reshape(tf.rsqrt(tf.add(tf.tensor1d(stats.variance), layer.epsilon)), bshape);
    const scaleBy = 1 / (this.rows * stats.count);
    const op = tf.customGrad((...args: unknown[]) => {
      const save = args.pop() as tf.GradSaveFunc;
      const [xin, ...params] = args as tf.Tensor[];
      const g = gamma ? (params[0] as tf.Tensor) : null;
      const b = beta ? (params[gamma ? 1 : 0] as tf.Tensor) : null;
      const xhat = tf.mul(tf.sub(xin as tf.Tensor, meanB), invstdB);
      let y = g ? tf.mul(xhat, tf.reshape(g, bshape)) : xhat;
      if (b) y = tf.add(y, tf.reshape(b, bshape));
      save(g ? [xhat, invstdB, g] : [xhat, invstdB]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sxhat, sinvstd, sg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor | undefined];
          const dbeta = tf.sum(dy, axes);
          const dgamma = tf.sum(tf.mul(dy, sxhat), axes);
          let sums = this.backward[index];
          if (!sums) {
            // Not known yet: note this worker's share (scaled by its rows, so that the sum over workers
            // is the global gradient's) and finish the pass with local sums; the pass is re-run.
            sums = new Float32Array(2 * channels);
            sums.set(tf.mul(dbeta, this.rows).dataSync(), 0);
            sums.set(tf.mul(dgamma, this.rows).dataSync(), channels);
            this.captured ??= { index, local: sums };
          }
          const t1 = tf.reshape(tf.tensor1d(sums.subarray(0, channels)), bshape);
          const t2 = tf.reshape(tf.tensor1d(sums.subarray(channels)), bshape);
          // d loss/dx through the global mean and variance: x̂ and the sums are over the whole batch.
          const centred = tf.sub(tf.sub(dy, tf.mul(t1, scaleBy)), tf.mul(sxhat, tf.mul(t2, scaleBy)));
          let dx = tf.mul(centred, sinvstd);
          if (sg) dx = tf.mul(dx, tf.reshape(sg, bshape));
          return [dx, ...(g ? [dgamma] : []), ...(b ? [dbeta] : [])];
        },
      };
    });
    return op(x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])) as tf.Tensor;
  }
}
