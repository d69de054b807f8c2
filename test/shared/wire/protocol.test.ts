import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { isFleetError } from '../../../shared/runtime/errors.ts';
import { PROTOCOL_VERSION, checkTensors, decodeMessage, encodeMessage, type WireTensor } from '../../../shared/wire/protocol.ts';
import { seededRandom } from '../../../shared/runtime/rng.ts';

const grads: WireTensor[] = [{ name: 'kernel', dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }];
const header = { kind: 'gradients' as const, roundId: 3, samples: 16, lossSum: 1.5, metricSums: [8], computeSeconds: 0.01, numTensors: 10 };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isFleetError(err)) return err.code;
    throw err;
  }
  return 'no error';
}

describe('protocol', () => {
  it('round-trips a header and raw tensor frames', () => {
    const frames = encodeMessage(header, grads);
    expect(frames).toHaveLength(2);
    expect(frames[1]?.byteLength).toBe(24); // raw float32 bytes, not msgpack numbers
    const msg = decodeMessage(frames);
    expect(msg.kind).toBe('gradients');
    expect(msg.tensors[0]?.shape).toEqual([2, 3]);
    expect(Array.from(msg.tensors[0]?.data ?? [])).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('copies unaligned frames before viewing them as floats', () => {
    const frames = encodeMessage(header, grads);
    const shifted = Buffer.alloc(25);
    (frames[1] as Buffer).copy(shifted, 1);
    const msg = decodeMessage([frames[0] as Buffer, shifted.subarray(1)]);
    expect(Array.from(msg.tensors[0]?.data ?? [])).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects random bytes with FLEET_ERR_PROTOCOL_DECODE or SCHEMA, never a crash', () => {
    const rand = seededRandom(42);
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
      const code = codeOf(() => decodeMessage([bytes]));
      expect(['FLEET_ERR_PROTOCOL_DECODE', 'FLEET_ERR_PROTOCOL_VERSION', 'FLEET_ERR_PROTOCOL_SCHEMA']).toContain(code);
    }
  });

  it('rejects a wrong protocol version', () => {
    const frame = pack({ v: PROTOCOL_VERSION + 1, kind: 'heartbeat', sentAtMs: 1, tensors: [] });
    expect(codeOf(() => decodeMessage([frame]))).toBe('FLEET_ERR_PROTOCOL_VERSION');
  });

  it('rejects unknown kinds, missing fields and extra fields', () => {
    expect(codeOf(() => decodeMessage([pack({ v: PROTOCOL_VERSION, kind: 'nope', tensors: [] })]))).toBe('FLEET_ERR_PROTOCOL_SCHEMA');
    expect(codeOf(() => decodeMessage([pack({ v: PROTOCOL_VERSION, kind: 'gradients', tensors: [] })]))).toBe('FLEET_ERR_PROTOCOL_SCHEMA');
    expect(codeOf(() => decodeMessage([pack({ v: PROTOCOL_VERSION, kind: 'heartbeat', sentAtMs: 1, extra: 1, tensors: [] })]))).toBe('FLEET_ERR_PROTOCOL_SCHEMA');
  });

  it('rejects frames that do not match the declared shape, and a missing frame', () => {
    const frames = encodeMessage(header, grads);
    expect(codeOf(() => decodeMessage([frames[0] as Buffer, Buffer.alloc(20)]))).toBe('FLEET_ERR_TENSOR_SHAPE');
    expect(codeOf(() => decodeMessage([frames[0] as Buffer]))).toBe('FLEET_ERR_TENSOR_SHAPE');
  });

  it('checkTensors rejects wrong shapes, dtypes and non-finite values with their own codes', () => {
    const want = [{ name: 'kernel', dtype: 'float32' as const, shape: [2, 3] }];
    expect(codeOf(() => checkTensors(grads, want, { finite: true }))).toBe('no error');
    expect(codeOf(() => checkTensors([{ ...grads[0]!, shape: [3, 2] }], want, { finite: true }))).toBe('FLEET_ERR_TENSOR_SHAPE');
    expect(codeOf(() => checkTensors([{ ...grads[0]!, dtype: 'int32' }], want, { finite: true }))).toBe('FLEET_ERR_TENSOR_DTYPE');
    expect(codeOf(() => checkTensors([{ ...grads[0]!, data: Float32Array.from([1, 2, NaN, 4, 5, 6]) }], want, { finite: true }))).toBe('FLEET_ERR_NONFINITE');
    expect(codeOf(() => checkTensors([{ ...grads[0]!, data: Float32Array.from([1, 2, Infinity, 4, 5, 6]) }], want, { finite: true }))).toBe('FLEET_ERR_NONFINITE');
    expect(codeOf(() => checkTensors([], want, { finite: true }))).toBe('FLEET_ERR_TENSOR_SHAPE');
  });

  it('messages say what was expected and what was received', () => {
    try {
      decodeMessage([pack({ v: 99, kind: 'heartbeat', sentAtMs: 1 })]);
      expect.unreachable();
    } catch (err) {
      expect(String((err as Error).message)).toMatch(/Expected protocol version 1\. Received: 99/);
    }
  });
});
