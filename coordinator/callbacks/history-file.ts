/** HistoryFile: rewrites a History as JSON after every epoch (what `--out DIR` leaves in history.json). */
import { atomicWriteBytes } from '../../shared/io/saving/files.ts';
import type { Callback } from '../../shared/model/callbacks.ts';
import type { HistoryRecord } from './history.ts';

/** Writes `history` to `file` at each epoch end, atomically, so a reader never sees half a file. */
export class HistoryFile implements Callback {
  constructor(
    private readonly file: string,
    private readonly history: HistoryRecord,
  ) {}

  async onEpochEnd(): Promise<void> {
    await atomicWriteBytes(this.file, new TextEncoder().encode(JSON.stringify(this.history, null, 2)));
  }
}
