/**
 * DepthwiseConv2dNativeBackpropFilter (absent from wasm 4.22).
 *
 * Why a JS loop over the wasm heap and not a composition: the composition exists (one depthwise
 * conv over a single image whose channels are every (batch, channel) pair, with dy dilated by the
 * strides as a per-channel filter), but its "filter" is as large as dy, so XNNPACK leaves its fast
 * small-kernel path and repacks ~dy-sized weights on every call. Measured on [64,32,32,32], 3x3,
 * stride 1: 160 ms composed (97 ms of it the conv alone) against ~100 ms for this loop; 21 vs 12 ms
 * at [64,16,16,64] stride 2; 86 vs 31 ms at [64,16,16,16] multiplier 2. The loop is
 * batch*outH*outW*fh*fw*inC*m multiply-adds reading x and dy in place, with float64 sums.
 */
import * as tf from '@tensorflow/tfjs';
import { checkDy, convGeometry, type ConvGeometry, type ConvGradAttrs } from './conv-geometry.ts';
import { asWasm } from './tensors.ts';

const NAME = 'DepthwiseConv2dNativeBackpropFilter';

interface Attrs extends ConvGradAttrs {
  filterShape: [number, number, number, number];
}

/** dW[a,b,c,q] = sum_{n,y,x} xPadded[n, y*sh+a, x*sw+b, c] * dy[n,y,x,c*m+q] (NHWC, float32). */
export function depthwiseBackpropFilter({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const wasm = asWasm(backend, NAME);
  const a = attrs as unknown as Attrs;
  const { x: xInfo, dy: dyInfo } = inputs;
  if (xInfo === undefined || dyInfo === undefined) throw new Error(`${NAME} expects inputs x and dy`);
  const g = convGeometry(NAME, xInfo.shape, a.filterShape, a, true);
  checkDy(NAME, dyInfo.shape, g);
  const sums = accumulate(wasm.typedArrayFromHeap(xInfo), wasm.typedArrayFromHeap(dyInfo), g, a.filterShape[3]);
  const out = wasm.makeOutput(a.filterShape.slice(), 'float32');
  // The view is taken after makeOutput: allocating may grow wasm memory and detach older views.
  wasm.typedArrayFromHeap(out).set(sums);
  return out;
}

type Buf = tf.backend_util.TypedArray;

function accumulate(x: Buf, dy: Buf, g: ConvGeometry, m: number): Float64Array {
  const { inH: H, inW: W, inC: C, outH: OH, outW: OW, filterH: fh, filterW: fw } = g;
  const CM = C * m;
  const sums = new Float64Array(fh * fw * CM);
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const dyAt = ((n * OH + oy) * OW + ox) * CM;
        for (let ty = 0; ty < fh; ty++) {
          const iy = oy * g.strideH - g.padTop + ty;
          if (iy < 0 || iy >= H) continue; // padding: zero contribution
          for (let tx = 0; tx < fw; tx++) {
            const ix = ox * g.strideW - g.padLeft + tx;
            if (ix < 0 || ix >= W) continue;
            const xAt = ((n * H + iy) * W + ix) * C;
            const tapAt = (ty * fw + tx) * CM;
            if (m === 1) {
              for (let c = 0; c < C; c++)
                sums[tapAt + c] = (sums[tapAt + c] as number) + (x[xAt + c] as number) * (dy[dyAt + c] as number);
              continue;
            }
            for (let c = 0; c < C; c++) {
              const xv = x[xAt + c] as number;
              const at = c * m;
              for (let q = 0; q < m; q++) {
                sums[tapAt + at + q] = (sums[tapAt + at + q] as number) + xv * (dy[dyAt + at + q] as number);
              }
            }
          }
        }
      }
    }
  }
  return sums;
}

/** Registers the missing wasm DepthwiseConv2dNativeBackpropFilter. */
export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: NAME,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as tf.KernelFunc,
};
