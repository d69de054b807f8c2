/** LearningRateScheduler: set the learning rate at the start of every epoch from `schedule(epoch, lr)`. */
import { BaseCallback, type Logs } from '../../shared/model/callbacks.ts';
import { getLearningRate, setLearningRate } from '../../shared/model/keras/learning-rate.ts';

/** Calls `schedule(epoch, currentLr)` at each epoch begin and applies the result. */
export class LearningRateScheduler extends BaseCallback {
  constructor(
    private readonly schedule: (epoch: number, lr: number) => number,
    private readonly verbose: 0 | 1 = 0,
  ) {
    super();
  }

  onEpochBegin(epoch: number): void {
    const lr = this.schedule(epoch, getLearningRate(this.control.optimizer));
    setLearningRate(this.control.optimizer, lr);
    if (this.verbose) {
      process.stdout.write(`\nEpoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${lr}.\n`);
    }
  }

  onEpochEnd(_epoch: number, logs: Logs): void {
    logs['learning_rate'] = getLearningRate(this.control.optimizer);
  }
}
