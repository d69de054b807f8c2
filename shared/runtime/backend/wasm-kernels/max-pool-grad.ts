/**
 * MaxPoolGrad replacing wasm's, whose max search starts at the smallest positive float (at element
 * 0) instead of -Infinity: every window whose values are all <= 0 sends its gradient to element 0
 * of the whole tensor, where it is dropped unless the window contains that element, so inputs
 * that are negative (no ReLU before the pool) stop learning. Its `>=` also makes the last of tied
 * maxima win, where tfjs cpu and webgl pick the first.
 *
 * Why a JS loop over the wasm heap and not a composition: routing each dy to the first maximum of
 * its window (tfjs's tie rule) has no exact tensor-op form (an equality mask would split or
 * duplicate gradient on ties), and the single pass reads x and dy once with no copies.
 */
import * as tf from '@tensorflow/tfjs';
import { asWasm, dims4 } from './tensors.ts';

const NAME = 'MaxPoolGrad';

interface Attrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** dx: each dy element added at the first maximum of its pooling window in x (NHWC, float32). */
export function maxPoolGrad({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const wasm = asWasm(backend, NAME);
  const a = attrs as unknown as Attrs;
  const { dy, input } = inputs;
  if (dy === undefined || input === undefined) throw new Error(`${NAME} expects inputs dy and input`);
  const p = tf.backend_util.computePool2DInfo(
    dims4(input.shape, `${NAME} input`),
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const dyWant = [p.batchSize, p.outHeight, p.outWidth, p.inChannels];
  if (dyWant.some((d, i) => dy.shape[i] !== d)) {
    throw new Error(`${NAME}: expected dy of shape [${dyWant.join(', ')}]. Received: [${dy.shape.join(', ')}]`);
  }
  const dxInfo = wasm.makeOutput(input.shape, 'float32');
  // Views only after makeOutput: allocating may grow wasm memory and detach earlier views.
  const x = wasm.typedArrayFromHeap(input);
  const g = wasm.typedArrayFromHeap(dy);
  const dx = wasm.typedArrayFromHeap(dxInfo);
  dx.fill(0);
  routeToArgmax(x, g, dx, p);
  return dxInfo;
}

type Buf = tf.backend_util.TypedArray;

function routeToArgmax(x: Buf, dy: Buf, dx: Buf, p: tf.backend_util.Conv2DInfo): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = p;
  for (let b = 0; b < p.batchSize; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * p.strideHeight - p.padInfo.top;
      const yFrom = Math.max(0, y0);
      const yTo = Math.min(H, y0 + p.effectiveFilterHeight);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = ox * p.strideWidth - p.padInfo.left;
        const xFrom = Math.max(0, x0);
        const xTo = Math.min(W, x0 + p.effectiveFilterWidth);
        const dyAt = ((b * OH + oy) * OW + ox) * C;
        for (let c = 0; c < C; c++) {
          // Starts below every float: an all-negative window still has a maximum (the wasm bug).
          let best = Number.NEGATIVE_INFINITY;
          let bestAt = -1;
          for (let yy = yFrom; yy < yTo; yy++) {
            let at = ((b * H + yy) * W + xFrom) * C + c;
            for (let xx = xFrom; xx < xTo; xx++, at += C) {
              const v = x[at] as number;
              // Strict >: the first maximum in row-major window order wins, as on tfjs cpu/webgl.
              if (v > best) {
                best = v;
                bestAt = at;
              }
            }
          }
          if (bestAt >= 0) dx[bestAt] = (dx[bestAt] as number) + (dy[dyAt + c] as number);
        }
      }
    }
  }
}

/** Replaces wasm's MaxPoolGrad. */
export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: NAME,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
