/**
 * UnsortedSegmentSum (absent from wasm 4.22): the gradient of tf.gather, so of every Embedding.
 *
 * Why a JS loop over the wasm heap and not a one-hot matmul: the matmul costs rows x numSegments x
 * width multiply-adds and a rows x numSegments one-hot (an Embedding of 10k words with a 64x100
 * batch: 4 GFLOP and 256 MB), while the loop does rows x width additions reading x in place.
 */
import * as tf from '@tensorflow/tfjs';
import { asWasm } from './tensors.ts';

const NAME = 'UnsortedSegmentSum';

/** out[s, ...] = sum of x[r, ...] over rows r with segmentIds[r] == s; ids outside [0, numSegments) are dropped, as in TF. */
export function unsortedSegmentSum({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const wasm = asWasm(backend, NAME);
  const { x, segmentIds } = inputs;
  if (x === undefined || segmentIds === undefined) throw new Error(`${NAME} expects inputs x and segmentIds`);
  const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
  const rows = x.shape[0];
  // tfjs documents segmentIds as 1-D over x's first axis; the cpu backend reads other ranks
  // differently from TF, so refuse them rather than silently disagree across backends.
  if (segmentIds.shape.length !== 1 || rows === undefined || segmentIds.shape[0] !== rows) {
    throw new Error(
      `${NAME}: expected 1-D segmentIds of length x.shape[0]=${String(rows)}. Received shape [${segmentIds.shape.join(', ')}]`,
    );
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32')
    throw new Error(`${NAME}: expected x of dtype float32 or int32. Received: ${x.dtype}`);
  const out = wasm.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
  // Views only after makeOutput: allocating may grow wasm memory and detach earlier views.
  const values = wasm.typedArrayFromHeap(x);
  const ids = wasm.typedArrayFromHeap(segmentIds);
  const sums = wasm.typedArrayFromHeap(out);
  sums.fill(0);
  const width = rows === 0 ? 0 : values.length / rows;
  for (let r = 0; r < rows; r++) {
    const s = ids[r] as number;
    if (s < 0 || s >= numSegments) continue;
    const from = r * width;
    const to = s * width;
    for (let k = 0; k < width; k++) sums[to + k] = (sums[to + k] as number) + (values[from + k] as number);
  }
  return out;
}

/** Registers the missing wasm UnsortedSegmentSum. */
export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: NAME,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
};
