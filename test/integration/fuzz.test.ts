/**
 * Fuzzing a live coordinator: over 10,000 random and mutated messages while it trains dense-sgd.ts with two
 * real worker processes. It must never crash, answer every bad message with the typed error a local
 * `decodeMessage` + validation predicts (the oracle), and end with exactly the weights of an undisturbed run.
 *
 * Two sources, both seeded (SEED below; a failure names the seed and the message):
 *  - an unknown peer: a DEALER that never said hello sends mutations of valid messages of every kind and
 *    pure random bytes. Every one must come back as an `error` with the predicted code.
 *  - an admitted peer: the workers connect through a relay that holds each genuine `gradients` reply,
 *    and injects mutations of it over that worker's own connection, so they come from an admitted worker
 *    with the round in flight: before the genuine reply, only mutations the validator must reject (NaN,
 *    wrong shapes/dtypes/sample counts, wrong round ids); after it, duplicates (stale). The relay never
 *    injects what the coordinator could legitimately accept (a valid gradients reply, or a worker's
 *    `error`, which fails the round by design), nor a valid hello (admission policy is not under test).
 * Holding each genuine reply until its batch is answered interleaves the fuzz with training deterministically.
 */
import path from 'node:path';
import { pack, unpack } from 'msgpackr';
import * as zmq from 'zeromq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCoordinator } from '../../coordinator/run.ts';
import { isFleetError } from '../../shared/runtime/errors.ts';
import {
  MAX_HEADER_BYTES, MESSAGE_KINDS, PROTOCOL_VERSION, checkTensors, decodeMessage, encodeMessage, type MessageOf,
} from '../../shared/wire/protocol.ts';
import { seededRandom } from '../../shared/runtime/rng.ts';
import { SendQueue } from '../../shared/wire/transport.ts';
import { JOBS, runTestCluster } from '../helpers/local.ts';
import { killAll, startCli, type Proc } from '../helpers/procs.ts';
import { maxRelativeDiff } from '../helpers/weights.ts';

const SEED = 0x5eed_f022;
const UNKNOWN_PER_REPLY = 200; // unknown-peer messages per genuine gradients reply (20 rounds x 2 workers = 40 replies)
const PRE_PER_REPLY = 40; // injected before the genuine reply: must fail validation
const POST_PER_REPLY = 20; // injected after it: duplicates and stale rounds
const JOB = path.join(JOBS, 'dense-sgd.ts');

const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

type Frames = Buffer[];
/** A message to send and what the coordinator must answer: an error code, or nothing to send ('skip'). */
interface Mutant { readonly how: string; readonly frames: Frames }
type Verdict = string | 'accept' | 'skip';
/** A message sent and the answer predicted for it. */
interface Sent { readonly how: string; readonly expect: string }

const ODD_VALUES: unknown[] = [-1, -(2 ** 31), 1.5, NaN, Infinity, -Infinity, 2 ** 64, 2 ** 53 + 1, '7', null, true, [], {}, 'x'.repeat(5000)];
const ODD_SHAPES: unknown[] = [[2 ** 31 - 1], [2 ** 31 - 1, 2 ** 31 - 1], new Array(9).fill(2), [-1], [1.5], [2 ** 53], [], [0], ['3'], null, 'shape', [NaN]];
const ODD_KINDS: unknown[] = [...MESSAGE_KINDS, '', 'Gradients', 'x'.repeat(300), 42, null, ['hello'], '__proto__', 'constructor'];
const ODD_DTYPES: unknown[] = ['float64', 'int64', 'bool', 'string', '', 7, null, 'int32', 'float32'];
const ODD_GROUPS: string[] = [
  'weights', 'indices', 'gradients', 'state', 'predictions', 'local', 'sum', 'values', 'extra', '__proto__', '',
];

const ODD_VERSIONS: unknown[] = [
  0, PROTOCOL_VERSION - 1, PROTOCOL_VERSION + 1, -1, String(PROTOCOL_VERSION), PROTOCOL_VERSION + 1e-7, null, 2 ** 32,
];

/** A header's group counts as a plain record (numbers only), empty when it has none. */
function groupsOf(h: Record<string, unknown>): Record<string, number> {
  const g = h['groups'];
  if (typeof g !== 'object' || g === null) return {};
  return Object.fromEntries(Object.entries(g).filter((e): e is [string, number] => typeof e[1] === 'number'));
}

/** Seeded mutations of valid messages, and pure noise. */
class Mutator {
  private readonly rand: () => number;
  constructor(seed: number) { this.rand = seededRandom(seed); }

  int(n: number): number { return Math.floor(this.rand() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)] as T; }
  bytes(n: number): Buffer { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = this.int(256); return b; }

  /** One mutation of `base` (never modified in place). */
  mutate(base: Frames): Mutant {
    const f = base.map((b) => Buffer.from(b));
    const k = this.int(f.length);
    const header = (): Record<string, unknown> => unpack(f[0] as Buffer) as Record<string, unknown>;
    const repack = (h: Record<string, unknown>): Frames => [pack(h), ...f.slice(1)];
    const specs = (h: Record<string, unknown>) => (Array.isArray(h['tensors']) ? (h['tensors'] as Record<string, unknown>[]) : []);
    const ops: [string, () => Frames][] = [
      ['flip header bits', () => [this.flip(f[0] as Buffer, 1 + this.int(8)), ...f.slice(1)]],
      ['flip tensor bits', () => f.map((b, i) => (i === Math.max(1, k) && i < f.length ? this.flip(b, 1 + this.int(4)) : b))],
      ['truncate a frame', () => f.map((b, i) => (i === k ? b.subarray(0, this.int(b.byteLength)) : b))],
      ['extend a frame', () => f.map((b, i) => (i === k ? Buffer.concat([b, this.bytes(1 + this.int(16))]) : b))],
      ['extra frame', () => [...f, this.bytes(this.int(64))]],
      ['missing frame', () => (f.length > 1 ? f.filter((_, i) => i !== k) : [Buffer.alloc(0)])],
      ['duplicate frame', () => [...f.slice(0, k + 1), f[k] as Buffer, ...f.slice(k + 1)]],
      ['swap frames', () => (f.length > 1 ? [f[f.length - 1] as Buffer, ...f.slice(1, -1), f[0] as Buffer] : f)],
      ['wrong kind', () => repack({ ...header(), kind: this.pick(ODD_KINDS) })],
      ['wrong version', () => repack({ ...header(), v: this.pick(ODD_VERSIONS) })],
      ['odd number in a field', () => { const h = header(); const key = this.pick(Object.keys(h).filter((x) => x !== 'kind' && x !== 'v' && x !== 'tensors')); return repack(key ? { ...h, [key]: this.pick(ODD_VALUES) } : h); }],
      ['unknown field', () => repack({ ...header(), [this.pick(['extra', 'admin', '__proto__', 'token', 'tensors2'])]: this.pick(ODD_VALUES) })],
      ['missing field', () => { const h = header(); delete h[this.pick(Object.keys(h))]; return repack(h); }],
      ['huge dims', () => { const h = header(); const s = specs(h); if (s[0]) (s[this.int(s.length)] as Record<string, unknown>)['shape'] = this.pick(ODD_SHAPES); else h['tensors'] = [{ name: 'x', dtype: 'float32', shape: this.pick(ODD_SHAPES) }]; return repack(h); }],
      ['other group counts', () => {
        const h = header();
        const g: Record<string, unknown> = { ...groupsOf(h) };
        const name = this.pick([...Object.keys(g), ...ODD_GROUPS]);
        const n = Number(g[name]) || 0;
        g[name] = this.pick([n + 1, n - 1, 0, 2, ...ODD_VALUES]);
        return repack({ ...h, groups: this.int(8) ? g : this.pick(ODD_VALUES) });
      }],
      ['group moved', () => {
        // One tensor changes group: counts still add up to the frames, so only the group checks catch it.
        const h = header();
        const g = groupsOf(h);
        const from = this.pick(Object.keys(g));
        const to = this.pick(ODD_GROUPS);
        if (from !== undefined && (g[from] ?? 0) > 0) [g[from], g[to]] = [(g[from] ?? 0) - 1, (g[to] ?? 0) + 1];
        return repack({ ...h, groups: g });
      }],
      ['wrong dtype', () => { const h = header(); const s = specs(h); if (s[0]) (s[this.int(s.length)] as Record<string, unknown>)['dtype'] = this.pick(ODD_DTYPES); return repack(h); }],
      ['other id', () => { const h = header(); for (const key of ['roundId', 'evalId']) if (key in h) h[key] = this.pick([(h[key] as number) + 1, (h[key] as number) - 1, 0, 1000 + this.int(1e6), 2 ** 31 - 1]); return repack(h); }],
      ['other sample count', () => { const h = header(); if ('samples' in h) h['samples'] = (h['samples'] as number) + this.pick([-1, 1, 100]); return repack(h); }],
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
      ['msgpack extension types', () => [Buffer.concat([Buffer.from([0xd4 + this.int(5), this.int(256)]), this.bytes(this.int(32))])]],
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
    for (let i = 0; i < bits && out.byteLength > 0; i++) { const at = this.int(out.byteLength); out[at] = (out[at] as number) ^ (1 << this.int(8)); }
    return out;
  }

  /** NaN or +-Infinity at a few float32 positions. */
  private poison(b: Buffer): Buffer {
    const out = Buffer.from(b);
    for (let i = 0; i < 1 + this.int(3) && out.byteLength >= 4; i++) out.writeFloatLE(this.pick([NaN, Infinity, -Infinity]), 4 * this.int(out.byteLength / 4));
    return out;
  }

  private value(depth: number): unknown {
    const leaf = () => this.pick<() => unknown>([() => this.int(1e6) - 5e5, () => this.rand(), () => 'k'.repeat(this.int(20)), () => null, () => true, () => this.bytes(this.int(16)), () => new Date(0)])();
    if (depth === 0 || this.int(3) === 0) return leaf();
    if (this.int(2)) return Array.from({ length: this.int(5) }, () => this.value(depth - 1));
    return Object.fromEntries(Array.from({ length: this.int(5) }, (_, i) => [this.pick(['v', 'kind', 'tensors', `f${i}`]), this.value(depth - 1)]));
  }
}

/** Decodes like the coordinator does; a FleetError becomes its code, anything else would be a crash. */
function decodeOr(frames: Frames): ReturnType<typeof decodeMessage> | string {
  try {
    return decodeMessage(frames);
  } catch (err) {
    return isFleetError(err) ? err.code : `crash: ${String(err)}`;
  }
}

/** The code the coordinator must answer an unknown peer with. */
function predictUnknown(frames: Frames): Verdict {
  const msg = decodeOr(frames);
  if (typeof msg === 'string') return msg;
  return msg.kind === 'hello' ? 'skip' : 'FLEET_ERR_UNKNOWN_PEER';
}

/** What the coordinator does with `frames` from the admitted worker whose genuine reply for the round in flight is held. */
function predictBefore(frames: Frames, genuine: MessageOf<'gradients'>): Verdict {
  const msg = decodeOr(frames);
  if (typeof msg === 'string') return msg;
  switch (msg.kind) {
    case 'gradients':
      // The coordinator's order: round id, then (gradientValidator) sample count, then tensors.
      if (msg.roundId !== genuine.roundId) return 'FLEET_ERR_STALE_ROUND';
      if (msg.samples !== genuine.samples) return 'FLEET_ERR_TENSOR_SHAPE';
      try {
        const tensors = [...msg.groups.gradients, ...msg.groups.state];
        checkTensors(tensors, [...genuine.groups.gradients, ...genuine.groups.state], { finite: true });
      } catch (err) {
        return isFleetError(err) ? err.code : `crash: ${String(err)}`;
      }
      return 'accept';
    case 'welcome': case 'round': case 'evaluate': case 'done':
      return 'FLEET_ERR_UNEXPECTED_MESSAGE';
    default:
      return 'skip'; // hello, ready, heartbeat, evalResult, error: meaningful from an admitted worker
  }
}

/** Same, once the genuine reply went through: the same or an older round id is stale (a duplicate). */
function predictAfter(frames: Frames, genuine: MessageOf<'gradients'>): Verdict {
  const msg = decodeOr(frames);
  if (typeof msg === 'string') return msg;
  // A later id could be the round now in flight, so it is never sent.
  if (msg.kind === 'gradients') return msg.roundId <= genuine.roundId ? 'FLEET_ERR_STALE_ROUND' : 'skip';
  return predictBefore(frames, genuine) === 'FLEET_ERR_UNEXPECTED_MESSAGE' ? 'FLEET_ERR_UNEXPECTED_MESSAGE' : 'skip';
}

/** Replies an endpoint received, next to the messages sent to it and their predicted answers. */
class Inbox {
  readonly codes: string[] = [];
  readonly sent: Sent[] = [];
  constructor(private readonly who: string) {}

  /** Resolves once `n` replies are in; rejects naming the first unanswered message if they stop coming. */
  wait(n: number, ms = 15_000): Promise<void> {
    let last = this.codes.length;
    let since = Date.now();
    return new Promise((resolve, reject) => {
      const tick = () => {
        if (this.codes.length >= n) return resolve();
        if (this.codes.length !== last) [last, since] = [this.codes.length, Date.now()];
        if (Date.now() - since > ms) {
          const m = this.sent[this.codes.length];
          return reject(new Error(`${this.who}: no reply for ${ms} ms to message ${this.codes.length} (${m?.how}, seed ${SEED}), expected ${m?.expect}; the coordinator stopped answering`));
        }
        setTimeout(tick, 2);
      };
      tick();
    });
  }

  /** Asserts one reply per message, each the predicted code; names the first that differs. */
  check(): void {
    const i = this.sent.findIndex((s, j) => s.expect !== this.codes[j]);
    expect(i, i < 0 ? '' : `${this.who}: message ${i} (${this.sent[i]?.how}, seed ${SEED}) expected ${this.sent[i]?.expect}, got ${this.codes[i]}`).toBe(-1);
    expect(this.codes.length, `${this.who}: replies`).toBe(this.sent.length);
  }
}


describe('fuzzing a live coordinator', () => {
  it('answers 10,000+ random and mutated messages with typed errors, never crashes, and trains exactly as undisturbed', async () => {
    const mutator = new Mutator(SEED);
    const unknown = new Inbox('unknown peer');
    const inboxes = new Map<string, Inbox>(); // per admitted worker, by routing id
    const sockets: zmq.Socket[] = [];
    const rejectedLogLines: string[] = [];
    let fail: (err: unknown) => void = () => {};
    const failed = new Promise<never>((_, reject) => { fail = reject; });
    failed.catch(() => {});
    const realWrite = process.stderr.write.bind(process.stderr);
    // The coordinator logs every rejection; keep the 10,000 lines out of the test output but count them.
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
      const text = String(chunk);
      if (text.includes('rejected a message')) { rejectedLogLines.push(text); return true; }
      return realWrite(chunk, ...rest);
    }) as typeof process.stderr.write);

    let fuzzer: SendQueue | undefined;
    /** Sends `n` unknown-peer messages derived from `base` and waits for every answer. */
    const fuzzUnknown = async (base: Frames[], n: number) => {
      if (unknown.sent.length === 0) for (let i = 0; i < 2; i++) send(mutator.hugeHeader());
      for (let i = 0; i < n; i++) {
        let m: Mutant;
        let verdict: Verdict;
        do {
          m = mutator.int(5) === 0 ? mutator.noise() : mutator.mutate(mutator.pick(base));
          verdict = predictUnknown(m.frames);
        } while (verdict === 'skip');
        send(m, verdict);
        if (i % 50 === 49) await unknown.wait(unknown.sent.length - 25); // keep the queue short
      }
      await unknown.wait(unknown.sent.length);
    };
    const send = (m: Mutant, verdict = predictUnknown(m.frames)) => {
      unknown.sent.push({ how: m.how, expect: verdict });
      crashCheck(m, verdict);
      void fuzzer?.send(m.frames);
    };
    /** A decode that throws something other than a FleetError ends the coordinator's receive loop: fail now, clearly. */
    const crashCheck = (m: Mutant, verdict: Verdict) => {
      if (verdict.startsWith('crash:')) fail(new Error(`decodeMessage threw a non-FleetError on a "${m.how}" message (seed ${SEED}): ${verdict.slice(7)}. The coordinator's receive loop rethrows it and stops answering. First bytes: ${m.frames[0]?.subarray(0, 48).toString('hex')}`));
    };

    /** The relay's hook: fuzz around one genuine gradients reply from the admitted worker behind `back`. */
    const aroundGradients = async (inbox: Inbox, back: SendQueue, frames: Frames, genuine: MessageOf<'gradients'>, corpus: Frames[]) => {
      await fuzzUnknown([frames, ...corpus], UNKNOWN_PER_REPLY);
      const pre: (Mutant & Sent)[] = [];
      const post: (Mutant & Sent)[] = [];
      for (let tries = 0; (pre.length < PRE_PER_REPLY || post.length < POST_PER_REPLY) && tries < 20_000; tries++) {
        // Mostly mutations of the genuine reply; now and then an intact message of another kind (a round,
        // a done...), which an admitted worker must never send.
        const m = mutator.int(10) === 0 ? { how: 'intact message of another kind', frames: mutator.pick(corpus) } : mutator.mutate(frames);
        const before = predictBefore(m.frames, genuine);
        if (before !== 'skip' && before !== 'accept') {
          if (pre.length < PRE_PER_REPLY) pre.push({ ...m, expect: before });
          continue;
        }
        const after = predictAfter(m.frames, genuine);
        if (after !== 'skip' && post.length < POST_PER_REPLY) post.push({ ...m, expect: after });
      }
      for (const m of pre) { inbox.sent.push(m); crashCheck(m, m.expect); void back.send(m.frames); }
      await back.send(frames);
      for (const m of post) { inbox.sent.push(m); void back.send(m.frames); }
      await inbox.wait(inbox.sent.length);
    };

    let result;
    try {
      const run = runCoordinator({
        bind: 'tcp://127.0.0.1:*', workers: 2, job: JOB, backend: 'cpu', metricsHost: '127.0.0.1', metricsPort: 0,
        heartbeatIntervalMs: 500, heartbeatTimeoutMs: 10_000, joinTimeoutMs: 60_000, quiet: true,
        onListening: async ({ endpoint }) => {
          const dealer = new zmq.Dealer({ linger: 0 });
          dealer.connect(endpoint);
          sockets.push(dealer);
          fuzzer = new SendQueue(dealer);
          void (async () => { for await (const frames of dealer) unknown.codes.push(replyCode(frames)); })();
          const relay = await startRelay(endpoint, sockets, inboxes, aroundGradients, fail);
          for (let i = 0; i < 2; i++) procs.push(startCli(['worker', '--connect', relay, '--backend', 'cpu', '--metrics-port', '0', '--metrics-host', '127.0.0.1', '--quiet']));
        },
      });
      run.catch(() => {}); // when the fuzzer fails first, the coordinator's own end is of no interest
      result = await Promise.race([run, failed]);
    } finally {
      spy.mockRestore();
      for (const s of sockets) s.close();
    }

    // Every message got exactly the predicted typed error, in order.
    for (const inbox of [unknown, ...inboxes.values()]) inbox.check();
    const all = [unknown, ...inboxes.values()].flatMap((inbox) => inbox.sent);
    expect(all.length).toBeGreaterThanOrEqual(10_000);
    expect(rejectedLogLines.length).toBe(all.length);
    const byCode = new Map<string, number>();
    for (const s of all) byCode.set(s.expect, (byCode.get(s.expect) ?? 0) + 1);
    console.log(`fuzz (seed ${SEED}): ${all.length} bad messages, each answered with its typed error: ${[...byCode].sort().map(([c, n]) => `${c} ${n}`).join(', ')}`);
    for (const code of ['FLEET_ERR_PROTOCOL_DECODE', 'FLEET_ERR_PROTOCOL_VERSION', 'FLEET_ERR_PROTOCOL_SCHEMA', 'FLEET_ERR_TENSOR_SHAPE', 'FLEET_ERR_TENSOR_DTYPE',
      'FLEET_ERR_NONFINITE', 'FLEET_ERR_UNKNOWN_PEER', 'FLEET_ERR_STALE_ROUND', 'FLEET_ERR_UNEXPECTED_MESSAGE']) {
      expect(byCode.get(code) ?? 0, code).toBeGreaterThan(0);
    }
    for (const p of procs) expect((await p.exited).code, p.stderr).toBe(0);

    const clean = await runTestCluster('dense-sgd.ts', 2);
    expect(maxRelativeDiff(result.model, clean.model)).toBeLessThan(1e-6);
    expect(result.history.history['val_loss']?.[0]).toBeCloseTo(clean.history.history['val_loss']?.[0] as number, 6);
  });
});

/** The code of an `error` reply (anything else is a test failure, reported as its kind). */
function replyCode(frames: Frames): string {
  const msg = decodeMessage(frames);
  return msg.kind === 'error' ? msg.code : `not an error: ${msg.kind}`;
}

/**
 * A relay between the workers and the coordinator: one DEALER per worker towards the coordinator, so
 * whatever it injects arrives as that admitted worker. Error replies (answers to injections) are kept
 * in the worker's inbox instead of forwarded; a genuine gradients reply goes through `around`.
 */
async function startRelay(
  coordinator: string,
  sockets: zmq.Socket[],
  inboxes: Map<string, Inbox>,
  around: (inbox: Inbox, back: SendQueue, frames: Frames, genuine: MessageOf<'gradients'>, corpus: Frames[]) => Promise<void>,
  fail: (err: unknown) => void,
): Promise<string> {
  const front = new zmq.Router({ linger: 0 });
  sockets.push(front);
  await front.bind('tcp://127.0.0.1:*');
  const frontOut = new SendQueue(front);
  const backs = new Map<string, SendQueue>();
  const corpus: Frames[] = []; // valid coordinator -> worker messages, as bases for unknown-peer mutations
  void (async () => {
    for await (const [routingId, ...frames] of front) {
      if (!routingId) continue;
      const id = routingId.toString('hex');
      let back = backs.get(id);
      if (!back) {
        const dealer = new zmq.Dealer({ linger: 0 });
        dealer.connect(coordinator);
        sockets.push(dealer);
        back = new SendQueue(dealer);
        backs.set(id, back);
        const inbox = new Inbox(`admitted worker ${id}`);
        inboxes.set(id, inbox);
        const worker = Buffer.from(routingId);
        void (async () => {
          for await (const reply of dealer) {
            const msg = decodeMessage(reply);
            if (msg.kind === 'error') inbox.codes.push(msg.code);
            else {
              if (corpus.length < 16 && msg.kind !== 'heartbeat') corpus.push(reply.map((b) => Buffer.from(b)));
              void frontOut.send([worker, ...reply]);
            }
          }
        })();
      }
      const msg = decodeMessage(frames);
      if (msg.kind === 'gradients') await around(inboxes.get(id) as Inbox, back, frames, msg, [...corpus, ...synthetic]).catch(fail);
      else await back.send(frames);
    }
  })().catch(fail);
  return front.lastEndpoint as string;
}

/** Valid messages of the kinds workers send, as further bases for mutation. */
const synthetic: Frames[] = [
  encodeMessage({ kind: 'hello', pid: 1, host: 'fuzz', backend: 'cpu', token: 't'.repeat(20) }),
  encodeMessage({ kind: 'ready', numTensors: 3 }),
  encodeMessage({ kind: 'heartbeat', sentAtMs: 1 }),
  encodeMessage({
    kind: 'evalResult', evalId: 0, samples: 4, lossSum: 1, metricSums: [0.5],
    groups: { predictions: [{ name: 'p', dtype: 'float32', shape: [4, 2], data: new Float32Array(8) }] },
  }),
  encodeMessage({
    kind: 'reduce', roundId: 0, seq: 0,
    groups: { local: [{ name: 'local', dtype: 'float32', shape: [3], data: new Float32Array(3) }] },
  }),
  encodeMessage({ kind: 'error', code: 'FLEET_ERR_COMPUTE', message: 'fuzz', inReplyTo: 'round', replyId: 0 }),
  encodeMessage({ kind: 'done', reason: 'fuzz', ok: true }),
];
