/**
 * Piscina task: gathers the rows named by `indices` out of shared (SharedArrayBuffer) dataset arrays
 * into fresh buffers that are moved, not copied, back to the worker's main thread.
 */
import { move } from 'piscina';
import { workerData } from 'node:worker_threads';
import { augmentRows, type AugmentPipeline } from '../shared/model/augment/pipeline.ts';

/** One shared split: x and y over SharedArrayBuffers, with per-example row sizes. */
export interface SharedSplit {
  x: Float32Array;
  y: Float32Array;
  xRow: number;
  yRow: number;
}

/** What the pool's threads are started with. */
export interface BatchWorkerData {
  splits: Record<string, SharedSplit>;
  /** The job's augment option, resolved for the training images. */
  augment?: AugmentPipeline;
}

/** A batch request: rows `indices` (absolute row numbers) of split `source`. */
export interface BatchRequest {
  source: string;
  indices: Int32Array;
  /** The epoch of this training batch, whose augmentation it seeds with each row; absent: no augmentation (validation, test). */
  augmentEpoch?: number;
}

const { splits, augment } = workerData as BatchWorkerData;

/** Gathers one batch into one buffer, x rows then y rows; the buffer is transferred to the caller. */
export default function gather({ source, indices, augmentEpoch }: BatchRequest): Float32Array {
  const split = splits[source];
  if (split === undefined)
    throw new Error(`Expected a split among ${Object.keys(splits).join(', ')}. Received: ${source}`);
  const { xRow, yRow } = split;
  const out = new Float32Array(indices.length * (xRow + yRow));
  const x = out.subarray(0, indices.length * xRow);
  const y = out.subarray(indices.length * xRow);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i] as number;
    x.set(split.x.subarray(r * xRow, (r + 1) * xRow), i * xRow);
    y.set(split.y.subarray(r * yRow, (r + 1) * yRow), i * yRow);
  }
  if (augment && augmentEpoch !== undefined) augmentRows(x, indices, augment, augmentEpoch);
  return move(out) as Float32Array;
}
