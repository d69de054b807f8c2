/**
 * Tile, replacing wasm 4.22's, which computes a multi-index per output element: tiling a [1,1,1,C]
 * BatchNormalization statistic to [N,H,W,C] (tfjs-layers does this in every training step) cost
 * more than the convolutions. This one copies the input's rows once and then doubles the written
 * block with copyWithin along each axis, so its cost is a handful of memmoves.
 */
import * as tf from '@tensorflow/tfjs';
import { asWasm } from './tensors.ts';

const NAME = 'Tile';

type Flat = Float32Array | Int32Array | Uint8Array;

/** Writes `count` copies of the `len` elements at `at` right after them, by doubling. */
function repeatBlock(out: Flat, at: number, len: number, count: number): void {
  const total = len * count;
  for (let filled = len; filled < total; filled += Math.min(filled, total - filled))
    out.copyWithin(at + filled, at, at + Math.min(filled, total - filled));
}

/** out = x tiled `reps` times along each axis, as tf.tile. */
export function tile({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const wasm = asWasm(backend, NAME);
  const { x } = inputs;
  if (x === undefined) throw new Error(`${NAME} expects input x`);
  const reps = (attrs as unknown as { reps: number[] }).reps;
  const shape = x.shape;
  if (reps.length !== shape.length)
    throw new Error(
      `${NAME}: expected ${shape.length} reps for x of shape [${shape.join(', ')}]. Received: [${reps.join(', ')}]`,
    );
  if (x.dtype === 'string' || x.dtype === 'complex64')
    throw new Error(`${NAME}: expected a numeric or bool x. Received: ${x.dtype}`);
  const outShape = shape.map((d, i) => d * (reps[i] as number));
  const out = wasm.makeOutput(outShape, x.dtype);
  // Views only after makeOutput: allocating may grow wasm memory and detach earlier views.
  const src = wasm.typedArrayFromHeap(x) as Flat;
  const dst = wasm.typedArrayFromHeap(out) as Flat;
  if (dst.length === 0) return out;
  const rank = shape.length;
  if (rank === 0) {
    dst[0] = src[0] as number;
    return out;
  }
  // Elements per index of each axis, in the input and in the output.
  const srcStride = new Array<number>(rank).fill(1);
  const dstStride = new Array<number>(rank).fill(1);
  for (let a = rank - 2; a >= 0; a--) {
    srcStride[a] = (srcStride[a + 1] as number) * (shape[a + 1] as number);
    dstStride[a] = (dstStride[a + 1] as number) * (outShape[a + 1] as number);
  }
  const fill = (axis: number, from: number, to: number): void => {
    const n = shape[axis] as number;
    if (axis === rank - 1) dst.set(src.subarray(from, from + n), to);
    else
      for (let i = 0; i < n; i++)
        fill(axis + 1, from + i * (srcStride[axis] as number), to + i * (dstStride[axis] as number));
    repeatBlock(dst, to, n * (dstStride[axis] as number), reps[axis] as number);
  };
  fill(0, 0, 0);
  return out;
}

/** Replaces the slow built-in wasm Tile. */
export const tileConfig: tf.KernelConfig = {
  kernelName: NAME,
  backendName: 'wasm',
  kernelFunc: tile as unknown as tf.KernelFunc,
};
