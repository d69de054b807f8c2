/**
 * CallbackList: hooks in order (built-ins first and last around the user's), each awaited before the
 * next; checkpointed state by the user's positions only, so built-ins never shift older checkpoints.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { CallbackList, type Callback, type Logs, type TrainingControl } from '../../../shared/model/callbacks.ts';

/** Logs every hook it sees into `log`, as `<name> <hook> <arg>`; `delayMs` makes onEpochEnd slow. */
function recorder(name: string, log: string[], extra: Partial<Callback> = {}, delayMs = 0): Callback {
  return {
    setControl: (c) => void log.push(`${name} setControl ${c.params.epochs}`),
    onTrainBegin: () => void log.push(`${name} trainBegin`),
    onEpochEnd: async (epoch: number, logs: Logs) => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      log.push(`${name} epochEnd ${epoch} ${Object.keys(logs).join(',')}`);
    },
    ...extra,
  };
}

describe('CallbackList', () => {
  it("calls the built-ins first and last around the user's callbacks, awaiting each in turn", async () => {
    const log: string[] = [];
    const addsLr = recorder('b', log, { onEpochEnd: (_e, logs) => void (logs['lr'] = 0.5) });
    const user = new CallbackList([recorder('a', log, {}, 20), addsLr]);
    const list = user.withBuiltIns({ first: [recorder('bar', log)], last: [recorder('history', log)] });
    const control: TrainingControl = {
      model: tf.sequential(),
      optimizer: tf.train.sgd(0.1),
      stopTraining: false,
      params: { epochs: 4, steps: 2, batchSize: 8, verbose: 1 },
    };
    list.setControl(control);
    await list.call('onTrainBegin', {});
    await list.call('onEpochEnd', 0, { loss: 1 });
    expect(log).toEqual([
      'bar setControl 4',
      'a setControl 4',
      'b setControl 4',
      'history setControl 4',
      'bar trainBegin',
      'a trainBegin',
      'b trainBegin',
      'history trainBegin',
      // a is slow, yet b (which logs nothing here) waits for it; history, last, sees the key b added
      'bar epochEnd 0 loss',
      'a epochEnd 0 loss',
      'history epochEnd 0 loss,lr',
    ]);
    // The original list is unchanged: only the user's callbacks.
    log.length = 0;
    await user.call('onTrainBegin', {});
    expect(log).toEqual(['a trainBegin', 'b trainBegin']);
  });

  it("saves and restores state by the user's positions only", () => {
    const restored: unknown[] = [];
    const stateful = (s: unknown): Callback => ({ getState: () => s, setState: (v) => void restored.push(v) });
    const builtIn: Callback = { getState: () => 'built-in', setState: () => void restored.push('built-in restored') };
    const list = new CallbackList([stateful({ wait: 2 }), {}, stateful('csv')], { first: [builtIn], last: [builtIn] });
    expect(list.getStates()).toEqual([{ wait: 2 }, undefined, 'csv']);
    list.setStates([{ wait: 5 }, 'ignored: no setState', undefined]);
    expect(restored).toEqual([{ wait: 5 }]);
  });
});
