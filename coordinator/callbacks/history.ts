/** History: each epoch's logs under their Keras keys, recorded as Keras's History callback does. */
import type { Callback, Logs } from '../../shared/model/callbacks.ts';

/** A record of epochs as History keeps it and history.json stores it. */
export interface HistoryRecord {
  readonly epoch: readonly number[];
  readonly history: Readonly<Record<string, readonly number[]>>;
}

/**
 * Records the epoch logs. The trainer adds it after the user's callbacks, so keys they add (such as
 * `learning_rate`) are recorded too. Its only own fields are `epoch` and `history`, so it serialises
 * as the Keras History JSON.
 */
export class History implements Callback {
  readonly epoch: number[] = [];
  readonly history: Record<string, number[]> = {};

  onEpochEnd(epoch: number, logs: Logs): void {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
  }

  /** Replaces the record with a checkpoint's, so a resumed run continues it. */
  restore(record: HistoryRecord): void {
    this.epoch.splice(0, this.epoch.length, ...record.epoch);
    for (const k of Object.keys(this.history)) delete this.history[k];
    for (const [k, v] of Object.entries(record.history)) this.history[k] = [...v];
  }
}
