/** ReduceLROnPlateau: multiply the coordinator optimizer's learning rate by `factor` on a plateau. */
import { BaseCallback, type Logs } from '../../shared/model/callbacks.ts';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';
import { getLearningRate, setLearningRate } from '../../shared/model/keras/learning-rate.ts';
import { Monitor, type Mode } from './monitor.ts';

/** Keras ReduceLROnPlateau arguments, camelCased. */
export interface ReduceLROnPlateauArgs {
  monitor?: string;
  factor?: number;
  patience?: number;
  mode?: Mode;
  minDelta?: number;
  cooldown?: number;
  minLr?: number;
  verbose?: 0 | 1;
}

/** Reduces the learning rate after `patience` epochs without improvement, then waits `cooldown` epochs. */
export class ReduceLROnPlateau extends BaseCallback {
  private readonly monitor: Monitor;
  private wait = 0;
  private cooldownLeft = 0;

  constructor(private readonly args: ReduceLROnPlateauArgs = {}) {
    super();
    if ((args.factor ?? 0.1) >= 1) throw fleetError('REDUCE_LR_FACTOR', { factor: args.factor });
    this.monitor = new Monitor(args.monitor ?? 'val_loss', args.mode, args.minDelta ?? 1e-4);
  }

  private restored: { wait: number; cooldownLeft: number; best: number | null } | undefined;

  getState(): unknown {
    return { wait: this.wait, cooldownLeft: this.cooldownLeft, best: this.monitor.best };
  }

  setState(state: unknown): void {
    this.restored = state as { wait: number; cooldownLeft: number; best: number | null };
  }

  onTrainBegin(): void {
    const s = this.restored;
    this.restored = undefined;
    this.wait = s?.wait ?? 0;
    this.cooldownLeft = s?.cooldownLeft ?? 0;
    if (s) this.monitor.best = s.best ?? (this.monitor.direction === 'min' ? Infinity : -Infinity);
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    const lr = getLearningRate(this.control.optimizer);
    logs['learning_rate'] = lr;
    const value = this.monitor.read(logs, 'ReduceLROnPlateau');
    if (value === undefined) return;
    if (this.cooldownLeft > 0) {
      this.cooldownLeft -= 1;
      this.wait = 0;
    }
    if (this.monitor.improves(value)) {
      this.monitor.best = value;
      this.wait = 0;
      return;
    }
    if (this.cooldownLeft > 0) return;
    this.wait += 1;
    if (this.wait < (this.args.patience ?? 10)) return;
    const minLr = this.args.minLr ?? 0;
    if (lr > minLr) {
      const next = Math.max(lr * (this.args.factor ?? 0.1), minLr);
      setLearningRate(this.control.optimizer, next);
      if (this.args.verbose) {
        process.stdout.write(`\nEpoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${next}.\n`);
      }
      this.cooldownLeft = this.args.cooldown ?? 0;
      this.wait = 0;
    }
  }
}
