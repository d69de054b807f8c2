/** In-memory datasets as flat typed arrays, and the split views both coordinator and workers derive. */
import { fleetError } from '../../runtime/catalogue/index.ts';

/** A dataset as flat row-major arrays: x has shape xShape, y has shape yShape, first dim = examples. */
export interface ArrayData {
  readonly x: Float32Array;
  readonly xShape: readonly number[];
  readonly y: Float32Array;
  readonly yShape: readonly number[];
}

/** A contiguous run of examples [offset, offset+count) inside an ArrayData. */
export interface SplitView {
  readonly source: 'train' | 'validation' | 'test';
  readonly data: ArrayData;
  readonly offset: number;
  readonly count: number;
}

/** The three splits a fit uses; validation may come from validationSplit (Keras: the tail of train). */
export interface Splits {
  readonly train: SplitView;
  readonly validation?: SplitView;
  readonly test?: SplitView;
}

/** Checks that x and y agree with their shapes and with each other; throws FLEET_ERR_DATA naming the split. */
export function checkArrayData(name: string, d: ArrayData): void {
  const n = d.xShape[0];
  const elems = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  if (!(d.x instanceof Float32Array) || !(d.y instanceof Float32Array)) {
    throw fleetError('DATA_NOT_FLOAT32', { name, x: d.x?.constructor?.name, y: d.y?.constructor?.name });
  }
  if (n === undefined || d.yShape[0] !== n)
    throw fleetError('DATA_COUNT_MISMATCH', { name, xShape: d.xShape, yShape: d.yShape });
  if (d.x.length !== elems(d.xShape))
    throw fleetError('DATA_X_SIZE', { name, count: elems(d.xShape), shape: d.xShape, received: d.x.length });
  if (d.y.length !== elems(d.yShape))
    throw fleetError('DATA_Y_SIZE', { name, count: elems(d.yShape), shape: d.yShape, received: d.y.length });
}

/** Derives the splits exactly as Keras does: validationSplit takes the last fraction of train, before shuffling. */
export function resolveSplits(
  data: { train: ArrayData; validation?: ArrayData; test?: ArrayData },
  validationSplit?: number,
): Splits {
  checkArrayData('train', data.train);
  if (data.validation) checkArrayData('validation', data.validation);
  if (data.test) checkArrayData('test', data.test);
  const n = data.train.xShape[0] as number;
  const whole = (source: SplitView['source'], d: ArrayData): SplitView => ({
    source,
    data: d,
    offset: 0,
    count: d.xShape[0] as number,
  });
  const test = data.test ? whole('test', data.test) : undefined;
  if (data.validation)
    return {
      train: whole('train', data.train),
      validation: whole('validation', data.validation),
      ...(test && { test }),
    };
  if (validationSplit !== undefined && validationSplit > 0) {
    const trainCount = Math.floor(n * (1 - validationSplit));
    return {
      train: { source: 'train', data: data.train, offset: 0, count: trainCount },
      validation: { source: 'train', data: data.train, offset: trainCount, count: n - trainCount },
      ...(test && { test }),
    };
  }
  return { train: whole('train', data.train), ...(test && { test }) };
}

/** Elements per example of a shape (product of all but the first dim). */
export function rowSize(shape: readonly number[]): number {
  return shape.slice(1).reduce((a, b) => a * b, 1);
}
