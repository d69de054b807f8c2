/**
 * Each Keras callback on a small real model trained on a real 2-worker cluster (cpu backend), showing
 * the Keras behaviour: restored best weights, a halved learning rate, checkpoints only for improving
 * epochs, CSV rows, schedules, termination on NaN, every hook of a user callback, TensorBoard files
 * that Python's tensorboard reads.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { local, type LocalCluster } from '../../api/cluster.ts';
import { CSVLogger } from '../../coordinator/callbacks/csv-logger.ts';
import { EarlyStopping } from '../../coordinator/callbacks/early-stopping.ts';
import { getLearningRate } from '../../shared/model/keras/learning-rate.ts';
import { LearningRateScheduler } from '../../coordinator/callbacks/lr-scheduler.ts';
import { ModelCheckpoint } from '../../coordinator/callbacks/model-checkpoint.ts';
import { ReduceLROnPlateau } from '../../coordinator/callbacks/reduce-lr-on-plateau.ts';
import { TensorBoard } from '../../coordinator/callbacks/tensorboard.ts';
import { TerminateOnNaN } from '../../coordinator/callbacks/terminate-on-nan.ts';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { BaseCallback, type Logs } from '../../shared/model/callbacks.ts';
import { smallModel, tensors } from '../helpers/data.ts';

let cluster: LocalCluster;
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'tf-callbacks-'));
const data = tensors(256);
const val = tensors(64, 8);
const fitArgs = { batchSize: 32, verbose: 0 as const, validationData: [val.x, val.y] as [tf.Tensor, tf.Tensor] };

beforeAll(async () => {
  await selectBackend('cpu');
  cluster = await local({ workers: 2, backend: 'cpu' });
});

afterAll(() => cluster.close());

/** Records every hook call and snapshots the weights at each epoch end. */
class Recorder extends BaseCallback {
  calls: string[] = [];
  weights: tf.Tensor[][] = [];
  onTrainBegin() {
    this.calls.push('trainBegin');
  }
  onTrainEnd() {
    this.calls.push('trainEnd');
  }
  onEpochBegin(e: number) {
    this.calls.push(`epochBegin ${e}`);
  }
  onEpochEnd(e: number, logs: Logs) {
    this.calls.push(`epochEnd ${e} ${Object.keys(logs).sort().join(',')}`);
    this.weights.push(this.control.model.getWeights().map((w) => w.clone()));
  }
  onTrainBatchBegin(b: number) {
    this.calls.push(`batchBegin ${b}`);
  }
  onTrainBatchEnd(b: number, logs: Logs) {
    this.calls.push(`batchEnd ${b} ${Number.isFinite(logs['loss']) ? 'finite' : 'nan'}`);
  }
  onTestBegin() {
    this.calls.push('testBegin');
  }
  onTestEnd() {
    this.calls.push('testEnd');
  }
}

const sameWeights = (a: tf.Tensor[], b: tf.Tensor[]) =>
  a.every((t, i) => tf.max(tf.abs(tf.sub(t, b[i] as tf.Tensor))).dataSync()[0] === 0);

describe('callbacks on the cluster', () => {
  it('user callbacks get every Keras hook, in order', async () => {
    const rec = new Recorder();
    await cluster.fit(smallModel(), data.x, data.y, { ...fitArgs, epochs: 2, callbacks: [rec] });
    expect(rec.calls[0]).toBe('trainBegin');
    expect(rec.calls[1]).toBe('epochBegin 0');
    expect(rec.calls.slice(2, 4)).toEqual(['batchBegin 0', 'batchEnd 0 finite']);
    expect(rec.calls.filter((c) => c.startsWith('batchEnd')).length).toBe(16);
    expect(rec.calls).toContain('epochEnd 1 accuracy,loss,val_accuracy,val_loss');
    expect(rec.calls.indexOf('testEnd')).toBeLessThan(
      rec.calls.indexOf('epochEnd 0 accuracy,loss,val_accuracy,val_loss'),
    );
    expect(rec.calls.at(-1)).toBe('trainEnd');
  });

  it("EarlyStopping with restoreBestWeights stops and ends with the best epoch's weights", async () => {
    const rec = new Recorder();
    // Good steps for 3 epochs, then a learning rate that makes validation loss worse.
    const schedule = new LearningRateScheduler((epoch) => (epoch < 3 ? 0.3 : 8));
    const stop = new EarlyStopping({ monitor: 'val_loss', patience: 2, restoreBestWeights: true });
    const model = smallModel(tf.train.sgd(0.3));
    const history = await cluster.fit(model, data.x, data.y, {
      ...fitArgs,
      epochs: 20,
      callbacks: [schedule, rec, stop],
    });
    const valLoss = history.history['val_loss'] as number[];
    expect(valLoss.length).toBeLessThan(20);
    const best = valLoss.indexOf(Math.min(...valLoss));
    expect(stop.bestEpoch).toBe(best);
    expect(valLoss.length).toBe(best + 3); // patience 2 after the best epoch
    expect(sameWeights(model.getWeights(), rec.weights[best] as tf.Tensor[])).toBe(true);
    expect(sameWeights(model.getWeights(), rec.weights.at(-1) as tf.Tensor[])).toBe(false);
  });

  it('ReduceLROnPlateau halves the learning rate the coordinator optimizer uses', async () => {
    const opt = tf.train.sgd(0.1);
    // minDelta 10: no epoch counts as an improvement after the first, so it fires after patience 1.
    const reduce = new ReduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 1, minDelta: 10, minLr: 0.01 });
    const history = await cluster.fit(smallModel(opt), data.x, data.y, { ...fitArgs, epochs: 3, callbacks: [reduce] });
    expect(history.history['learning_rate']).toEqual([0.1, 0.1, 0.05]);
    expect(getLearningRate(opt)).toBe(0.025);
  });

  it('the optimizer really applies the changed learning rate (SGD, momentum, Adam)', async () => {
    const { setLearningRate } = await import('../../shared/model/keras/learning-rate.ts');
    for (const make of [() => tf.train.sgd(0.1), () => tf.train.momentum(0.1, 0.9), () => tf.train.adam(0.1)]) {
      const step = (lr: number) => {
        const opt = make();
        setLearningRate(opt, lr);
        const v = tf.variable(tf.tensor([1, 2, 3]));
        opt.applyGradients([{ name: v.name, tensor: tf.tensor([0.5, -1, 2]) }]);
        return tf.sub(tf.tensor([1, 2, 3]), v).dataSync();
      };
      const full = step(0.1);
      const half = step(0.05);
      full.forEach((d, i) => expect(half[i]).toBeCloseTo(d / 2, 6));
    }
  });

  it('ModelCheckpoint with saveBestOnly writes files only for improving epochs', async () => {
    const dir = tmp();
    const schedule = new LearningRateScheduler((epoch) => (epoch % 2 === 0 ? 0.3 : 6)); // alternate good and bad epochs
    const ckpt = new ModelCheckpoint(path.join(dir, 'ckpt-{epoch:02d}-{val_loss:.2f}.keras'), {
      monitor: 'val_loss',
      saveBestOnly: true,
    });
    const history = await cluster.fit(smallModel(tf.train.sgd(0.3)), data.x, data.y, {
      ...fitArgs,
      epochs: 6,
      callbacks: [schedule, ckpt],
    });
    const valLoss = history.history['val_loss'] as number[];
    let best = Infinity;
    const expected: string[] = [];
    valLoss.forEach((v, e) => {
      if (v < best) {
        best = v;
        expected.push(path.join(dir, `ckpt-${String(e + 1).padStart(2, '0')}-${v.toFixed(2)}.keras`));
      }
    });
    expect(expected.length).toBeLessThan(valLoss.length);
    expect(ckpt.saved).toEqual(expected);
    for (const f of expected) expect(existsSync(f)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(expected.map((f) => path.basename(f)).sort()); // nothing for worse epochs
  });

  it("CSVLogger writes a header and one row per epoch; LearningRateScheduler sets each epoch's rate", async () => {
    const file = path.join(tmp(), 'log.csv');
    const opt = tf.train.adam(0.01);
    await cluster.fit(smallModel(opt), data.x, data.y, {
      ...fitArgs,
      epochs: 3,
      callbacks: [new LearningRateScheduler((e) => 0.01 * 0.5 ** e), new CSVLogger(file)],
    });
    const rows = readFileSync(file, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('epoch,accuracy,learning_rate,loss,val_accuracy,val_loss');
    expect(rows).toHaveLength(4);
    expect(rows.map((r) => r.split(',')[2])).toEqual(['learning_rate', '0.01', '0.005', '0.0025']);
    expect(getLearningRate(opt)).toBe(0.0025);
  });

  it('TerminateOnNaN stops cleanly on a diverging run; without it the run fails; NaN never reaches the model', async () => {
    const m1 = smallModel(tf.train.sgd(1e30));
    const history = await cluster.fit(m1, data.x, data.y, { ...fitArgs, epochs: 5, callbacks: [new TerminateOnNaN()] });
    expect(history.epoch.length).toBe(1);
    expect(Number.isNaN(history.history['loss']?.[0])).toBe(true);
    for (const w of m1.getWeights()) expect(w.isFinite().all().dataSync()[0]).toBe(1);
    const m2 = smallModel(tf.train.sgd(1e30));
    const err = await cluster.fit(m2, data.x, data.y, { ...fitArgs, epochs: 5 }).then(
      () => undefined,
      (e: { code?: string }) => e,
    );
    expect(err?.code).toBe('FLEET_ERR_NONFINITE');
  });

  it("TensorBoard writes train/ and validation/ event files that Python's tensorboard reads", async () => {
    const logDir = tmp();
    const history = await cluster.fit(smallModel(), data.x, data.y, {
      ...fitArgs,
      epochs: 3,
      callbacks: [new TensorBoard({ logDir, updateFreq: 'batch' })],
    });
    const python = path.resolve(import.meta.dirname, '../../.venv/bin/python');
    expect(existsSync(python), 'the Python venv from .ci/steps/20-python.sh').toBe(true);
    const out = JSON.parse(
      execFileSync(python, [path.resolve(import.meta.dirname, '../python/read_tb.py'), logDir], { encoding: 'utf8' }),
    ) as Record<string, Record<string, [number, number][]>>;
    const f32 = (v: number) => Math.fround(v);
    expect(out['train']?.['epoch_loss']).toEqual((history.history['loss'] as number[]).map((v, i) => [i, f32(v)]));
    expect(out['train']?.['epoch_accuracy']?.map((p) => p[1])).toEqual(
      (history.history['accuracy'] as number[]).map(f32),
    );
    expect(out['train']?.['epoch_learning_rate']).toEqual([
      [0, f32(0.001)],
      [1, f32(0.001)],
      [2, f32(0.001)],
    ]);
    expect(out['validation']?.['epoch_loss']).toEqual(
      (history.history['val_loss'] as number[]).map((v, i) => [i, f32(v)]),
    );
    expect(out['train']?.['batch_loss']).toHaveLength(24);
  });
});
