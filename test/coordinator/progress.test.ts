/**
 * Progress, Keras's training output, on a fake sink with an injected clock: the exact lines at
 * verbose 1 (bar redrawn in place on a TTY, printed once per epoch otherwise) and verbose 2, the ETA
 * and throughput text, redraw throttling, and silence at verbose 0.
 */
import { describe, expect, it } from 'vitest';
import { formatLogs, Progress, type ProgressSink } from '../../coordinator/progress.ts';

/** A sink that records writes; `at` sets what the clock reads (ms). */
function sink(isTTY: boolean): ProgressSink & { out: string[]; at(ms: number): void } {
  let now = 0;
  const out: string[] = [];
  return { out, isTTY, now: () => now, write: (t) => void out.push(t), at: (ms) => void (now = ms) };
}

const FULL = '='.repeat(30);

describe('formatLogs', () => {
  it('writes " - key: value" with 4 decimals, in the logs\' order', () => {
    const text = formatLogs({ loss: 0.123456, accuracy: 1, val_loss: 2.5e-5 });
    expect(text).toBe(' - loss: 0.1235 - accuracy: 1.0000 - val_loss: 0.0000');
    expect(formatLogs({})).toBe('');
  });
});

describe('Progress', () => {
  it('verbose 1 on a TTY: the bar with ETA and samples/s, redrawn in place, then the epoch line', () => {
    const s = sink(true);
    const p = new Progress(1, 3, s);
    s.at(1000);
    p.epochBegin(0);
    s.at(2000);
    p.step(1, 10, 32, { loss: 1 });
    s.at(2050); // within 100 ms of the last draw: not redrawn
    p.step(2, 10, 32, { loss: 0.9 });
    s.at(4000);
    p.step(3, 10, 32, { loss: 0.8 });
    s.at(11000);
    p.step(10, 10, 16, { loss: 0.5 }); // 112 samples in 10 s
    p.epochEnd(10, { loss: 0.5, val_loss: 0.75 });
    expect(s.out).toEqual([
      'Epoch 1/3\n',
      `\r 1/10 [==>${'.'.repeat(27)}] - ETA: 9s - 32 samples/s - loss: 1.0000\x1b[K`,
      `\r 3/10 [========>${'.'.repeat(21)}] - ETA: 7s - 32 samples/s - loss: 0.8000\x1b[K`,
      `\r10/10 [${FULL}] - ETA: 0s - 11 samples/s - loss: 0.5000\x1b[K`,
      `\r10/10 [${FULL}] - 10s 1000ms/step - 11 samples/s - loss: 0.5000 - val_loss: 0.7500\x1b[K\n`,
    ]);
  });

  it('verbose 1 without a TTY: "Epoch i/n" and one line per epoch, no control characters', () => {
    const s = sink(false);
    const p = new Progress(1, 2, s);
    p.epochBegin(1);
    for (let i = 1; i <= 4; i++) {
      s.at(i * 500);
      p.step(i, 4, 32, { loss: 1 / i });
    }
    p.epochEnd(4, { loss: 0.25, accuracy: 0.5 });
    const line = `4/4 [${FULL}] - 2s 500ms/step - 64 samples/s - loss: 0.2500 - accuracy: 0.5000\n`;
    expect(s.out).toEqual(['Epoch 2/2\n', line]);
  });

  it('verbose 2: no bar, one line per epoch (erased to the end on a TTY)', () => {
    for (const tty of [false, true]) {
      const s = sink(tty);
      const p = new Progress(2, 5, s);
      p.epochBegin(4);
      s.at(250);
      p.step(1, 2, 10, { loss: 3 });
      s.at(500);
      p.step(2, 2, 10, { loss: 2 });
      p.epochEnd(2, { loss: 2 });
      const line = `2/2 - 1s - 250ms/step - 40 samples/s - loss: 2.0000${tty ? '\x1b[K' : ''}\n`;
      expect(s.out).toEqual(['Epoch 5/5\n', line]);
    }
  });

  it('an epoch stopped early reports the rounds it ran', () => {
    const s = sink(false);
    const p = new Progress(1, 1, s);
    p.epochBegin(0);
    s.at(300);
    p.step(1, 8, 32, { loss: 1 });
    p.epochEnd(1, { loss: 1 });
    expect(s.out[1]).toBe(`1/1 [${FULL}] - 0s 300ms/step - 107 samples/s - loss: 1.0000\n`);
  });

  it('writes ETAs and durations as s, m:ss and h:mm:ss', () => {
    const s = sink(true);
    const p = new Progress(1, 1, s);
    p.epochBegin(0);
    s.at(90_000);
    p.step(1, 2, 9000, {});
    s.at(100_000 + 200);
    p.step(1, 100, 1, {});
    s.at(4000 * 1000);
    p.epochEnd(100, {});
    expect(s.out[1]).toMatch(/^\r1\/2 \[=+>\.+\] - ETA: 1:30 - 100 samples\/s\x1b\[K$/);
    expect(s.out[2]).toMatch(/ - ETA: 2:45:19 - 90 samples\/s\x1b\[K$/);
    expect(s.out[3]).toBe(`\r100/100 [${FULL}] - 1:06:40 40000ms/step - 2 samples/s\x1b[K\n`);
  });

  it('verbose 0 writes nothing', () => {
    const s = sink(true);
    const p = new Progress(0, 2, s);
    p.epochBegin(0);
    s.at(500);
    p.step(1, 1, 8, { loss: 1 });
    p.epochEnd(1, { loss: 1 });
    expect(s.out).toEqual([]);
  });
});
