/** EarlyStopping: stop when a monitored quantity stops improving, optionally restoring the best weights. */
import * as tf from '@tensorflow/tfjs';
import { BaseCallback, type Logs } from '../../shared/model/callbacks.ts';
import { Monitor, type Mode } from './monitor.ts';

/** Keras EarlyStopping arguments, camelCased. */
export interface EarlyStoppingArgs {
  monitor?: string;
  minDelta?: number;
  patience?: number;
  mode?: Mode;
  baseline?: number;
  restoreBestWeights?: boolean;
  /** Epochs before which no stopping happens (Keras 3's start_from_epoch). */
  startFromEpoch?: number;
}

/** What getState() saves into a checkpoint and setState() restores. */
interface SavedState {
  wait: number;
  best: number | null;
  bestEpoch: number;
  bestWeights?: { shape: number[]; values: number[] }[];
}

/** Stops training after `patience` epochs without improvement of `monitor`. */
export class EarlyStopping extends BaseCallback {
  private readonly monitor: Monitor;
  private wait = 0;
  private bestWeights: tf.Tensor[] | undefined;
  /** The epoch (0-based) at which training was stopped, or -1. */
  stoppedEpoch = -1;
  /** The epoch (0-based) with the best monitored value. */
  bestEpoch = -1;

  constructor(private readonly args: EarlyStoppingArgs = {}) {
    super();
    this.monitor = new Monitor(args.monitor ?? 'val_loss', args.mode, args.minDelta ?? 0);
  }

  getState(): unknown {
    return {
      wait: this.wait,
      best: this.monitor.best,
      bestEpoch: this.bestEpoch,
      bestWeights: this.bestWeights?.map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) })),
    };
  }

  setState(state: unknown): void {
    const s = state as SavedState;
    this.restored = s;
  }

  private restored: SavedState | undefined;

  onTrainBegin(): void {
    if (this.restored) {
      const s = this.restored;
      this.restored = undefined;
      this.wait = s.wait;
      // JSON has no Infinity: a best of null means "none yet".
      this.monitor.best = s.best ?? (this.monitor.direction === 'min' ? Infinity : -Infinity);
      this.bestEpoch = s.bestEpoch;
      this.bestWeights = s.bestWeights?.map((w) => tf.tensor(w.values, w.shape));
      return;
    }
    this.wait = 0;
    this.stoppedEpoch = -1;
    this.monitor.best = this.args.baseline ?? (this.monitor.direction === 'min' ? Infinity : -Infinity);
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    const value = this.monitor.read(logs, 'EarlyStopping');
    if (value === undefined || epoch < (this.args.startFromEpoch ?? 0)) return;
    const firstKept =
      this.bestWeights === undefined && this.args.restoreBestWeights && this.args.baseline === undefined;
    if (this.monitor.improves(value) || firstKept) {
      if (this.monitor.improves(value)) {
        this.monitor.best = value;
        this.bestEpoch = epoch;
        this.wait = 0;
      }
      if (this.args.restoreBestWeights) this.keepWeights();
      if (this.bestEpoch === epoch) return;
    }
    this.wait += 1;
    if (this.wait >= (this.args.patience ?? 0) && epoch > 0) {
      this.stoppedEpoch = epoch;
      this.control.stopTraining = true;
    }
  }

  onTrainEnd(): void {
    const verbose = this.control.params.verbose > 0;
    if (this.stoppedEpoch >= 0 && verbose) process.stdout.write(`Epoch ${this.stoppedEpoch + 1}: early stopping\n`);
    if (this.args.restoreBestWeights && this.bestWeights) {
      const restoring = `Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`;
      if (verbose) process.stdout.write(`${restoring}\n`);
      this.control.model.setWeights(this.bestWeights);
    }
    for (const t of this.bestWeights ?? []) t.dispose();
    this.bestWeights = undefined;
  }

  private keepWeights(): void {
    for (const t of this.bestWeights ?? []) t.dispose();
    this.bestWeights = this.control.model.getWeights().map((w) => w.clone());
  }
}
