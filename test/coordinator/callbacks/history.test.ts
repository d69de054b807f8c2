/**
 * History records each epoch's logs under their keys; it serialises as the Keras History JSON that
 * history.json holds; restore() continues a checkpoint's record; HistoryFile rewrites the file at
 * each epoch end.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { History } from '../../../coordinator/callbacks/history.ts';
import { HistoryFile } from '../../../coordinator/callbacks/history-file.ts';
import { CallbackList } from '../../../shared/model/callbacks.ts';

describe('History', () => {
  it("records epochs and their logs, keys in first-seen order, and serialises as Keras's History", () => {
    const h = new History();
    h.onEpochEnd(0, { loss: 1, accuracy: 0.5 });
    h.onEpochEnd(1, { loss: 0.5, accuracy: 0.75, learning_rate: 0.01 });
    expect(h.epoch).toEqual([0, 1]);
    expect(h.history).toEqual({ loss: [1, 0.5], accuracy: [0.5, 0.75], learning_rate: [0.01] });
    const keras = '{"epoch":[0,1],"history":{"loss":[1,0.5],"accuracy":[0.5,0.75],"learning_rate":[0.01]}}';
    expect(JSON.stringify(h)).toBe(keras);
  });

  it("restore() replaces the record with a checkpoint's copy and continues it", () => {
    const h = new History();
    h.onEpochEnd(0, { stale: 3 });
    const saved = { epoch: [0, 1], history: { loss: [2, 1] } };
    h.restore(saved);
    h.onEpochEnd(2, { loss: 0.5 });
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(h.history).toEqual({ loss: [2, 1, 0.5] });
    expect(saved).toEqual({ epoch: [0, 1], history: { loss: [2, 1] } }); // the checkpoint's record is not aliased
  });
});

describe('HistoryFile', () => {
  it('rewrites the History as indented JSON after each epoch, once History has recorded it', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'tf-history-')), 'out', 'history.json');
    const h = new History();
    const list = new CallbackList([]).withBuiltIns({ last: [h, new HistoryFile(file, h)] });
    await list.call('onEpochEnd', 0, { loss: 1 });
    expect(readFileSync(file, 'utf8')).toBe(JSON.stringify({ epoch: [0], history: { loss: [1] } }, null, 2));
    await list.call('onEpochEnd', 1, { loss: 0.25 });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ epoch: [0, 1], history: { loss: [1, 0.25] } });
  });
});
