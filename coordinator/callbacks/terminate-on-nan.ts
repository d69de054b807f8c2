/** TerminateOnNaN: stop training as soon as a batch loss is NaN or infinite. */
import { BaseCallback, type Logs } from '../../shared/model/callbacks.ts';

/** Stops training when a batch reports a non-finite loss. */
export class TerminateOnNaN extends BaseCallback {
  onTrainBatchEnd(batch: number, logs: Logs): void {
    const loss = logs['loss'];
    if (loss !== undefined && !Number.isFinite(loss)) {
      process.stdout.write(`Batch ${batch}: Invalid loss, terminating training\n`);
      this.control.stopTraining = true;
    }
  }
}
