/**
 * Fuzzing a live coordinator: over 10,000 random and mutated messages while it trains dense-sgd.ts with two
 * real worker processes. It must never crash, answer every bad message with the typed error a local
 * `decodeMessage` + validation predicts (the oracle), and end with exactly the weights of an undisturbed run.
 *
 * Two sources, both seeded (SEED below; a failure names the seed and the message):
 *  - an unknown peer: a DEALER that never said hello sends mutations of valid messages of every kind and
 *    pure random bytes. Every one must come back as an `error` with the predicted code.
 *  - an admitted peer: the workers connect through a relay that holds each genuine `stepped` reply (protocol
 *    v3: the gradients travel between the workers, the coordinator gets control messages only), and injects
 *    mutations of it over that worker's own connection, so they come from an admitted worker with the round
 *    in flight: before the genuine reply, only mutations the coordinator must reject (non-finite loss, wrong
 *    sample counts, wrong round ids, tensors a stepped never has, pulled or evalResult with nothing of
 *    theirs in flight, kinds a worker never sends); after it, duplicates (stale). The relay never injects
 *    what the coordinator could legitimately accept (a valid stepped reply, a `reduce`, or a worker's
 *    `error`, which fails the round by design), nor a valid hello (admission policy is not under test).
 * A worker's own peer endpoint is fuzzed in peer-fuzz.test.ts.
 * Holding each genuine reply until its batch is answered interleaves the fuzz with training deterministically.
 */
import path from 'node:path';
import * as zmq from 'zeromq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCoordinator } from '../../coordinator/run.ts';
import { decodeMessage, encodeMessage, type MessageOf } from '../../shared/wire/protocol.ts';
import { SendQueue } from '../../shared/wire/transport.ts';
import { JOBS, runTestCluster } from '../helpers/local.ts';
import { killAll, startCli, type Proc } from '../helpers/procs.ts';
import { Mutator, decodeOr, type Frames, type Mutant } from '../helpers/wire.ts';
import { maxRelativeDiff } from '../helpers/weights.ts';

const SEED = 0x5eed_f022;
const UNKNOWN_PER_REPLY = 200; // unknown-peer messages per genuine stepped reply (20 rounds x 2 workers = 40 replies)
const PRE_PER_REPLY = 40; // injected before the genuine reply: must fail validation
const POST_PER_REPLY = 20; // injected after it: duplicates and stale rounds
const JOB = path.join(JOBS, 'dense-sgd.ts');

const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

type Verdict = string | 'accept' | 'skip';
/** A message sent and the answer predicted for it. */
interface Sent {
  readonly how: string;
  readonly expect: string;
}

/** The code the coordinator must answer an unknown peer with. */
function predictUnknown(frames: Frames): Verdict {
  const msg = decodeOr(frames);
  if (typeof msg === 'string') return msg;
  return msg.kind === 'hello' ? 'skip' : 'FLEET_ERR_UNKNOWN_PEER';
}

/** What the coordinator does with `frames` from the admitted worker whose genuine reply for the round in flight
 * is held. */
function predictBefore(frames: Frames, genuine: MessageOf<'stepped'>): Verdict {
  const msg = decodeOr(frames);
  if (typeof msg === 'string') return msg;
  switch (msg.kind) {
    case 'stepped':
      // The coordinator's order: round id, then (exchangeRound's validator) the sample count. No tensors.
      if (msg.roundId !== genuine.roundId) return 'FLEET_ERR_STALE_ROUND';
      if (msg.samples !== genuine.samples) return 'FLEET_ERR_TENSOR_SHAPE';
      return 'accept';
    case 'pulled':
    case 'evalResult':
      return 'FLEET_ERR_STALE_ROUND'; // the request in flight is the round, not a pull or an evaluation
    case 'welcome':
    case 'round':
    case 'evaluate':
    case 'done':
    case 'commit':
    case 'pull':
    case 'reduced':
    case 'scatter':
    case 'gather':
    case 'ready':
      return 'FLEET_ERR_UNEXPECTED_MESSAGE';
    default:
      return 'skip'; // hello, heartbeat, reduce, error: meaningful from an admitted worker
  }
}

/** Same, once the genuine reply went through: the same or an older round id is stale (a duplicate). */
function predictAfter(frames: Frames, genuine: MessageOf<'stepped'>): Verdict {
  const msg = decodeOr(frames);
  if (typeof msg === 'string') return msg;
  // A later id could be the round now in flight, so it is never sent.
  if (msg.kind === 'stepped') return msg.roundId <= genuine.roundId ? 'FLEET_ERR_STALE_ROUND' : 'skip';
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
          const which = `message ${this.codes.length} (${m?.how}, seed ${SEED}), expected ${m?.expect}`;
          return reject(new Error(`${this.who}: no reply for ${ms} ms to ${which}; the coordinator stopped answering`));
        }
        setTimeout(tick, 2);
      };
      tick();
    });
  }

  /** Asserts one reply per message, each the predicted code; names the first that differs. */
  check(): void {
    const i = this.sent.findIndex((s, j) => s.expect !== this.codes[j]);
    const s = this.sent[i];
    const why = i < 0 ? '' : `${this.who}: message ${i} (${s?.how}, seed ${SEED})`;
    const detail = `${why} expected ${s?.expect}, got ${this.codes[i]}`;
    expect(i, detail).toBe(-1);
    expect(this.codes.length, `${this.who}: replies`).toBe(this.sent.length);
  }
}

describe('fuzzing a live coordinator', () => {
  it('answers 10,000+ bad messages with typed errors, never crashes, and trains exactly as undisturbed', async () => {
    const mutator = new Mutator(SEED);
    const unknown = new Inbox('unknown peer');
    const inboxes = new Map<string, Inbox>(); // per admitted worker, by routing id
    const sockets: zmq.Socket[] = [];
    const rejectedLogLines: string[] = [];
    let fail: (err: unknown) => void = () => {};
    const failed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    failed.catch(() => {});
    const realWrite = process.stderr.write.bind(process.stderr);
    // The coordinator logs every rejection; keep the 10,000 lines out of the test output but count them.
    const write = (chunk: string | Uint8Array, ...rest: never[]) => {
      const text = String(chunk);
      if (text.includes('rejected a message')) {
        rejectedLogLines.push(text);
        return true;
      }
      return realWrite(chunk, ...rest);
    };
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(write as typeof process.stderr.write);

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
    /** A decode that throws something other than a FleetError ends the coordinator's receive loop: fail now. */
    const crashCheck = (m: Mutant, verdict: Verdict) => {
      if (!verdict.startsWith('crash:')) return;
      const bytes = m.frames[0]?.subarray(0, 48).toString('hex');
      const what = `decodeMessage threw a non-FleetError on a "${m.how}" message (seed ${SEED}): ${verdict.slice(7)}`;
      fail(new Error(`${what}. The coordinator's receive loop rethrows it and stops answering. First bytes: ${bytes}`));
    };

    /** The relay's hook: fuzz around one genuine stepped reply from the admitted worker behind `back`. */
    const aroundStepped: Around = async (inbox, back, frames, genuine, corpus) => {
      await fuzzUnknown([frames, ...corpus], UNKNOWN_PER_REPLY);
      const pre: (Mutant & Sent)[] = [];
      const post: (Mutant & Sent)[] = [];
      for (let tries = 0; (pre.length < PRE_PER_REPLY || post.length < POST_PER_REPLY) && tries < 20_000; tries++) {
        // Mostly mutations of the genuine reply; now and then an intact message of another kind (a round,
        // a done...), which an admitted worker must never send.
        const intact = mutator.int(10) === 0;
        const other = () => ({ how: 'intact message of another kind', frames: mutator.pick(corpus) });
        const m = intact ? other() : mutator.mutate(frames);
        const before = predictBefore(m.frames, genuine);
        if (before !== 'skip' && before !== 'accept') {
          if (pre.length < PRE_PER_REPLY) pre.push({ ...m, expect: before });
          continue;
        }
        const after = predictAfter(m.frames, genuine);
        if (after !== 'skip' && post.length < POST_PER_REPLY) post.push({ ...m, expect: after });
      }
      for (const m of pre) {
        inbox.sent.push(m);
        crashCheck(m, m.expect);
        void back.send(m.frames);
      }
      await back.send(frames);
      for (const m of post) {
        inbox.sent.push(m);
        void back.send(m.frames);
      }
      await inbox.wait(inbox.sent.length);
    };

    let result;
    try {
      const run = runCoordinator({
        bind: 'tcp://127.0.0.1:*',
        workers: 2,
        job: JOB,
        backend: 'cpu',
        metricsHost: '127.0.0.1',
        metricsPort: 0,
        heartbeatIntervalMs: 500,
        heartbeatTimeoutMs: 10_000,
        joinTimeoutMs: 60_000,
        quiet: true,
        onListening: async ({ endpoint }) => {
          const dealer = new zmq.Dealer({ linger: 0 });
          dealer.connect(endpoint);
          sockets.push(dealer);
          fuzzer = new SendQueue(dealer);
          void (async () => {
            for await (const frames of dealer) unknown.codes.push(replyCode(frames));
          })();
          const relay = await startRelay(endpoint, sockets, inboxes, aroundStepped, fail);
          const args = ['worker', '--connect', relay, '--backend', 'cpu', '--metrics-port', '0'];
          const host = ['--metrics-host', '127.0.0.1'];
          for (let i = 0; i < 2; i++) procs.push(startCli([...args, ...host, '--quiet']));
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
    const codes = [...byCode]
      .sort()
      .map(([c, n]) => `${c} ${n}`)
      .join(', ');
    console.log(`fuzz (seed ${SEED}): ${all.length} bad messages, each answered with its typed error: ${codes}`);
    // No FLEET_ERR_NONFINITE: decoding does not look at values, and a stepped carries no tensors to check.
    for (const code of [
      'FLEET_ERR_PROTOCOL_DECODE',
      'FLEET_ERR_PROTOCOL_VERSION',
      'FLEET_ERR_PROTOCOL_SCHEMA',
      'FLEET_ERR_TENSOR_SHAPE',
      'FLEET_ERR_TENSOR_DTYPE',
      'FLEET_ERR_UNKNOWN_PEER',
      'FLEET_ERR_STALE_ROUND',
      'FLEET_ERR_UNEXPECTED_MESSAGE',
    ]) {
      expect(byCode.get(code) ?? 0, code).toBeGreaterThan(0);
    }
    for (const p of procs) expect((await p.exited).code, p.stderr).toBe(0);

    const clean = await runTestCluster('dense-sgd.ts', 2);
    expect(maxRelativeDiff(result.model, clean.model)).toBeLessThan(1e-6);
    expect(result.history.history['val_loss']?.[0]).toBeCloseTo(clean.history.history['val_loss']?.[0] as number, 6);
  });
});

/** The relay's hook around one genuine stepped reply of the admitted worker behind `back`. */
type Around = (
  inbox: Inbox,
  back: SendQueue,
  frames: Frames,
  genuine: MessageOf<'stepped'>,
  corpus: Frames[],
) => Promise<void>;

/** The code of an `error` reply (anything else is a test failure, reported as its kind). */
function replyCode(frames: Frames): string {
  const msg = decodeMessage(frames);
  return msg.kind === 'error' ? msg.code : `not an error: ${msg.kind}`;
}

/**
 * A relay between the workers and the coordinator: one DEALER per worker towards the coordinator, so
 * whatever it injects arrives as that admitted worker. Error replies (answers to injections) are kept
 * in the worker's inbox instead of forwarded; a genuine stepped reply goes through `around`.
 */
async function startRelay(
  coordinator: string,
  sockets: zmq.Socket[],
  inboxes: Map<string, Inbox>,
  around: Around,
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
      const inbox = inboxes.get(id) as Inbox;
      if (msg.kind === 'stepped') await around(inbox, back, frames, msg, [...corpus, ...synthetic]).catch(fail);
      else await back.send(frames);
    }
  })().catch(fail);
  return front.lastEndpoint as string;
}

/** Valid messages of the kinds workers send, as further bases for mutation. */
const synthetic: Frames[] = [
  encodeMessage({ kind: 'hello', pid: 1, host: 'fuzz', backend: 'cpu', token: 't'.repeat(20) }),
  encodeMessage({ kind: 'ready', numTensors: 3, peerEndpoint: 'tcp://127.0.0.1:1' }),
  encodeMessage({
    kind: 'stepped',
    roundId: 0,
    samples: 4,
    lossSum: 1,
    metricSums: [0.5],
    computeSeconds: 0.1,
    numTensors: 3,
    exchangeBytes: { sent: 10, received: 10 },
  }),
  encodeMessage({
    kind: 'pulled',
    pullId: 0,
    weightsVersion: 1,
    optimizerIterations: 1,
    groups: { weights: [{ name: 'w', dtype: 'float32', shape: [2, 2], data: new Float32Array(4) }] },
  }),
  encodeMessage({
    kind: 'scatter',
    session: 'fuzz-session-0',
    roundId: 0,
    from: 1,
    bucket: 0,
    samples: 4,
    groups: { values: [{ name: 'values', dtype: 'float32', shape: [3], data: new Float32Array(3) }] },
  }),
  encodeMessage({
    kind: 'gather',
    session: 'fuzz-session-0',
    roundId: 0,
    from: 1,
    bucket: 0,
    samples: 8,
    groups: { values: [{ name: 'values', dtype: 'float32', shape: [3], data: new Float32Array(3) }] },
  }),
  encodeMessage({ kind: 'heartbeat', sentAtMs: 1 }),
  encodeMessage({
    kind: 'evalResult',
    evalId: 0,
    samples: 4,
    lossSum: 1,
    metricSums: [0.5],
    groups: { predictions: [{ name: 'p', dtype: 'float32', shape: [4, 2], data: new Float32Array(8) }] },
  }),
  encodeMessage({
    kind: 'reduce',
    roundId: 0,
    seq: 0,
    groups: { local: [{ name: 'local', dtype: 'float32', shape: [3], data: new Float32Array(3) }] },
  }),
  encodeMessage({ kind: 'error', code: 'FLEET_ERR_COMPUTE', message: 'fuzz', inReplyTo: 'round', replyId: 0 }),
  encodeMessage({ kind: 'done', reason: 'fuzz', ok: true }),
];
