/** ProgbarLogger: Keras's training output (`Epoch i/n`, the bar, the epoch line), drawn by Progress. */
import { BaseCallback, type Logs, type TrainingControl } from '../../shared/model/callbacks.ts';
import { Progress, stdoutSink, type ProgressSink } from '../progress.ts';

/**
 * What the loop knows of the current epoch that a batch's logs do not carry: the size of the batch
 * just trained and the running means so far (a resumed epoch's include the steps before the resume).
 * The per-batch logs stay what user callbacks have always seen; the bar shows the running means.
 */
export interface EpochSoFar {
  readonly batchSize: number;
  readonly logs: Logs;
}

/**
 * Prints progress at the fit's verbosity (from the control's params). The trainer adds it first, so its
 * lines come before anything the user's callbacks print for the same epoch or batch.
 */
export class ProgbarLogger extends BaseCallback {
  private progress: Progress | undefined;
  private done = 0;

  constructor(
    private readonly soFar: EpochSoFar,
    private readonly sink: ProgressSink = stdoutSink,
  ) {
    super();
  }

  override setControl(control: TrainingControl): void {
    super.setControl(control);
    const { verbose, epochs } = control.params;
    this.progress = new Progress(verbose === 0 ? 0 : verbose === 2 ? 2 : 1, epochs, this.sink);
  }

  onEpochBegin(epoch: number): void {
    this.done = 0;
    this.progress?.epochBegin(epoch);
  }

  onTrainBatchEnd(batch: number): void {
    this.done = batch + 1;
    this.progress?.step(this.done, this.control.params.steps, this.soFar.batchSize, this.soFar.logs);
  }

  /** The epoch line counts the rounds run in it: all of them, or up to the one after which training stopped. */
  onEpochEnd(_epoch: number, logs: Logs): void {
    this.progress?.epochEnd(this.done, logs);
  }
}
