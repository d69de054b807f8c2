/**
 * What one API call hands its workers: the arrays (a folder for `local()`, the welcome's data group for
 * `cluster({ bind })`) and the compile options, with a custom loss referred to by its module's export.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ArrayData } from '../shared/model/data/dataset.ts';
import type { CompileSpec } from '../shared/model/job.ts';
import type { SampleFn } from '../shared/model/keras/losses.ts';
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import { importUserModule } from '../shared/runtime/tsx.ts';
import type { WireTensor } from '../shared/wire/protocol.ts';
import { SPLITS, type InlineMeta, type LossRef, type SplitName } from './inline-job.ts';

/** The arrays of one call, by split. */
export type CallSplits = Partial<Record<SplitName, ArrayData>>;

/** The shapes of each split, as InlineMeta records them. */
export function splitShapes(splits: CallSplits): InlineMeta['splits'] {
  const shapes: InlineMeta['splits'] = {};
  for (const name of SPLITS) {
    const d = splits[name];
    if (d) shapes[name] = { xShape: [...d.xShape], yShape: [...d.yShape] };
  }
  return shapes;
}

/** Writes meta.json and one .f32 file per array into a new temporary folder; returns the folder. */
export function writeCallFolder(meta: InlineMeta, splits: CallSplits): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tensorfleet-inline-'));
  mkdirSync(dir, { recursive: true });
  for (const name of SPLITS) {
    const d = splits[name];
    if (!d) continue;
    writeFileSync(path.join(dir, `${name}.x.f32`), Buffer.from(d.x.buffer, d.x.byteOffset, d.x.byteLength));
    writeFileSync(path.join(dir, `${name}.y.f32`), Buffer.from(d.y.buffer, d.y.byteOffset, d.y.byteLength));
  }
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta));
  return dir;
}

/** The arrays as the welcome's data group: `<split>.x` and `<split>.y`, float32. */
export function wireArrays(splits: CallSplits): WireTensor[] {
  return SPLITS.flatMap((name) => {
    const d = splits[name];
    if (!d) return [];
    return [
      { name: `${name}.x`, dtype: 'float32' as const, shape: [...d.xShape], data: d.x },
      { name: `${name}.y`, dtype: 'float32' as const, shape: [...d.yShape], data: d.y },
    ];
  });
}

/** Checks a pair of tensors with the same number of rows and copies them into float32 arrays. */
export function toArrays(xName: string, x: tf.Tensor, yName: string, y: tf.Tensor): ArrayData {
  if (!(x instanceof tf.Tensor) || !(y instanceof tf.Tensor)) {
    throw fleetError('API_NOT_TENSORS', { xName, yName, x: x?.constructor?.name, y: y?.constructor?.name });
  }
  if (x.shape[0] !== y.shape[0]) {
    throw fleetError('API_ROWS_MISMATCH', { xName, yName, xRows: x.shape[0], yRows: y.shape[0] });
  }
  const xs = x.dataSync();
  const xArray = xs instanceof Float32Array ? xs : Float32Array.from(xs);
  return { x: xArray, xShape: x.shape, y: Float32Array.from(y.dataSync()), yShape: y.shape };
}

/** The compile options tfjs's model.compile recorded: optimizer instance, loss (name or function), metric names. */
export function compileOf(model: tf.LayersModel): CompileSpec {
  const optimizer: unknown = model.optimizer;
  const loss: unknown = model.loss;
  if (!(optimizer instanceof tf.Optimizer) || loss === undefined) throw fleetError('API_UNCOMPILED');
  const first: unknown = Array.isArray(loss) ? loss[0] : loss;
  const names = (model.metricsNames ?? []).slice(1).map((m) => (m === 'acc' ? 'accuracy' : m));
  if (typeof first === 'string') return { optimizer, loss: first, metrics: names };
  // The function itself, not a wrapper: its name is how the workers find it (lossRefOf).
  if (isSampleFn(first)) return { optimizer, loss: first, metrics: names };
  throw fleetError('API_UNCOMPILED');
}

function isSampleFn(f: unknown): f is SampleFn {
  return typeof f === 'function';
}

/**
 * How workers find the call's loss: a Keras name as it is; a function by the module in `modules` that
 * exports it (the same object, or a function of the same name, since a worker's import is its own copy).
 */
export async function lossRefOf(loss: string | SampleFn, modules: readonly string[]): Promise<string | LossRef> {
  if (typeof loss === 'string') return loss;
  if (loss.name === '') throw fleetError('API_LOSS_ANONYMOUS');
  for (const module of modules) {
    const exports = await importUserModule(module);
    const same = Object.entries(exports).find(([, v]) => v === loss);
    if (same) return { module, exportName: same[0] };
    if (typeof exports[loss.name] === 'function') return { module, exportName: loss.name };
  }
  throw fleetError('API_LOSS_NOT_EXPORTED', { name: loss.name, modules });
}
