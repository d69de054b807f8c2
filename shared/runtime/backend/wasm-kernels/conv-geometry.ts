/**
 * The sizes of a forward NHWC convolution, recovered from the attrs tfjs-core hands its gradient
 * kernels, plus the validation those kernels share (NHWC only, dilation 1 only).
 */
import * as tf from '@tensorflow/tfjs';
import { dims4 } from './tensors.ts';

/** tfjs-core's explicit padding: [[0, 0], [top, bottom], [left, right], [0, 0]] for NHWC. */
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** The attrs every conv gradient kernel receives (the shape attr differs and is passed apart). */
export interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
}

/** One forward convolution x[batch,inH,inW,inC] * filter[filterH,filterW,..] -> y[batch,outH,outW,outC]. */
export interface ConvGeometry {
  readonly batch: number;
  readonly inH: number;
  readonly inW: number;
  readonly inC: number;
  readonly outH: number;
  readonly outW: number;
  readonly outC: number;
  readonly filterH: number;
  readonly filterW: number;
  readonly strideH: number;
  readonly strideW: number;
  /** Zero rows/columns the forward pass put before the input. */
  readonly padTop: number;
  readonly padLeft: number;
}

/** Geometry of the forward conv behind a gradient kernel; throws a clear Error for NCHW or dilations > 1. */
export function convGeometry(
  kernelName: string,
  inShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvGradAttrs,
  depthwise: boolean,
): ConvGeometry {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') {
    throw new Error(
      `${kernelName} on wasm supports dataFormat 'NHWC' (channelsLast) only. Received: '${attrs.dataFormat}'`,
    );
  }
  const dilations = attrs.dilations ?? 1;
  const [dh, dw] = typeof dilations === 'number' ? [dilations, dilations] : dilations;
  if (dh !== 1 || dw !== 1) {
    // tfjs-core's own conv gradients refuse dilations > 1, so no trained layer reaches this.
    throw new Error(`${kernelName} on wasm supports dilations of 1 only. Received: [${dh}, ${dw}]`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    dims4(inShape, `${kernelName} input shape`),
    dims4(filterShape, `${kernelName} filter shape`),
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    filterH: info.filterHeight,
    filterW: info.filterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** Throws when dy's shape is not the forward output shape `g` implies (a malformed call, not a user error). */
export function checkDy(kernelName: string, dyShape: readonly number[], g: ConvGeometry): void {
  const want = [g.batch, g.outH, g.outW, g.outC];
  if (dyShape.length !== 4 || want.some((d, i) => dyShape[i] !== d)) {
    throw new Error(`${kernelName}: expected dy of shape [${want.join(', ')}]. Received: [${dyShape.join(', ')}]`);
  }
}
