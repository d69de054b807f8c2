/**
 * TensorBoard: event files under `logDir/train` and `logDir/validation`, as Keras writes them:
 * `epoch_<metric>` scalars per epoch (validation values without the `val_` prefix, in their own run),
 * `epoch_learning_rate`, and optionally `batch_<metric>` per batch.
 */
import path from 'node:path';
import { BaseCallback, type Logs } from '../../shared/model/callbacks.ts';
import { SummaryWriter } from '../tensorboard/index.ts';
import { getLearningRate } from '../../shared/model/keras/learning-rate.ts';

/** Keras TensorBoard arguments, camelCased. */
export interface TensorBoardArgs {
  logDir?: string;
  /** 'epoch' (default), 'batch', or every N batches. */
  updateFreq?: 'epoch' | 'batch' | number;
}

/** Writes training and validation scalars for TensorBoard. */
export class TensorBoard extends BaseCallback {
  private train: SummaryWriter | undefined;
  private validation: SummaryWriter | undefined;
  private globalBatch = 0;
  readonly logDir: string;

  constructor(private readonly args: TensorBoardArgs = {}) {
    super();
    this.logDir = args.logDir ?? 'logs';
  }

  onTrainBegin(): void {
    this.train = new SummaryWriter(path.join(this.logDir, 'train'));
    this.validation = new SummaryWriter(path.join(this.logDir, 'validation'));
  }

  onTrainBatchEnd(_batch: number, logs: Logs): void {
    this.globalBatch += 1;
    const freq = this.args.updateFreq ?? 'epoch';
    const every = freq === 'batch' ? 1 : freq === 'epoch' ? 0 : freq;
    if (every > 0 && this.globalBatch % every === 0) {
      for (const [k, v] of Object.entries(logs)) this.train?.scalar(`batch_${k}`, v, this.globalBatch);
    }
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    for (const [k, v] of Object.entries(logs)) {
      if (k === 'learning_rate') continue;
      if (k.startsWith('val_')) this.validation?.scalar(`epoch_${k.slice(4)}`, v, epoch);
      else this.train?.scalar(`epoch_${k}`, v, epoch);
    }
    this.train?.scalar('epoch_learning_rate', logs['learning_rate'] ?? getLearningRate(this.control.optimizer), epoch);
    this.train?.flush();
    this.validation?.flush();
  }

  onTrainEnd(): void {
    this.train?.close();
    this.validation?.close();
  }
}
