/**
 * The one wire module. A message is a ZeroMQ multipart: frame 0 is a msgpackr header
 * `{ v, kind, ...fields, groups: { name: count }, tensors: [{ name, dtype, shape }] }`, then one raw
 * little-endian frame per tensor, in header order. Tensor data never travels as msgpack arrays or JSON.
 * The tensors form named groups (a round's `weights` and `indices`, say), declared per kind in GROUPS with
 * their dtype, rank and count; they travel group after group in GROUPS order, and `groups` gives the counts.
 * Every inbound message goes through `decodeMessage`, which validates header and groups and throws a typed
 * FleetError, so receivers read `msg.groups.weights` and never split a tensor list by position.
 */
import { pack, unpack } from 'msgpackr';
import { z } from 'zod';
import { fleetError } from '../runtime/catalogue/index.ts';
import { FleetError, describe, isFleetError } from '../runtime/errors.ts';

/** Bumped on any incompatible change to a header or frame layout. */
export const PROTOCOL_VERSION = 3;

/** Largest header we accept, in bytes; headers are small, tensors travel in their own frames. */
export const MAX_HEADER_BYTES = 1 << 20;

/** Dtypes that travel on the wire; both are 4 bytes per element. */
export const WIRE_DTYPES = ['float32', 'int32'] as const;
/** A wire dtype. */
export type WireDtype = (typeof WIRE_DTYPES)[number];

/** A tensor on the wire: named, typed, shaped, with its data as a typed array. */
export interface WireTensor {
  readonly name: string;
  readonly dtype: WireDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

const dim = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);
const tensorSpec = z.strictObject({
  name: z.string().max(256),
  dtype: z.enum(WIRE_DTYPES),
  shape: z.array(dim).max(8),
});
const finite = z.number().refine(Number.isFinite, 'a finite number');
const id = z.number().int().min(0);

/** Most tensors one message carries. */
const MAX_TENSORS = 4096;

/**
 * Of round and evaluate: the `weights` group holds model.weights[i] for these strictly ascending indices,
 * one per tensor, the rest unchanged; unset: all weights, in order. decodeMessage checks both.
 */
const weightIndices = z
  .array(id)
  .max(1 << 16)
  .optional();

const hello = z.strictObject({
  kind: z.literal('hello'),
  pid: id,
  host: z.string().max(256),
  backend: z.string().max(64),
  token: z.string().max(1024).optional(),
});
const welcome = z.strictObject({
  kind: z.literal('welcome'),
  rank: id,
  jobPath: z.string().max(4096),
  /** Arguments for a job module whose default export is a factory (the programmatic API's inline jobs). */
  jobArgs: z.record(z.string(), z.unknown()).optional(),
  modelConfig: z.string().max(64 << 20),
  compile: z.record(z.string(), z.unknown()),
  backend: z.string().max(64),
  heartbeatIntervalMs: z.number().int().positive(),
  /** The coordinator's optimizer (tfjs class name and config): every worker applies the same update. */
  optimizer: z.strictObject({ className: z.string().max(128), config: z.record(z.string(), z.unknown()) }),
  /** With an `optimizer` group: the optimizer's iteration count (its slots are the group). */
  optimizerIterations: id.optional(),
});
const ready = z.strictObject({
  kind: z.literal('ready'),
  /** tf.memory().numTensors once the model is built, the baseline for leak checks. */
  numTensors: id,
  /** Where this worker's peers reach it for the gradient exchange (worker/exchange). */
  peerEndpoint: z.string().max(1024),
  /** This worker's CURVE public key, when CURVE is on: its peers dial it with this key. */
  peerKey: z.string().length(40).optional(),
});
const round = z.strictObject({
  kind: z.literal('round'),
  roundId: id,
  epoch: id,
  step: id,
  /** The version of the `weights` group; without one, the worker must already hold this version. */
  weightsVersion: id,
  weightIndices,
  /** With an `optimizer` group: the optimizer's iteration count (its slots are the group). */
  optimizerIterations: id.optional(),
  /** The learning rate of this step (callbacks change it on the coordinator). */
  learningRate: z.number().positive().refine(Number.isFinite, 'a finite number'),
  /** Who exchanges gradients this step: the session names the membership, `rank` this worker's place in
   * it, then every member's endpoint (and CURVE key) and sample count, by rank. */
  exchange: z.strictObject({
    session: z.string().min(8).max(64),
    rank: id,
    endpoints: z.array(z.string().max(1024)).min(1).max(4096),
    keys: z.array(z.string().length(40)).max(4096).optional(),
    samples: z.array(id).max(4096),
  }),
});
/** A worker has computed its gradient of round `roundId` and starts exchanging it (for straggler detection). */
const computed = z.strictObject({ kind: z.literal('computed'), roundId: id });
/** A worker's step is ready: its gradient is exchanged and averaged, waiting for `commit` to apply it. */
const stepped = z.strictObject({
  kind: z.literal('stepped'),
  roundId: id,
  samples: id,
  lossSum: finite,
  metricSums: z.array(finite).max(64),
  computeSeconds: z.number().min(0),
  /** tf.memory().numTensors on the worker after the step, so leaks are visible from the coordinator. */
  numTensors: id,
  /** Bytes this worker sent to and received from its peers for this step's exchange. */
  exchangeBytes: z.strictObject({ sent: id, received: id }),
});
const evaluate = z.strictObject({
  kind: z.literal('evaluate'),
  evalId: id,
  split: z.enum(['train', 'validation', 'test']),
  /** Examples [start, start+count) of the split view, in order. */
  start: id,
  count: id,
  weightsVersion: id,
  weightIndices,
  /** 'metrics' returns sums; 'predict' also returns the outputs as a tensor. */
  mode: z.enum(['metrics', 'predict']),
});
const evalResult = z.strictObject({
  kind: z.literal('evalResult'),
  evalId: id,
  samples: id,
  lossSum: finite,
  metricSums: z.array(finite).max(64),
});
/** Apply the averaged gradient of round `roundId`; the model is then at `weightsVersion`. */
const commit = z.strictObject({ kind: z.literal('commit'), roundId: id, weightsVersion: id });
/** Send back the model's weights and the optimizer's state (for checkpoints, callbacks and new members). */
const pull = z.strictObject({ kind: z.literal('pull'), pullId: id });
/** The answer to `pull`: all weights and the optimizer state, at `weightsVersion`. */
const pulled = z.strictObject({ kind: z.literal('pulled'), pullId: id, weightsVersion: id, optimizerIterations: id });
/** A worker's contribution to an all-reduce inside round `roundId` (synchronized BatchNormalization). */
const reduce = z.strictObject({
  kind: z.literal('reduce'),
  roundId: id,
  /** The reduction's position in the round; every participant makes the same sequence of reductions. */
  seq: z.number().int().min(0).max(4095),
});
/** The elementwise sum of every participant's `reduce` vector for (roundId, seq), as its `sum` group. */
const reduced = z.strictObject({
  kind: z.literal('reduced'),
  roundId: id,
  seq: z.number().int().min(0).max(4095),
});
/** Worker to worker, reduce-scatter: the sender's contribution to one bucket it does not own, sent to
 * the owner, weighed by the sender's `samples`. `session` names the membership the coordinator set. */
const scatter = z.strictObject({
  kind: z.literal('scatter'),
  session: z.string().max(64),
  roundId: id,
  from: id,
  bucket: id,
  samples: id,
});
/** Worker to worker, all-gather: the owner's reduced bucket (the weighted mean of `samples` in all). */
const gather = z.strictObject({
  kind: z.literal('gather'),
  session: z.string().max(64),
  roundId: id,
  from: id,
  bucket: id,
  samples: id,
});
const heartbeat = z.strictObject({ kind: z.literal('heartbeat'), sentAtMs: z.number().min(0) });
const done = z.strictObject({ kind: z.literal('done'), reason: z.string().max(4096), ok: z.boolean() });
const errorMsg = z.strictObject({
  kind: z.literal('error'),
  code: z.string().max(64),
  message: z.string().max(8192),
  /** The kind of the message being answered, when known. */
  inReplyTo: z.string().max(64).optional(),
  /** The round or evaluation id being answered, when the error is a reply to one. */
  replyId: id.optional(),
});

const headerSchemas = {
  hello,
  welcome,
  ready,
  round,
  computed,
  stepped,
  commit,
  pull,
  pulled,
  evaluate,
  evalResult,
  reduce,
  reduced,
  scatter,
  gather,
  heartbeat,
  done,
  error: errorMsg,
} as const;

/** Every message kind, by name. */
export type MessageKind = keyof typeof headerSchemas;
/** The header fields of one kind (without `v`, `groups` and `tensors`). */
export type Header<K extends MessageKind> = z.infer<(typeof headerSchemas)[K]>;

/** What one named tensor group of a kind carries. */
export interface GroupSpec {
  readonly dtype: WireDtype;
  /** Rank of every tensor of the group, where the protocol knows it; otherwise only the receiver's model does. */
  readonly rank?: number;
  /** Fewest tensors; a group with a minimum of 1 or more must be named in the header. */
  readonly min: number;
  /** Most tensors. */
  readonly max: number;
}

/**
 * The tensor groups each kind may carry, in frame order. Shapes against a model (weights, gradients) are
 * checked by the receiver, which alone knows the model.
 */
export const GROUPS = {
  hello: {},
  /**
   * All model weights, in model.weights order (a model may have none: the worker checks the count), the
   * optimizer's state (optimizer.getWeights() order) when it has any, then the job's arrays when they
   * travel with it (`<split>.x`, `<split>.y`: the API's `cluster({ bind })`).
   */
  welcome: {
    weights: { dtype: 'float32', min: 0, max: MAX_TENSORS },
    optimizer: { dtype: 'float32', min: 0, max: MAX_TENSORS },
    data: { dtype: 'float32', min: 0, max: 6 },
  },
  ready: {},
  /** The weights the worker lacks (none when it holds `weightsVersion`), then its shard's row indices. */
  round: {
    weights: { dtype: 'float32', min: 0, max: MAX_TENSORS },
    /** The optimizer's state, for a worker that joins (or rejoins) the exchange. */
    optimizer: { dtype: 'float32', min: 0, max: MAX_TENSORS },
    indices: { dtype: 'int32', rank: 1, min: 1, max: 1 },
    /** The rows this worker will most likely get next step, for its batch pool to gather while it computes. */
    next: { dtype: 'int32', rank: 1, min: 0, max: 1 },
  },
  computed: {},
  stepped: {},
  commit: {},
  pull: {},
  /** All model weights, then the optimizer's state. */
  pulled: {
    weights: { dtype: 'float32', min: 0, max: MAX_TENSORS },
    optimizer: { dtype: 'float32', min: 0, max: MAX_TENSORS },
  },
  evaluate: { weights: { dtype: 'float32', min: 0, max: MAX_TENSORS } },
  /** The outputs, rows in order, in 'predict' mode only. */
  evalResult: { predictions: { dtype: 'float32', min: 0, max: 1 } },
  reduce: { local: { dtype: 'float32', rank: 1, min: 1, max: 1 } },
  reduced: { sum: { dtype: 'float32', rank: 1, min: 1, max: 1 } },
  /** The bucket's values: the sender's contribution (scatter) or the owner's reduced bucket (gather). */
  scatter: { values: { dtype: 'float32', rank: 1, min: 1, max: 1 } },
  gather: { values: { dtype: 'float32', rank: 1, min: 1, max: 1 } },
  heartbeat: {},
  done: {},
  error: {},
} as const satisfies { readonly [K in MessageKind]: Readonly<Record<string, GroupSpec>> };

type GroupTable = typeof GROUPS;
/** Exactly one tensor decodes to a one-element tuple, so receivers need no index checks. */
type TensorsOf<S> = S extends { readonly min: 1; readonly max: 1 } ? readonly [WireTensor] : readonly WireTensor[];
type RequiredGroup<K extends MessageKind> = {
  [G in keyof GroupTable[K]]: GroupTable[K][G] extends { readonly min: 0 } ? never : G;
}[keyof GroupTable[K]];
/** The decoded groups of kind K: every group it declares, empty when the header did not name it. */
export type Groups<K extends MessageKind> = { readonly [G in keyof GroupTable[K]]: TensorsOf<GroupTable[K][G]> };
/** The groups a sender passes: those with a minimum of one must be there, the others may be left out. */
export type GroupsIn<K extends MessageKind> = { readonly [G in RequiredGroup<K>]: TensorsOf<GroupTable[K][G]> } & {
  readonly [G in Exclude<keyof GroupTable[K], RequiredGroup<K>>]?: TensorsOf<GroupTable[K][G]>;
};
type GroupsField<K extends MessageKind> = [RequiredGroup<K>] extends [never]
  ? { readonly groups?: GroupsIn<K> }
  : { readonly groups: GroupsIn<K> };

/** A decoded message: validated header plus its validated tensor groups. */
export type Message = { [K in MessageKind]: Header<K> & { readonly groups: Groups<K> } }[MessageKind];
/** A decoded message of one kind. */
export type MessageOf<K extends MessageKind> = Extract<Message, { kind: K }>;
/** A message to send: header fields and named groups; encodeMessage writes the counts. */
export type Outbound = { [K in MessageKind]: Header<K> & GroupsField<K> }[MessageKind];
/** A message of one kind to send. */
export type OutboundOf<K extends MessageKind> = Extract<Outbound, { kind: K }>;

/** The kinds this protocol knows, for exhaustive tables and fuzzers. */
export const MESSAGE_KINDS = Object.keys(headerSchemas) as MessageKind[];

/** The declared groups of a kind, in frame order. */
function groupsOf(kind: MessageKind): [string, GroupSpec][] {
  return Object.entries(GROUPS[kind]);
}

/**
 * Encodes a message into multipart frames: the header with each group's count, then the tensors group by
 * group in GROUPS order. The caller keeps ownership of the tensor data.
 */
export function encodeMessage(msg: Outbound): Buffer[] {
  const { groups, ...header } = msg;
  const given = new Map<string, readonly WireTensor[]>(Object.entries(groups ?? {}));
  const tensors = groupsOf(msg.kind).flatMap(([name]) => given.get(name) ?? []);
  const counts = Object.fromEntries(
    groupsOf(msg.kind)
      .map(([name]) => [name, given.get(name)?.length ?? 0])
      .filter(([, n]) => n !== 0),
  );
  const specs = tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] }));
  const frames: Buffer[] = [pack({ v: PROTOCOL_VERSION, ...header, groups: counts, tensors: specs })];
  for (const t of tensors) frames.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return frames;
}

/** Headers of messages refused for their tensors, so that a refusal can name the request it answers. */
const refusedHeaders = new WeakMap<FleetError, Header<MessageKind>>();

/**
 * The valid header of a message decodeMessage refused for its groups or tensors (so the receiver can say
 * which round an error answers); undefined when the header itself was refused.
 */
export function refusedHeader(err: unknown): Header<MessageKind> | undefined {
  return err instanceof FleetError ? refusedHeaders.get(err) : undefined;
}

/**
 * Decodes and validates one inbound multipart message; throws FleetError with a precise code, and only
 * FleetError: hostile bytes (msgpack nested deep enough to overflow the stack, say) must never surface as
 * a RangeError or TypeError, which the receive loops treat as bugs and rethrow, ending the loop.
 */
export function decodeMessage(frames: readonly Buffer[]): Message {
  try {
    return decodeFrames(frames);
  } catch (err) {
    if (isFleetError(err)) throw err;
    throw fleetError('WIRE_UNDECODABLE', { received: `${(err as Error).name}: ${(err as Error).message}` });
  }
}

function decodeFrames(frames: readonly Buffer[]): Message {
  const [head, ...payload] = frames;
  if (head === undefined || head.byteLength === 0) {
    throw fleetError('WIRE_NO_HEADER_FRAME', { received: `${frames.length} frames, first empty` });
  }
  if (head.byteLength > MAX_HEADER_BYTES) {
    throw fleetError('WIRE_HEADER_TOO_LARGE', { max: MAX_HEADER_BYTES, received: `${head.byteLength} bytes` });
  }
  let raw: unknown;
  try {
    raw = unpack(head);
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0];
    throw fleetError('WIRE_HEADER_UNDECODABLE', { received: `undecodable bytes (${reason})` });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw fleetError('WIRE_HEADER_NOT_MAP', { received: raw });
  }
  const { v, groups: rawGroups, tensors: rawSpecs, ...fields } = raw as Record<string, unknown>;
  if (v !== PROTOCOL_VERSION) {
    throw fleetError('WIRE_VERSION', { version: PROTOCOL_VERSION, received: v }, { received: v });
  }
  const kind = fields['kind'];
  if (typeof kind !== 'string' || !Object.hasOwn(headerSchemas, kind)) {
    throw fleetError('WIRE_UNKNOWN_KIND', { kinds: MESSAGE_KINDS.join(', '), received: kind });
  }
  const schema = headerSchemas[kind as MessageKind];
  const parsed = schema.safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(header)';
    throw fleetError('WIRE_BAD_HEADER', { kind, where, issue: issue?.message ?? 'invalid', fields });
  }
  try {
    const groups = decodeGroups(parsed.data.kind, rawGroups, rawSpecs, payload);
    const msg = { ...parsed.data, groups } as Message;
    if (msg.kind === 'round' || msg.kind === 'evaluate') checkWeightIndices(msg);
    return msg;
  } catch (err) {
    if (isFleetError(err)) refusedHeaders.set(err, parsed.data);
    throw err;
  }
}

const groupCounts = z.record(z.string().max(64), z.number().int().min(0).max(MAX_TENSORS));

/** Splits the tensor frames into the kind's named groups, checking names, counts, dtypes and ranks. */
function decodeGroups(
  kind: MessageKind,
  rawGroups: unknown,
  rawSpecs: unknown,
  payload: readonly Buffer[],
): Record<string, WireTensor[]> {
  const counts = groupCounts.safeParse(rawGroups ?? {});
  if (!counts.success) throw fleetError('WIRE_BAD_GROUPS', { layout: '{ name: count }', received: rawGroups });
  const declared = groupsOf(kind);
  const unknown = Object.keys(counts.data).find((name) => !Object.hasOwn(GROUPS[kind], name));
  if (unknown !== undefined) {
    const names = declared.map(([n]) => n).join(', ');
    throw fleetError('WIRE_UNKNOWN_GROUP', { kind, names, received: unknown });
  }
  for (const [name, spec] of declared) {
    const n = counts.data[name];
    if (n === undefined && spec.min > 0) {
      throw fleetError('WIRE_MISSING_GROUP', { name, kind, received: `groups ${describe(counts.data)}` });
    }
    if (n !== undefined && (n < spec.min || n > spec.max)) {
      const want = spec.min === spec.max ? `${spec.min}` : `${spec.min} to ${spec.max}`;
      throw fleetError('WIRE_GROUP_SIZE', { want, name, kind, received: `${n} tensors` });
    }
  }
  const specs = z
    .array(tensorSpec)
    .max(MAX_TENSORS)
    .safeParse(rawSpecs ?? []);
  if (!specs.success) throw fleetError('WIRE_BAD_SPECS', { layout: '[{name, dtype, shape}]', received: rawSpecs });
  const total = declared.reduce((a, [name]) => a + (counts.data[name] ?? 0), 0);
  if (specs.data.length !== total) {
    throw fleetError('WIRE_SPEC_COUNT', { total, counts: counts.data, received: `${specs.data.length}` });
  }
  if (specs.data.length !== payload.length) {
    throw fleetError('WIRE_FRAME_COUNT', { count: specs.data.length, received: `${payload.length} frames` });
  }
  const out: Record<string, WireTensor[]> = {};
  let at = 0;
  for (const [name, spec] of declared) {
    const group: WireTensor[] = [];
    for (let i = 0; i < (counts.data[name] ?? 0); i++, at++) {
      const t = specs.data[at] as z.infer<typeof tensorSpec>;
      const where = `tensor ${i} of group "${name}" in "${kind}"`;
      if (t.dtype !== spec.dtype) throw fleetError('WIRE_GROUP_DTYPE', { dtype: spec.dtype, where, received: t.dtype });
      if (spec.rank !== undefined && t.shape.length !== spec.rank) {
        throw fleetError('WIRE_GROUP_RANK', { rank: spec.rank, where, received: `shape [${t.shape}]` });
      }
      group.push(toTensor(t, payload[at] as Buffer));
    }
    out[name] = group;
  }
  return out;
}

/** weightIndices, when set, name the weights group's tensors one by one, in strictly ascending order. */
function checkWeightIndices(msg: MessageOf<'round' | 'evaluate'>): void {
  const indices = msg.weightIndices;
  if (indices === undefined) return;
  const ascending = indices.every((i, k) => k === 0 || i > (indices[k - 1] as number));
  if (indices.length !== msg.groups.weights.length || !ascending) {
    const shown = `[${indices.slice(0, 8).join(', ')}${indices.length > 8 ? ', ...' : ''}]`;
    const count = msg.groups.weights.length;
    throw fleetError('WIRE_WEIGHT_INDICES', { count, kind: msg.kind, received: `${indices.length} indices ${shown}` });
  }
}

/** Number of elements in a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function toTensor(spec: z.infer<typeof tensorSpec>, frame: Buffer): WireTensor {
  const bytes = sizeOf(spec.shape) * 4;
  if (frame.byteLength !== bytes) {
    const received = `${frame.byteLength} bytes`;
    throw fleetError('WIRE_TENSOR_BYTES', { bytes, name: spec.name, shape: spec.shape, received });
  }
  // ZeroMQ frames may start at any byte offset; typed arrays need 4-byte alignment, so copy when unaligned.
  const aligned = frame.byteOffset % 4 === 0 ? frame : Buffer.from(frame);
  const Ctor = spec.dtype === 'float32' ? Float32Array : Int32Array;
  return { ...spec, data: new Ctor(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / 4) };
}

/** Expected layout of a tensor group, as the receiver knows it from the model. */
export interface TensorExpectation {
  readonly name: string;
  readonly dtype: WireDtype;
  readonly shape: readonly number[];
}

/**
 * Checks tensors against what the receiver expects: count, dtype, shape, and (when `finite`) that every
 * value is finite. Throws the matching FleetError; never returns partially-checked data.
 */
export function checkTensors(
  tensors: readonly WireTensor[],
  want: readonly TensorExpectation[],
  opts: { finite: boolean },
): void {
  if (tensors.length !== want.length) {
    throw fleetError('WIRE_TENSOR_COUNT', { count: want.length, received: `${tensors.length} tensors` });
  }
  tensors.forEach((t, i) => {
    const w = want[i] as TensorExpectation;
    if (t.dtype !== w.dtype) {
      throw fleetError('WIRE_TENSOR_DTYPE', { dtype: w.dtype, index: i, name: w.name, received: t.dtype });
    }
    if (t.shape.length !== w.shape.length || t.shape.some((d, j) => d !== w.shape[j])) {
      throw fleetError('WIRE_TENSOR_SHAPE', { shape: w.shape, index: i, name: w.name, received: `[${t.shape}]` });
    }
    if (opts.finite) {
      const j = firstNonFinite(t.data);
      if (j >= 0) {
        throw fleetError('WIRE_NONFINITE', { index: i, name: w.name, received: `${t.data[j]} at index ${j}` });
      }
    }
  });
}

/** Index of the first NaN or ±Infinity, or -1. `v - v` is 0 for every finite v and NaN otherwise, which
 * is several times faster over a large gradient than calling Number.isFinite per element. */
export function firstNonFinite(data: Float32Array | Int32Array): number {
  let acc = 0;
  for (let j = 0; j < data.length; j++) acc += (data[j] as number) * 0;
  if (acc === 0) return -1;
  for (let j = 0; j < data.length; j++) {
    const v = data[j] as number;
    if (v - v !== 0) return j;
  }
  return -1;
}
