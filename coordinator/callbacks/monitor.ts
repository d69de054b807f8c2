/** The `monitor`/`mode`/`minDelta` logic shared by EarlyStopping, ReduceLROnPlateau and ModelCheckpoint. */

/** 'min' for losses, 'max' for accuracies; 'auto' decides from the name as Keras does. */
export type Mode = 'auto' | 'min' | 'max';

/** Tracks the best value of one monitored quantity. */
export class Monitor {
  readonly direction: 'min' | 'max';
  best: number;

  constructor(
    readonly name: string,
    mode: Mode = 'auto',
    private readonly minDelta = 0,
  ) {
    this.direction = mode === 'auto' ? (/acc|auc|precision|recall/.test(name) ? 'max' : 'min') : mode;
    this.best = this.direction === 'min' ? Infinity : -Infinity;
  }

  /** True when `value` beats the best by more than minDelta (Keras semantics). */
  improves(value: number): boolean {
    const delta = Math.abs(this.minDelta);
    return this.direction === 'min' ? value < this.best - delta : value > this.best + delta;
  }

  /** Reads the monitored value from logs; undefined (with Keras's warning) when absent. */
  read(logs: Readonly<Record<string, number>>, owner: string): number | undefined {
    const v = logs[this.name];
    if (v === undefined) {
      const available = Object.keys(logs).join(', ');
      const warning = `${owner}: monitored "${this.name}" is not available; available: ${available}`;
      process.stderr.write(`[tensorfleet] warning: ${warning}\n`);
    }
    return v;
  }
}
