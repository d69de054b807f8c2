/** ModelCheckpoint: save the model (or its weights) at epoch end, optionally only when it improved. */
import { BaseCallback, type Logs } from '../../shared/model/callbacks.ts';
import { formatPath } from './format-path.ts';
import { Monitor, type Mode } from './monitor.ts';
import { defaultSaver, type Saver } from './save.ts';

/** Keras ModelCheckpoint arguments, camelCased. */
export interface ModelCheckpointArgs {
  monitor?: string;
  saveBestOnly?: boolean;
  saveWeightsOnly?: boolean;
  mode?: Mode;
  verbose?: 0 | 1;
  /** How files are written; defaults to the format chosen by the file name. */
  saver?: Saver;
}

/** Saves to `filepath` (a template such as `ckpt-{epoch:02d}-{val_loss:.2f}.h5`) after each epoch. */
export class ModelCheckpoint extends BaseCallback {
  private readonly monitor: Monitor;
  /** Paths written so far, in order. */
  readonly saved: string[] = [];

  constructor(
    private readonly filepath: string,
    private readonly args: ModelCheckpointArgs = {},
  ) {
    super();
    this.monitor = new Monitor(args.monitor ?? 'val_loss', args.mode);
  }

  getState(): unknown {
    return { best: this.monitor.best };
  }

  setState(state: unknown): void {
    const best = (state as { best: number | null }).best;
    this.monitor.best = best ?? (this.monitor.direction === 'min' ? Infinity : -Infinity);
  }

  async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    if (this.args.saveBestOnly) {
      const value = this.monitor.read(logs, 'ModelCheckpoint');
      if (value === undefined || !this.monitor.improves(value)) return;
      this.monitor.best = value;
    }
    const file = formatPath(this.filepath, { ...logs, epoch: epoch + 1 });
    const save = this.args.saver ?? defaultSaver;
    await save(this.control.model, file, { weightsOnly: this.args.saveWeightsOnly ?? false });
    this.saved.push(file);
    if (this.args.verbose) process.stdout.write(`\nEpoch ${epoch + 1}: saving model to ${file}\n`);
  }
}
