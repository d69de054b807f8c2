import { pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { isFleetError } from '../../../shared/runtime/errors.ts';
import {
  GROUPS,
  MESSAGE_KINDS,
  PROTOCOL_VERSION,
  checkTensors,
  decodeMessage,
  encodeMessage,
  refusedHeader,
  type WireTensor,
} from '../../../shared/wire/protocol.ts';
import { seededRandom } from '../../../shared/runtime/rng.ts';
import { handMade } from '../../helpers/wire.ts';

const kernel = Float32Array.from([1, 2, 3, 4, 5, 6]);
const grads: WireTensor[] = [{ name: 'kernel', dtype: 'float32', shape: [2, 3], data: kernel }];
const pulledHeader = { kind: 'pulled' as const, pullId: 3, weightsVersion: 7, optimizerIterations: 12 };
const pulled = { ...pulledHeader, groups: { weights: grads } };
const f32 = (name: string, ...shape: number[]): WireTensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => i) };
};
const i32 = (name: string, ...values: number[]): WireTensor => ({
  name,
  dtype: 'int32',
  shape: [values.length],
  data: Int32Array.from(values),
});
const endpoints = ['tcp://10.0.0.1:1', 'tcp://10.0.0.2:1'];
const exchange = { session: 'session-01', rank: 1, endpoints, samples: [3, 2] };
const round = {
  kind: 'round' as const,
  roundId: 1,
  epoch: 0,
  step: 2,
  weightsVersion: 4,
  learningRate: 0.01,
  exchange,
};
const evaluate = { kind: 'evaluate', evalId: 1, split: 'test', start: 0, count: 1, weightsVersion: 1, mode: 'metrics' };
const optimizer = { className: 'SGD', config: { learningRate: 0.1 } };
const welcome = {
  kind: 'welcome' as const,
  rank: 2,
  jobPath: '/job.ts',
  modelConfig: '{}',
  compile: {},
  backend: 'cpu',
  heartbeatIntervalMs: 1000,
  optimizer,
};
const stepped = {
  kind: 'stepped' as const,
  roundId: 3,
  samples: 16,
  lossSum: 1.5,
  metricSums: [8],
  computeSeconds: 0.01,
  numTensors: 10,
  exchangeBytes: { sent: 4096, received: 4000 },
};

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
  return errorOf(fn).code;
}

/** A header without `key`, as a peer that leaves a required field out would send it. */
function without(fields: Record<string, unknown>, key: string): Record<string, unknown> {
  const rest = { ...fields };
  delete rest[key];
  return rest;
}

describe('protocol', () => {
  it('round-trips a header and raw tensor frames', () => {
    const frames = encodeMessage(pulled);
    expect(frames).toHaveLength(2);
    expect(frames[1]?.byteLength).toBe(24); // raw float32 bytes, not msgpack numbers
    const msg = decodeMessage(frames);
    if (msg.kind !== 'pulled') return expect.unreachable();
    expect(msg).toMatchObject(pulledHeader);
    expect(msg.groups.weights[0]?.shape).toEqual([2, 3]);
    expect(Array.from(msg.groups.weights[0]?.data ?? [])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(msg.groups.optimizer).toEqual([]); // declared, not sent: empty
  });

  it('copies unaligned frames before viewing them as floats', () => {
    const frames = encodeMessage(pulled);
    const shifted = Buffer.alloc(25);
    (frames[1] as Buffer).copy(shifted, 1);
    const msg = decodeMessage([frames[0] as Buffer, shifted.subarray(1)]);
    expect(msg.kind === 'pulled' && Array.from(msg.groups.weights[0]?.data ?? [])).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects random bytes with FLEET_ERR_PROTOCOL_DECODE or SCHEMA, never a crash', () => {
    const rand = seededRandom(42);
    const allowed = ['FLEET_ERR_PROTOCOL_DECODE', 'FLEET_ERR_PROTOCOL_VERSION', 'FLEET_ERR_PROTOCOL_SCHEMA'];
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
      expect(allowed).toContain(codeOf(() => decodeMessage([bytes])));
    }
  });

  it('rejects a wrong protocol version', () => {
    const frame = pack({ v: PROTOCOL_VERSION + 1, kind: 'heartbeat', sentAtMs: 1, tensors: [] });
    expect(codeOf(() => decodeMessage([frame]))).toBe('FLEET_ERR_PROTOCOL_VERSION');
  });

  it("rejects unknown kinds (v2's gradients among them), missing fields and extra fields", () => {
    const decode = (h: Record<string, unknown>) => codeOf(() => decodeMessage([pack({ v: PROTOCOL_VERSION, ...h })]));
    expect(decode({ kind: 'nope', tensors: [] })).toBe('FLEET_ERR_PROTOCOL_SCHEMA');
    expect(MESSAGE_KINDS).not.toContain('gradients');
    expect(decode({ ...stepped, kind: 'gradients', tensors: [] })).toBe('FLEET_ERR_PROTOCOL_SCHEMA');
    expect(decode({ kind: 'stepped', tensors: [] })).toBe('FLEET_ERR_PROTOCOL_SCHEMA');
    expect(decode({ kind: 'heartbeat', sentAtMs: 1, extra: 1, tensors: [] })).toBe('FLEET_ERR_PROTOCOL_SCHEMA');
  });

  it('rejects frames that do not match the declared shape, and a missing frame', () => {
    const frames = encodeMessage(pulled);
    expect(codeOf(() => decodeMessage([frames[0] as Buffer, Buffer.alloc(20)]))).toBe('FLEET_ERR_TENSOR_SHAPE');
    expect(codeOf(() => decodeMessage([frames[0] as Buffer]))).toBe('FLEET_ERR_TENSOR_SHAPE');
  });

  it('checkTensors rejects wrong shapes, dtypes and non-finite values with their own codes', () => {
    const want = [{ name: 'kernel', dtype: 'float32' as const, shape: [2, 3] }];
    const g = grads[0] as WireTensor;
    const check = (t: WireTensor[]) => codeOf(() => checkTensors(t, want, { finite: true }));
    expect(check(grads)).toBe('no error');
    expect(check([{ ...g, shape: [3, 2] }])).toBe('FLEET_ERR_TENSOR_SHAPE');
    expect(check([{ ...g, dtype: 'int32' }])).toBe('FLEET_ERR_TENSOR_DTYPE');
    expect(check([{ ...g, data: Float32Array.from([1, 2, NaN, 4, 5, 6]) }])).toBe('FLEET_ERR_NONFINITE');
    expect(check([{ ...g, data: Float32Array.from([1, 2, Infinity, 4, 5, 6]) }])).toBe('FLEET_ERR_NONFINITE');
    expect(check([])).toBe('FLEET_ERR_TENSOR_SHAPE');
  });

  it('messages say what was expected and what was received', () => {
    expect(PROTOCOL_VERSION).toBe(3);
    const err = errorOf(() => decodeMessage([pack({ v: 99, kind: 'heartbeat', sentAtMs: 1 })]));
    expect(err.message).toMatch(/Expected protocol version 3\. Received: 99/);
  });
});

describe('protocol v3 kinds', () => {
  it('round-trips stepped, commit, pull and pulled, headers and groups', () => {
    expect(decodeMessage(encodeMessage(stepped))).toEqual({ ...stepped, groups: {} });
    const commit = { kind: 'commit' as const, roundId: 4, weightsVersion: 9 };
    expect(decodeMessage(encodeMessage(commit))).toEqual({ ...commit, groups: {} });
    const pull = { kind: 'pull' as const, pullId: 5 };
    expect(decodeMessage(encodeMessage(pull))).toEqual({ ...pull, groups: {} });
    const slots = [f32('#0/m', 2, 3), f32('#0/v', 2, 3)];
    const frames = encodeMessage({ ...pulledHeader, groups: { weights: [f32('w0', 2, 3)], optimizer: slots } });
    expect(unpack(frames[0] as Buffer)).toMatchObject({ v: 3, groups: { weights: 1, optimizer: 2 } });
    const msg = decodeMessage(frames);
    if (msg.kind !== 'pulled') return expect.unreachable();
    expect(msg).toMatchObject(pulledHeader);
    expect(msg.groups.weights.map((t) => t.name)).toEqual(['w0']);
    expect(msg.groups.optimizer.map((t) => [t.name, t.shape, Array.from(t.data)])).toEqual([
      ['#0/m', [2, 3], [0, 1, 2, 3, 4, 5]],
      ['#0/v', [2, 3], [0, 1, 2, 3, 4, 5]],
    ]);
  });

  it('round-trips a round with its exchange, learning rate and optimizer state', () => {
    const keys = ['a'.repeat(40), 'b'.repeat(40)];
    const full = { ...round, optimizerIterations: 30, exchange: { ...exchange, keys } };
    const indices = [i32('indices', 4, 5, 6)] as const;
    const groups = { weights: [f32('w0', 2)], optimizer: [f32('#0/m', 2)], indices };
    const msg = decodeMessage(encodeMessage({ ...full, groups }));
    if (msg.kind !== 'round') return expect.unreachable();
    expect(msg).toMatchObject(full);
    expect(msg.groups.optimizer.map((t) => t.name)).toEqual(['#0/m']);
    expect(Array.from(msg.groups.indices[0].data)).toEqual([4, 5, 6]);
  });

  it('round-trips a welcome with the optimizer, and a ready with the peer endpoint and key', () => {
    const slots = [f32('#0/m', 1)];
    const w = decodeMessage(encodeMessage({ ...welcome, optimizerIterations: 5, groups: { optimizer: slots } }));
    expect(w).toMatchObject({ ...welcome, optimizerIterations: 5 });
    expect(w.kind === 'welcome' && [w.groups.weights.length, w.groups.optimizer.length]).toEqual([0, 1]);
    const peerKey = 'k'.repeat(40);
    const ready = { kind: 'ready' as const, numTensors: 3, peerEndpoint: 'tcp://10.0.0.1:7000', peerKey };
    expect(decodeMessage(encodeMessage(ready))).toEqual({ ...ready, groups: {} });
  });

  it.each([
    [
      'a pulled whose optimizer group is int32',
      handMade({ ...pulledHeader, groups: { weights: 0, optimizer: 1 } }, [i32('#0/m', 1, 2)]),
      'FLEET_ERR_TENSOR_DTYPE',
      /Expected dtype float32 for tensor 0 of group "optimizer" in "pulled"\. Received: "int32"/,
    ],
    [
      'a round without exchange',
      handMade({ ...without(round, 'exchange'), groups: { indices: 1 } }, [i32('indices', 0)]),
      'FLEET_ERR_PROTOCOL_SCHEMA',
      /exchange/,
    ],
    [
      'a round without learningRate',
      handMade({ ...without(round, 'learningRate'), groups: { indices: 1 } }, [i32('indices', 0)]),
      'FLEET_ERR_PROTOCOL_SCHEMA',
      /learningRate/,
    ],
    [
      'a round with a learning rate of 0',
      handMade({ ...round, learningRate: 0, groups: { indices: 1 } }, [i32('indices', 0)]),
      'FLEET_ERR_PROTOCOL_SCHEMA',
      /learningRate/,
    ],
    [
      'a round whose exchange names no endpoint',
      handMade({ ...round, exchange: { ...exchange, endpoints: [] }, groups: { indices: 1 } }, [i32('indices', 0)]),
      'FLEET_ERR_PROTOCOL_SCHEMA',
      /endpoints/,
    ],
    [
      'a round with a CURVE key of the wrong length',
      handMade({ ...round, exchange: { ...exchange, keys: ['short'] }, groups: { indices: 1 } }, [i32('indices', 0)]),
      'FLEET_ERR_PROTOCOL_SCHEMA',
      /keys/,
    ],
    [
      'a welcome without optimizer',
      handMade(without(welcome, 'optimizer'), []),
      'FLEET_ERR_PROTOCOL_SCHEMA',
      /optimizer/,
    ],
    [
      'a ready without peerEndpoint',
      handMade({ kind: 'ready', numTensors: 0 }, []),
      'FLEET_ERR_PROTOCOL_SCHEMA',
      /peerEndpoint/,
    ],
    [
      'a stepped carrying tensors',
      handMade(stepped, [f32('g', 2)]),
      'FLEET_ERR_TENSOR_SHAPE',
      /Expected 0 tensor specs/,
    ],
    [
      'a commit without weightsVersion',
      handMade({ kind: 'commit', roundId: 1 }, []),
      'FLEET_ERR_PROTOCOL_SCHEMA',
      /weightsVersion/,
    ],
    ['a pull with a negative id', handMade({ kind: 'pull', pullId: -1 }, []), 'FLEET_ERR_PROTOCOL_SCHEMA', /pullId/],
  ] as const)('refuses %s', (_, frames, code, message) => {
    const err = errorOf(() => decodeMessage(frames));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });
});

describe('tensor groups', () => {
  it('round-trip by name, group after group, and the header carries the counts the encoder wrote', () => {
    const weights = [f32('w0', 2, 3), f32('w1', 3)];
    const indices = [i32('indices', 7, 8, 9)] as const;
    const frames = encodeMessage({ ...round, weightIndices: [1, 4], groups: { weights, indices } });
    expect(unpack(frames[0] as Buffer)).toMatchObject({ v: 3, groups: { weights: 2, indices: 1 } });
    expect(frames).toHaveLength(4);
    const msg = decodeMessage(frames);
    if (msg.kind !== 'round') return expect.unreachable();
    expect(msg.groups.weights.map((t) => [t.name, t.shape])).toEqual([
      ['w0', [2, 3]],
      ['w1', [3]],
    ]);
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
    expect(Object.keys(GROUPS.round)).toEqual(['weights', 'optimizer', 'indices', 'next']);
    expect(GROUPS.round.next).toEqual({ dtype: 'int32', rank: 1, min: 0, max: 1 });
    expect(GROUPS.pulled).toEqual({
      weights: { dtype: 'float32', min: 0, max: expect.any(Number) },
      optimizer: { dtype: 'float32', min: 0, max: expect.any(Number) },
    });
    expect([GROUPS.stepped, GROUPS.commit, GROUPS.pull]).toEqual([{}, {}, {}]);
    expect('gradients' in GROUPS).toBe(false);
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
      handMade({ ...round, weightIndices: [0, 1, 2], groups: { weights: 2, indices: 1 } }, [
        f32('a'),
        f32('b'),
        i32('i'),
      ]),
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
      handMade({ kind: 'evalResult', evalId: 1, samples: 1, lossSum: 0, metricSums: [], groups: { weights: 1 } }, [
        f32('w'),
      ]),
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
