/**
 * Plumbing shared by the composed kernels: they compute with ordinary tf ops (which run on the
 * active backend, wasm, while a kernel executes) and must hand exactly one reference to the
 * result back to the engine, with every intermediate freed.
 */
import * as tf from '@tensorflow/tfjs';
// Type-only: a value import would load the wasm backend (and register it) in every process that
// merely imports select.ts, which loads it lazily on purpose.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The kernel's backend as the wasm backend; throws when it is some other backend. */
export function asWasm(backend: unknown, kernelName: string): BackendWasm {
  const candidate = backend as Partial<BackendWasm> | null;
  if (
    candidate == null ||
    typeof candidate.typedArrayFromHeap !== 'function' ||
    typeof candidate.incRef !== 'function'
  ) {
    throw new Error(`tensorfleet's ${kernelName} kernel expected the wasm backend. Received: ${String(backend)}`);
  }
  return candidate as BackendWasm;
}

/**
 * A Tensor for a kernel input. The engine passes Tensors, but a kernel may also be called with
 * bare TensorInfos; those get a new Tensor holding its own reference, so disposing it is harmless.
 */
export function asTensor<R extends tf.Rank>(info: tf.TensorInfo, backend: BackendWasm): tf.Tensor<R> {
  if (info instanceof tf.Tensor) return info as tf.Tensor<R>;
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromDataId(info.dataId, info.shape, info.dtype, backend) as tf.Tensor<R>;
}

/**
 * Turns a tensor computed inside a kernel into the kernel's output: the engine wraps the returned
 * TensorInfo in a new Tensor, so the data gets one extra reference before the local Tensor goes.
 */
export function handOver(result: tf.Tensor, backend: BackendWasm): tf.TensorInfo {
  backend.incRef(result.dataId);
  const info: tf.TensorInfo = { dataId: result.dataId, shape: result.shape.slice(), dtype: result.dtype };
  result.dispose();
  return info;
}

/** Dimension `i` of a shape; throws instead of yielding undefined. */
export function dim(shape: readonly number[], i: number): number {
  const d = shape[i];
  if (d === undefined)
    throw new Error(`Expected a shape with at least ${i + 1} dimensions. Received: [${shape.join(', ')}]`);
  return d;
}

/** The four dimensions of a rank-4 shape; throws for any other rank. */
export function dims4(shape: readonly number[], what: string): [number, number, number, number] {
  if (shape.length !== 4) throw new Error(`Expected ${what} to be rank 4. Received shape [${shape.join(', ')}]`);
  return [dim(shape, 0), dim(shape, 1), dim(shape, 2), dim(shape, 3)];
}
