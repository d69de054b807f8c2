/** Hand-made wire messages for tests that must send what encodeMessage would never write, and a seeded
 * mutator of valid messages for the fuzzers. */
import { pack, unpack } from 'msgpackr';
import { isFleetError } from '../../shared/runtime/errors.ts';
import { seededRandom } from '../../shared/runtime/rng.ts';
import {
  MAX_HEADER_BYTES,
  MESSAGE_KINDS,
  PROTOCOL_VERSION,
  decodeMessage,
  type WireTensor,
} from '../../shared/wire/protocol.ts';

/** A message with any header fields (group counts included, right or wrong), then one frame per tensor. */
export function handMade(fields: Record<string, unknown>, tensors: readonly WireTensor[]): Buffer[] {
  const specs = tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] }));
  const frames = tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return [pack({ v: PROTOCOL_VERSION, ...fields, tensors: specs }), ...frames];
}

/** A multipart message as raw frames. */
export type Frames = Buffer[];
/** A message to send, and how it was made (named in failures). */
export interface Mutant {
  readonly how: string;
  readonly frames: Frames;
}

const ODD_VALUES: unknown[] = [
  -1,
  -(2 ** 31),
  1.5,
  NaN,
  Infinity,
  -Infinity,
  2 ** 64,
  2 ** 53 + 1,
  '7',
  null,
  true,
  [],
  {},
  'x'.repeat(5000),
];
const ODD_SHAPES: unknown[] = [
  [2 ** 31 - 1],
  [2 ** 31 - 1, 2 ** 31 - 1],
  new Array(9).fill(2),
  [-1],
  [1.5],
  [2 ** 53],
  [],
  [0],
  ['3'],
  null,
  'shape',
  [NaN],
];
const ODD_KINDS: unknown[] = [
  ...MESSAGE_KINDS,
  '',
  'Gradients',
  'gradients',
  'x'.repeat(300),
  42,
  null,
  ['hello'],
  '__proto__',
  'constructor',
];
const ODD_DTYPES: unknown[] = ['float64', 'int64', 'bool', 'string', '', 7, null, 'int32', 'float32'];
const ODD_GROUPS: string[] = [
  'weights',
  'optimizer',
  'indices',
  'gradients',
  'state',
  'predictions',
  'local',
  'sum',
  'values',
  'extra',
  '__proto__',
  '',
];

const ODD_VERSIONS: unknown[] = [
  0,
  PROTOCOL_VERSION - 1,
  PROTOCOL_VERSION + 1,
  -1,
  String(PROTOCOL_VERSION),
  PROTOCOL_VERSION + 1e-7,
  null,
  2 ** 32,
];

/** A header's group counts as a plain record (numbers only), empty when it has none. */
function groupsOf(h: Record<string, unknown>): Record<string, number> {
  const g = h['groups'];
  if (typeof g !== 'object' || g === null) return {};
  return Object.fromEntries(Object.entries(g).filter((e): e is [string, number] => typeof e[1] === 'number'));
}

/** Seeded mutations of valid messages, and pure noise. */
export class Mutator {
  private readonly rand: () => number;
  constructor(seed: number) {
    this.rand = seededRandom(seed);
  }

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** One mutation of `base` (never modified in place). */
  mutate(base: Frames): Mutant {
    const f = base.map((b) => Buffer.from(b));
    const k = this.int(f.length);
    const header = (): Record<string, unknown> => unpack(f[0] as Buffer) as Record<string, unknown>;
    const repack = (h: Record<string, unknown>): Frames => [pack(h), ...f.slice(1)];
    const specs = (h: Record<string, unknown>) =>
      Array.isArray(h['tensors']) ? (h['tensors'] as Record<string, unknown>[]) : [];
    const ops: [string, () => Frames][] = [
      ['flip header bits', () => [this.flip(f[0] as Buffer, 1 + this.int(8)), ...f.slice(1)]],
      [
        'flip tensor bits',
        () => f.map((b, i) => (i === Math.max(1, k) && i < f.length ? this.flip(b, 1 + this.int(4)) : b)),
      ],
      ['truncate a frame', () => f.map((b, i) => (i === k ? b.subarray(0, this.int(b.byteLength)) : b))],
      ['extend a frame', () => f.map((b, i) => (i === k ? Buffer.concat([b, this.bytes(1 + this.int(16))]) : b))],
      ['extra frame', () => [...f, this.bytes(this.int(64))]],
      ['missing frame', () => (f.length > 1 ? f.filter((_, i) => i !== k) : [Buffer.alloc(0)])],
      ['duplicate frame', () => [...f.slice(0, k + 1), f[k] as Buffer, ...f.slice(k + 1)]],
      ['swap frames', () => (f.length > 1 ? [f[f.length - 1] as Buffer, ...f.slice(1, -1), f[0] as Buffer] : f)],
      ['wrong kind', () => repack({ ...header(), kind: this.pick(ODD_KINDS) })],
      ['wrong version', () => repack({ ...header(), v: this.pick(ODD_VERSIONS) })],
      [
        'odd number in a field',
        () => {
          const h = header();
          const key = this.pick(Object.keys(h).filter((x) => x !== 'kind' && x !== 'v' && x !== 'tensors'));
          return repack(key ? { ...h, [key]: this.pick(ODD_VALUES) } : h);
        },
      ],
      [
        'unknown field',
        () =>
          repack({
            ...header(),
            [this.pick(['extra', 'admin', '__proto__', 'token', 'tensors2'])]: this.pick(ODD_VALUES),
          }),
      ],
      [
        'missing field',
        () => {
          const h = header();
          delete h[this.pick(Object.keys(h))];
          return repack(h);
        },
      ],
      [
        'huge dims',
        () => {
          const h = header();
          const s = specs(h);
          if (s[0]) (s[this.int(s.length)] as Record<string, unknown>)['shape'] = this.pick(ODD_SHAPES);
          else h['tensors'] = [{ name: 'x', dtype: 'float32', shape: this.pick(ODD_SHAPES) }];
          return repack(h);
        },
      ],
      [
        'other group counts',
        () => {
          const h = header();
          const g: Record<string, unknown> = { ...groupsOf(h) };
          const name = this.pick([...Object.keys(g), ...ODD_GROUPS]);
          const n = Number(g[name]) || 0;
          g[name] = this.pick([n + 1, n - 1, 0, 2, ...ODD_VALUES]);
          return repack({ ...h, groups: this.int(8) ? g : this.pick(ODD_VALUES) });
        },
      ],
      [
        'group moved',
        () => {
          // One tensor changes group: counts still add up to the frames, so only the group checks catch it.
          const h = header();
          const g = groupsOf(h);
          const from = this.pick(Object.keys(g));
          const to = this.pick(ODD_GROUPS);
          if (from !== undefined && (g[from] ?? 0) > 0) [g[from], g[to]] = [(g[from] ?? 0) - 1, (g[to] ?? 0) + 1];
          return repack({ ...h, groups: g });
        },
      ],
      [
        'wrong dtype',
        () => {
          const h = header();
          const s = specs(h);
          if (s[0]) (s[this.int(s.length)] as Record<string, unknown>)['dtype'] = this.pick(ODD_DTYPES);
          return repack(h);
        },
      ],
      [
        'other id',
        () => {
          const h = header();
          for (const key of ['roundId', 'evalId', 'pullId']) {
            if (!(key in h)) continue;
            const v = h[key] as number;
            h[key] = this.pick([v + 1, v - 1, 0, 1000 + this.int(1e6), 2 ** 31 - 1]);
          }
          return repack(h);
        },
      ],
      [
        'other sample count',
        () => {
          const h = header();
          if ('samples' in h) h['samples'] = (h['samples'] as number) + this.pick([-1, 1, 100]);
          return repack(h);
        },
      ],
      ['nan in a tensor', () => (f.length > 1 ? f.map((b, i) => (i === Math.max(1, k) ? this.poison(b) : b)) : f)],
    ];
    const [how, op] = this.pick(ops);
    return { how, frames: op() };
  }

  /** Noise that never was a message. */
  noise(): Mutant {
    const ops: [string, () => Frames][] = [
      ['random bytes', () => Array.from({ length: 1 + this.int(4) }, () => this.bytes(this.int(256)))],
      ['random msgpack', () => [pack(this.value(3))]],
      ['msgpack non-map header', () => [pack(this.pick([[1, 2, 3], 'hello', null, 42, true, Buffer.from('x')]))]],
      ['deep nesting', () => [Buffer.concat([Buffer.alloc(this.pick([1e3, 1e4, 1e5]), 0x91), Buffer.from([0xc0])])]],
      ['empty frame', () => [Buffer.alloc(0), ...(this.int(2) ? [this.bytes(8)] : [])]],
      [
        'msgpack extension types',
        () => [Buffer.concat([Buffer.from([0xd4 + this.int(5), this.int(256)]), this.bytes(this.int(32))])],
      ],
    ];
    const [how, op] = this.pick(ops);
    return { how, frames: op() };
  }

  /** A header over MAX_HEADER_BYTES: rare, so it is sent on purpose a few times rather than drawn. */
  hugeHeader(): Mutant {
    const header = { v: PROTOCOL_VERSION, kind: 'heartbeat', sentAtMs: 0, pad: 'x'.repeat(MAX_HEADER_BYTES) };
    return { how: 'huge header', frames: [pack(header)] };
  }

  private flip(b: Buffer, bits: number): Buffer {
    const out = Buffer.from(b);
    for (let i = 0; i < bits && out.byteLength > 0; i++) {
      const at = this.int(out.byteLength);
      out[at] = (out[at] as number) ^ (1 << this.int(8));
    }
    return out;
  }

  /** NaN or +-Infinity at a few float32 positions. */
  private poison(b: Buffer): Buffer {
    const out = Buffer.from(b);
    for (let i = 0; i < 1 + this.int(3) && out.byteLength >= 4; i++) {
      out.writeFloatLE(this.pick([NaN, Infinity, -Infinity]), 4 * this.int(out.byteLength / 4));
    }
    return out;
  }

  private value(depth: number): unknown {
    const leaf = () =>
      this.pick<() => unknown>([
        () => this.int(1e6) - 5e5,
        () => this.rand(),
        () => 'k'.repeat(this.int(20)),
        () => null,
        () => true,
        () => this.bytes(this.int(16)),
        () => new Date(0),
      ])();
    if (depth === 0 || this.int(3) === 0) return leaf();
    if (this.int(2)) return Array.from({ length: this.int(5) }, () => this.value(depth - 1));
    const entry = (i: number) => [this.pick(['v', 'kind', 'tensors', `f${i}`]), this.value(depth - 1)] as const;
    return Object.fromEntries(Array.from({ length: this.int(5) }, (_, i) => entry(i)));
  }
}

/** Decodes like the coordinator does; a FleetError becomes its code, anything else would be a crash. */
export function decodeOr(frames: Frames): ReturnType<typeof decodeMessage> | string {
  try {
    return decodeMessage(frames);
  } catch (err) {
    return isFleetError(err) ? err.code : `crash: ${String(err)}`;
  }
}
