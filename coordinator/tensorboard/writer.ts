/**
 * A TensorBoard event file writer for scalars, readable by Python's `tensorboard` package.
 *
 *   const w = new SummaryWriter('logs/train');
 *   w.scalar('epoch_loss', 0.42, 0);
 *   w.close();
 *
 * Concurrency contract: one writer per file, used from one place; all I/O is synchronous, so a record is
 * either still in this process's queue or handed to the OS. Records still queued when the process dies
 * without flush()/close() are lost, as with TF's writer (no exit hook: that would be an import-time
 * side effect).
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';
import { encodeEvent, type TbEvent } from './proto.ts';
import { encodeRecord } from './record.ts';

/** The file_version of every TF 2 event file; TensorBoard reads the first record for it. */
export const FILE_VERSION = 'brain.Event:2';

/** Options of a SummaryWriter. */
export interface SummaryWriterOptions {
  /** Clock in milliseconds since the Unix epoch (default Date.now); sets wall_time and the file name. */
  now?: () => number;
  /** Records queued in memory before they are written out (count; TF's max_queue default is 10). */
  maxQueue?: number;
}

/** Writes scalar summaries to a new `events.out.tfevents.*` file under `logdir` (created if missing). */
export class SummaryWriter {
  /** Absolute path of the event file this writer owns. */
  readonly path: string;
  private readonly now: () => number;
  private readonly maxQueue: number;
  private readonly queue: Buffer[] = [];
  private fd: number | undefined;

  constructor(logdir: string, opts: SummaryWriterOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.maxQueue = opts.maxQueue ?? 10;
    if (!Number.isInteger(this.maxQueue) || this.maxQueue < 1)
      throw fleetError('TB_MAX_QUEUE', { received: opts.maxQueue });
    mkdirSync(logdir, { recursive: true });
    const opened = openEventFile(path.resolve(logdir), Math.floor(this.now() / 1000));
    this.path = opened.path;
    this.fd = opened.fd;
    // Written at once, so that TensorBoard sees the run (and the file is valid) before the first scalar.
    this.append({ wallTime: this.now() / 1000, step: 0, fileVersion: FILE_VERSION });
    this.flush();
  }

  /** Queues one scalar as `simple_value` (what TensorBoard's Scalars() reads); NaN and Inf are kept. */
  scalar(tag: string, value: number, step: number): void {
    if (typeof tag !== 'string' || tag.length === 0) throw fleetError('TB_BAD_TAG', { tag });
    if (typeof value !== 'number') throw fleetError('TB_BAD_VALUE', { tag, value });
    if (!Number.isSafeInteger(step)) throw fleetError('TB_BAD_STEP', { tag, step });
    this.append({ wallTime: this.now() / 1000, step, summary: { value: [{ tag, simpleValue: value }] } });
  }

  /** Writes every queued record to the file. A no-op once closed. */
  flush(): void {
    if (this.fd === undefined || this.queue.length === 0) return;
    const data = Buffer.concat(this.queue.splice(0));
    let written = 0;
    while (written < data.byteLength) written += writeSync(this.fd, data, written);
  }

  /** Flushes and closes the file; later close() calls do nothing, later scalar() calls throw. */
  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
  }

  private append(event: TbEvent): void {
    if (this.fd === undefined) throw fleetError('TB_CLOSED', { path: this.path });
    this.queue.push(encodeRecord(encodeEvent(event)));
    if (this.queue.length >= this.maxQueue) this.flush();
  }
}

/**
 * Creates the event file exclusively: `events.out.tfevents.<secs>.<host>.<pid>.v2`, like TF. A second
 * writer in the same process, directory and second gets `.<pid>.<n>.v2` instead of appending to the first.
 */
function openEventFile(dir: string, secs: number): { path: string; fd: number } {
  const stem = `events.out.tfevents.${String(secs).padStart(10, '0')}.${os.hostname()}.${process.pid}`;
  for (let n = 0; ; n++) {
    const file = path.join(dir, n === 0 ? `${stem}.v2` : `${stem}.${n}.v2`);
    try {
      return { path: file, fd: openSync(file, 'wx') };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
