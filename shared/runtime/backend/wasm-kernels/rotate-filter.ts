/**
 * The 180-degree spatial rotation of a conv filter (optionally with its in/out channels swapped),
 * which the input gradients correlate with.
 *
 * Why a JS copy over the wasm heap and not tf.reverse + tf.transpose: wasm's Reverse kernel is a
 * generic per-element loop (~2.5 ms for a 3x3x32x64 filter on a shared 2-core box, a tenth of the
 * whole input gradient), while one permuting copy of a filter this small takes microseconds.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { dims4 } from './tensors.ts';

/**
 * filter [fh, fw, i, o] -> out[a, b, ..] = filter[fh-1-a, fw-1-b, ..], laid out [fh, fw, o, i] when
 * `swapInOut`, else [fh, fw, i, o]. Returns a new float32 Tensor the caller owns (use in tf.tidy).
 */
export function rotateFilter(filter: tf.TensorInfo, backend: BackendWasm, swapInOut: boolean): tf.Tensor4D {
  if (filter.dtype !== 'float32') throw new Error(`Expected a float32 conv filter. Received: ${filter.dtype}`);
  const [fh, fw, ci, co] = dims4(filter.shape, 'conv filter');
  const out = backend.makeOutput(swapInOut ? [fh, fw, co, ci] : [fh, fw, ci, co], 'float32');
  // Views only after makeOutput: allocating may grow wasm memory and detach earlier views.
  const src = backend.typedArrayFromHeap(filter) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const tap = ci * co;
  for (let a = 0; a < fh; a++) {
    for (let b = 0; b < fw; b++) {
      const from = ((fh - 1 - a) * fw + (fw - 1 - b)) * tap;
      const to = (a * fw + b) * tap;
      if (!swapInOut) {
        dst.set(src.subarray(from, from + tap), to);
        continue;
      }
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) dst[to + o * ci + i] = src[from + i * co + o] as number;
      }
    }
  }
  return tf.engine().makeTensorFromTensorInfo(out, backend) as tf.Tensor4D;
}
