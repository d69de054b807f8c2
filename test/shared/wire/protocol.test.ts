import { pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { isFleetError } from '../../../shared/runtime/errors.ts';
import {
  GROUPS, PROTOCOL_VERSION, checkTensors, decodeMessage, encodeMessage, refusedHeader, type WireTensor,
} from '../../../shared/wire/protocol.ts';
import { seededRandom } from '../../../shared/runtime/rng.ts';
import { handMade } from '../../helpers/wire.ts';

const grads: WireTensor[] = [{ name: 'kernel', dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }];
const header = { kind: 'gradients' as const, roundId: 3, samples: 16, lossSum: 1.5, metricSums: [8], computeSeconds: 0.01, numTensors: 10 };
const gradients = { ...header, groups: { gradients: grads } };
const f32 = (name: string, ...shape: number[]): WireTensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => i) };
};
const i32 = (name: string, ...values: number[]): WireTensor =>
  ({ name, dtype: 'int32', shape: [values.length], data: Int32Array.from(values) });
const round = { kind: 'round' as const, roundId: 1, epoch: 0, step: 2, weightsVersion: 4 };
const evaluate = { kind: 'evaluate', evalId: 1, split: 'test', start: 0, count: 1, weightsVersion: 1, mode: 'metrics' };


function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isFleetError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  return { code: 'no error', message: '' };
}

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
    const frames = encodeMessage(gradients);
    expect(frames).toHaveLength(2);
    expect(frames[1]?.byteLength).toBe(24); // raw float32 bytes, not msgpack numbers
    const msg = decodeMessage(frames);
    if (msg.kind !== 'gradients') return expect.unreachable();
    expect(msg.groups.gradients[0]?.shape).toEqual([2, 3]);
    expect(Array.from(msg.groups.gradients[0]?.data ?? [])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(msg.groups.state).toEqual([]); // declared, not sent: empty
  });

  it('copies unaligned frames before viewing them as floats', () => {
    const frames = encodeMessage(gradients);
    const shifted = Buffer.alloc(25);
    (frames[1] as Buffer).copy(shifted, 1);
    const msg = decodeMessage([frames[0] as Buffer, shifted.subarray(1)]);
    expect(msg.kind === 'gradients' && Array.from(msg.groups.gradients[0]?.data ?? [])).toEqual([1, 2, 3, 4, 5, 6]);
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
    const frames = encodeMessage(gradients);
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
      expect(String((err as Error).message)).toMatch(/Expected protocol version 2\. Received: 99/);
    }
  });
});

describe('tensor groups', () => {
  it('round-trip by name, group after group, and the header carries the counts the encoder wrote', () => {
    const weights = [f32('w0', 2, 3), f32('w1', 3)];
    const indices = [i32('indices', 7, 8, 9)] as const;
    const frames = encodeMessage({ ...round, weightIndices: [1, 4], groups: { weights, indices } });
    expect(unpack(frames[0] as Buffer)).toMatchObject({ v: 2, groups: { weights: 2, indices: 1 } });
    expect(frames).toHaveLength(4);
    const msg = decodeMessage(frames);
    if (msg.kind !== 'round') return expect.unreachable();
    expect(msg.groups.weights.map((t) => [t.name, t.shape])).toEqual([['w0', [2, 3]], ['w1', [3]]]);
    expect(Array.from(msg.groups.indices[0].data)).toEqual([7, 8, 9]);
    expect(msg.weightIndices).toEqual([1, 4]);
    // Every kind's groups round-trip: a reduce's one vector, an evalResult without its optional predictions.
    const local = [f32('local', 5)] as const;
    const reduce = decodeMessage(encodeMessage({ kind: 'reduce', roundId: 1, seq: 0, groups: { local } }));
    expect(reduce.kind === 'reduce' && reduce.groups.local[0].shape).toEqual([5]);
    const metricsOnly = { kind: 'evalResult' as const, evalId: 1, samples: 2, lossSum: 0, metricSums: [] };
    const evalResult = decodeMessage(encodeMessage(metricsOnly));
    expect(evalResult.kind === 'evalResult' && evalResult.groups.predictions).toEqual([]);
    const noWeights = decodeMessage(encodeMessage({ ...round, groups: { indices: [i32('indices', 0)] } }));
    expect(noWeights.kind === 'round' && noWeights.groups.weights).toEqual([]);
  });

  it('declares a dtype and count for every group, and a rank where the protocol knows it', () => {
    expect(GROUPS.round.indices).toEqual({ dtype: 'int32', rank: 1, min: 1, max: 1 });
    expect(GROUPS.reduce.local).toMatchObject({ dtype: 'float32', rank: 1, min: 1, max: 1 });
    expect(GROUPS.reduced.sum).toMatchObject({ dtype: 'float32', rank: 1, min: 1, max: 1 });
    expect(GROUPS.evalResult.predictions).toMatchObject({ dtype: 'float32', min: 0, max: 1 });
    expect(Object.keys(GROUPS.gradients)).toEqual(['gradients', 'state']);
  });

  it.each([
    [
      'group counts that disagree with the frames',
      handMade({ ...round, groups: { weights: 2, indices: 1 } }, [f32('w0', 2), i32('indices', 0)]),
      'FLEET_ERR_TENSOR_SHAPE',
      /Expected 3 tensor specs, as the group counts \{"weights":2,"indices":1\} add up to\. Received: "2"/,
    ],
    [
      'a missing required group',
      handMade({ ...round, groups: { weights: 1 } }, [f32('w0', 2)]),
      'FLEET_ERR_PROTOCOL_SCHEMA',
      /Expected group "indices" in "round"\. Received: "groups \{\\"weights\\":1\}"/,
    ],
    [
      'no groups at all where one is required',
      handMade({ kind: 'reduce', roundId: 1, seq: 0 }, []),
      'FLEET_ERR_PROTOCOL_SCHEMA',
      /Expected group "local" in "reduce"/,
    ],
    [
      'an int32 weights group',
      handMade({ ...round, groups: { weights: 1, indices: 1 } }, [i32('w0', 1, 2), i32('indices', 0)]),
      'FLEET_ERR_TENSOR_DTYPE',
      /Expected dtype float32 for tensor 0 of group "weights" in "round"\. Received: "int32"/,
    ],
    [
      'an indices group with 2 tensors',
      handMade({ ...round, groups: { indices: 2 } }, [i32('indices', 0), i32('indices', 1)]),
      'FLEET_ERR_TENSOR_SHAPE',
      /Expected 1 tensor\(s\) in group "indices" of "round"\. Received: "2 tensors"/,
    ],
    [
      'indices of rank 2',
      handMade({ ...round, groups: { indices: 1 } }, [{ ...i32('indices', 0, 1), shape: [1, 2] }]),
      'FLEET_ERR_TENSOR_SHAPE',
      /Expected rank 1 for tensor 0 of group "indices" in "round"\. Received: "shape \[1,2\]"/,
    ],
    [
      'weightIndices longer than the weights group',
      handMade({ ...round, weightIndices: [0, 1, 2], groups: { weights: 2, indices: 1 } }, [f32('a'), f32('b'), i32('i')]),
      'FLEET_ERR_TENSOR_SHAPE',
      /Expected 2 strictly ascending weightIndices, one per tensor of group "weights" in "round"\. Received: "3 ind/,
    ],
    [
      'weightIndices out of order',
      handMade({ ...evaluate, weightIndices: [2, 1], groups: { weights: 2 } }, [f32('w0', 1), f32('w1', 1)]),
      'FLEET_ERR_TENSOR_SHAPE',
      /Received: "2 indices \[2, 1\]"/,
    ],
    [
      'a group the kind does not declare',
      handMade({ kind: 'evalResult', evalId: 1, samples: 1, lossSum: 0, metricSums: [],
        groups: { weights: 1 } }, [f32('w')]),
      'FLEET_ERR_PROTOCOL_SCHEMA',
      /Expected groups of "evalResult" among \[predictions\]\. Received: "weights"/,
    ],
    [
      'tensors on a kind without groups',
      handMade({ kind: 'heartbeat', sentAtMs: 1 }, [f32('x', 1)]),
      'FLEET_ERR_TENSOR_SHAPE',
      /Expected 0 tensor specs/,
    ],
    [
      'a count that is not a number',
      handMade({ ...round, groups: { indices: '1' } }, [i32('indices', 0)]),
      'FLEET_ERR_PROTOCOL_SCHEMA',
      /Expected groups: \{ name: count \}/,
    ],
    [
      'two vectors in a reduce',
      handMade({ kind: 'reduce', roundId: 1, seq: 0, groups: { local: 2 } }, [f32('a', 2), f32('b', 2)]),
      'FLEET_ERR_TENSOR_SHAPE',
      /Expected 1 tensor\(s\) in group "local" of "reduce"/,
    ],
  ] as const)('refuses %s with its own code, naming the group', (_, frames, code, message) => {
    const err = errorOf(() => decodeMessage(frames));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });

  it('keeps the valid header of a message refused for its groups, so the refusal can name what it answers', () => {
    let caught: unknown;
    try {
      decodeMessage(handMade({ kind: 'reduce', roundId: 9, seq: 3, groups: { local: 1 } }, [i32('local', 1)]));
    } catch (err) {
      caught = err;
    }
    expect(refusedHeader(caught)).toEqual({ kind: 'reduce', roundId: 9, seq: 3 });
    try {
      decodeMessage(handMade({ kind: 'reduce', roundId: -1, seq: 3, groups: { local: 1 } }, [f32('local', 1)]));
    } catch (err) {
      caught = err;
    }
    expect(refusedHeader(caught)).toBeUndefined(); // the header itself was refused
  });
});
