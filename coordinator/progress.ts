/**
 * Keras-style training output: `Epoch i/n`, then a progress bar at verbose=1 (redrawn in place on a
 * TTY, printed once per epoch otherwise), or one line per epoch at verbose=2.
 */

/** Where progress goes, and the clock it uses (injected so tests are deterministic). */
export interface ProgressSink {
  write(text: string): void;
  readonly isTTY: boolean;
  now(): number;
}

/** The default sink: stdout and the wall clock. */
export const stdoutSink: ProgressSink = {
  write: (t) => void process.stdout.write(t),
  isTTY: Boolean(process.stdout.isTTY),
  now: () => performance.now(),
};

const BAR = 30;

/** Formats "name: value" pairs the way Keras does (4 decimals). */
export function formatLogs(logs: Readonly<Record<string, number>>): string {
  return Object.entries(logs)
    .map(([k, v]) => ` - ${k}: ${v.toFixed(4)}`)
    .join('');
}

function seconds(s: number): string {
  return s >= 3600
    ? `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`
    : s >= 60
      ? `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`
      : `${Math.round(s)}s`;
}

/** Progress of one fit; call epochBegin, step (per round), epochEnd. */
export class Progress {
  private epochStart = 0;
  private lastDraw = 0;
  private samples = 0;

  constructor(
    private readonly verbose: 0 | 1 | 2,
    private readonly epochs: number,
    private readonly sink: ProgressSink = stdoutSink,
  ) {}

  /** Starts epoch `epoch` (0-based) of `steps` rounds. */
  epochBegin(epoch: number): void {
    this.epochStart = this.sink.now();
    this.samples = 0;
    if (this.verbose > 0) this.sink.write(`Epoch ${epoch + 1}/${this.epochs}\n`);
  }

  /** After round `done` of `steps`, with running mean logs. */
  step(done: number, steps: number, samples: number, logs: Readonly<Record<string, number>>): void {
    this.samples += samples;
    if (this.verbose !== 1 || !this.sink.isTTY) return;
    const now = this.sink.now();
    if (now - this.lastDraw < 100 && done < steps) return; // redraw at most 10 times a second
    this.lastDraw = now;
    const elapsed = (now - this.epochStart) / 1000;
    const eta = (elapsed / done) * (steps - done);
    const rate = this.samples / Math.max(elapsed, 1e-9);
    this.sink.write(
      `\r${this.bar(done, steps)} - ETA: ${seconds(eta)} - ${Math.round(rate)} samples/s${formatLogs(logs)}\x1b[K`,
    );
  }

  /** Ends the epoch with its final logs (training and validation). */
  epochEnd(steps: number, logs: Readonly<Record<string, number>>): void {
    if (this.verbose === 0) return;
    const elapsed = (this.sink.now() - this.epochStart) / 1000;
    const perStep = `${Math.round((elapsed * 1000) / Math.max(steps, 1))}ms/step`;
    const rate = `${Math.round(this.samples / Math.max(elapsed, 1e-9))} samples/s`;
    const head =
      this.verbose === 1
        ? `${this.sink.isTTY ? '\r' : ''}${this.bar(steps, steps)} - ${seconds(elapsed)} ${perStep}`
        : `${steps}/${steps} - ${seconds(elapsed)} - ${perStep}`;
    this.sink.write(`${head} - ${rate}${formatLogs(logs)}${this.sink.isTTY ? '\x1b[K' : ''}\n`);
  }

  private bar(done: number, steps: number): string {
    const width = String(steps).length;
    const filled = Math.floor((done / Math.max(steps, 1)) * BAR);
    const body =
      done >= steps
        ? '='.repeat(BAR)
        : `${'='.repeat(Math.max(filled - 1, 0))}>${'.'.repeat(BAR - Math.max(filled, 1))}`;
    return `${String(done).padStart(width)}/${steps} [${body}]`;
  }
}
