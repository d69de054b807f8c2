/**
 * ProgbarLogger drives Progress from the callback hooks: for the same epochs, batches and clock it
 * writes byte for byte what Progress writes when called directly, with the running means the loop
 * hands it rather than the per-batch logs, and an epoch stopped early counts the rounds it ran.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { ProgbarLogger } from '../../../coordinator/callbacks/progbar-logger.ts';
import { Progress, type ProgressSink } from '../../../coordinator/progress.ts';
import { CallbackList, type Logs, type TrainingControl } from '../../../shared/model/callbacks.ts';

function sink(isTTY: boolean): ProgressSink & { out: string[]; at(ms: number): void } {
  let now = 0;
  const out: string[] = [];
  return { out, isTTY, now: () => now, write: (t) => void out.push(t), at: (ms) => void (now = ms) };
}

const control = (verbose: number, epochs: number, steps: number): TrainingControl => ({
  model: tf.sequential(),
  optimizer: tf.train.sgd(0.1),
  stopTraining: false,
  params: { epochs, steps, batchSize: 32, verbose },
});

/** Two epochs of 5 batches (the last one short), the second stopped after batch 2. */
const PLAN = [
  { epoch: 0, batches: [32, 32, 32, 32, 8] },
  { epoch: 1, batches: [32, 32, 32] },
];

describe('ProgbarLogger', () => {
  const modes = [
    [1, true],
    [1, false],
    [2, true],
    [2, false],
  ] as const;
  it.each(modes)('writes what Progress writes (verbose %s, TTY %s)', async (verbose, tty) => {
    const direct = sink(tty);
    const progress = new Progress(verbose, 2, direct);
    const hooked = sink(tty);
    const soFar: { batchSize: number; logs: Logs } = { batchSize: 0, logs: {} };
    const list = new CallbackList([]).withBuiltIns({ first: [new ProgbarLogger(soFar, hooked)] });
    list.setControl(control(verbose, 2, 5));
    let t = 0;
    for (const { epoch, batches } of PLAN) {
      direct.at((t += 40));
      hooked.at(t);
      progress.epochBegin(epoch);
      await list.call('onEpochBegin', epoch, {});
      let sum = 0;
      let seen = 0;
      for (const [step, size] of batches.entries()) {
        direct.at((t += 130));
        hooked.at(t);
        sum += size * (1 / (step + 1));
        seen += size;
        const running = { loss: sum / seen };
        progress.step(step + 1, 5, size, running);
        Object.assign(soFar, { batchSize: size, logs: running });
        await list.call('onTrainBatchEnd', step, { loss: 99 }); // per-batch logs: not what the bar shows
      }
      const logs = { loss: sum / seen, val_loss: 0.5 };
      progress.epochEnd(batches.length, logs);
      await list.call('onEpochEnd', epoch, logs);
    }
    expect(hooked.out).toEqual(direct.out);
    expect(hooked.out.join('')).not.toContain('99.0000');
    // The stopped epoch reports the 3 rounds it ran.
    expect(hooked.out.at(-1)).toMatch(verbose === 1 ? /^\r?3\/3 \[=+\] - / : /^3\/3 - /);
  });

  it('prints nothing at verbose 0', async () => {
    const s = sink(true);
    const bar = new ProgbarLogger({ batchSize: 8, logs: { loss: 1 } }, s);
    const list = new CallbackList([]).withBuiltIns({ first: [bar] });
    list.setControl(control(0, 1, 1));
    await list.call('onEpochBegin', 0, {});
    await list.call('onTrainBatchEnd', 0, { loss: 1 });
    await list.call('onEpochEnd', 0, { loss: 1 });
    expect(s.out).toEqual([]);
  });
});
