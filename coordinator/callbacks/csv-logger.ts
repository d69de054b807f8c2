/** CSVLogger: append one row per epoch (epoch, then every log key) to a CSV file. */
import { appendFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BaseCallback, type Logs } from '../../shared/model/callbacks.ts';

/** Writes `epoch,<keys...>` rows; with `append`, continues an existing file (as after a resume). */
export class CSVLogger extends BaseCallback {
  private keys: string[] | undefined;

  constructor(
    private readonly filename: string,
    private readonly opts: { separator?: string; append?: boolean } = {},
  ) {
    super();
  }

  private resumed = false;

  getState(): unknown {
    return { started: true };
  }

  /** After a resume the file already holds the earlier epochs: keep appending to it. */
  setState(): void {
    this.resumed = true;
  }

  onTrainBegin(): void {
    mkdirSync(path.dirname(path.resolve(this.filename)), { recursive: true });
    if (!(this.opts.append || this.resumed) || !existsSync(this.filename)) writeFileSync(this.filename, '');
    this.keys = undefined;
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    const sep = this.opts.separator ?? ',';
    if (this.keys === undefined) {
      this.keys = Object.keys(logs).sort();
      if (statSync(this.filename).size === 0) appendFileSync(this.filename, `${['epoch', ...this.keys].join(sep)}\n`);
    }
    const row = [String(epoch), ...this.keys.map((k) => (logs[k] === undefined ? '' : String(logs[k])))];
    appendFileSync(this.filename, `${row.join(sep)}\n`);
  }
}
