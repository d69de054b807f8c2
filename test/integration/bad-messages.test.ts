/**
 * A rogue peer sends random bytes, a wrong protocol version and a message before hello; then, admitted as
 * a third worker, it says ready with the endpoint of a ROUTER it binds itself, and answers its first round
 * with hand-made bad replies: `stepped` with a wrong sample count, a stale round id, a non-finite loss, a
 * group the kind does not declare; `pulled` and `evalResult` with nothing of theirs in flight; `reduce`
 * vectors of another round, of the wrong rank, dtype and length, and a duplicate; and kinds a worker never
 * sends to the coordinator. It never exchanges, so the honest members cannot finish the round: the
 * coordinator must answer every bad message with its typed error, evict the rogue for its strikes, redo the
 * round with the two honest workers, and end with exactly the weights of an undisturbed two-worker run.
 */
import path from 'node:path';
import * as zmq from 'zeromq';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCoordinator } from '../../coordinator/run.ts';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import {
  PROTOCOL_VERSION,
  decodeMessage,
  encodeMessage,
  type Message,
  type MessageOf,
  type WireTensor,
} from '../../shared/wire/protocol.ts';
import { pack } from 'msgpackr';
import { JOBS, runTestCluster } from '../helpers/local.ts';
import { handMade } from '../helpers/wire.ts';
import { killAll, startCli, type Proc } from '../helpers/procs.ts';
import { maxRelativeDiff } from '../helpers/weights.ts';

const JOB = path.join(JOBS, 'dense-sgd.ts');
const HEARTBEAT_TIMEOUT_MS = 4000;
const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));
beforeAll(async () => {
  await selectBackend('cpu');
});

/** A float32 vector for a `reduce`'s `local` group. */
function vector(values: readonly number[], shape: readonly number[] = [values.length]): WireTensor {
  return { name: 'local', dtype: 'float32', shape, data: Float32Array.from(values) };
}

/** What the rogue saw: the codes it got back, and the exchange messages the honest members sent its ROUTER. */
interface RogueReport {
  readonly codes: string[];
  /** Routing id and header of every peer message that reached the rogue's ROUTER. */
  readonly peerMessages: { readonly link: string; readonly session: string; readonly from: number }[];
  /** The exchange of the one round it was sent. */
  readonly rounds: MessageOf<'round'>['exchange'][];
}

/**
 * Plays an admitted-but-hostile worker: bad messages, then silence but heartbeats, until the coordinator
 * no longer knows it (evicted). Returns what it saw.
 */
async function rogue(endpoint: string): Promise<RogueReport> {
  const report: RogueReport = { codes: [], peerMessages: [], rounds: [] };
  const router = new zmq.Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  const peerEndpoint = router.lastEndpoint as string;
  const peerLoop = (async () => {
    for await (const [link, ...frames] of router) {
      const msg = decodeMessage(frames);
      if (msg.kind === 'scatter' || msg.kind === 'gather') {
        report.peerMessages.push({ link: String(link), session: msg.session, from: msg.from });
      }
    }
  })().catch(() => {});
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(endpoint);
  const send = (frames: Buffer[]) => dealer.send(frames);
  // Before hello: garbage, a wrong version, and a message from an unknown peer.
  await send([Buffer.from([0xc1, 0xff, 0x00, 0x13])]);
  await send([pack({ v: PROTOCOL_VERSION + 7, kind: 'heartbeat', sentAtMs: 0, tensors: [] })]);
  await send(encodeMessage({ kind: 'heartbeat', sentAtMs: Date.now() }));
  const hello = () => send(encodeMessage({ kind: 'hello', pid: process.pid, host: 'rogue', backend: 'cpu' }));
  await hello();
  let welcomed = false;
  let beat: NodeJS.Timeout | undefined;
  for await (const frames of dealer) {
    const msg: Message = decodeMessage(frames);
    if (msg.kind === 'error' && !welcomed && msg.code === 'FLEET_ERR_UNEXPECTED_MESSAGE') {
      // The coordinator was not admitting yet (it loads the job after binding): ask again, not a finding.
      setTimeout(() => void hello().catch(() => {}), 200);
      continue;
    }
    if (msg.kind === 'error') {
      report.codes.push(msg.code);
      // Evicted: its heartbeats are refused from now on.
      if (welcomed && msg.code === 'FLEET_ERR_UNKNOWN_PEER') break;
    }
    if (msg.kind === 'done') break;
    if (msg.kind === 'welcome') {
      welcomed = true;
      // Alive but useless from now on: heartbeats keep it HEALTHY, so only its strikes can evict it.
      const heartbeat = () => send(encodeMessage({ kind: 'heartbeat', sentAtMs: Date.now() }));
      beat = setInterval(() => void heartbeat().catch(() => {}), 500);
      await send(encodeMessage({ kind: 'ready', numTensors: 0, peerEndpoint }));
      await send(encodeMessage({ kind: 'ready', numTensors: 0, peerEndpoint })); // a second ready is out of place
    }
    if (msg.kind === 'round') {
      report.rounds.push(msg.exchange);
      const r = msg.roundId;
      const n = msg.groups.indices[0].data.length;
      const header = {
        kind: 'stepped' as const,
        roundId: r,
        samples: n,
        lossSum: 1,
        metricSums: [0.5],
        computeSeconds: 0,
        numTensors: 0,
        exchangeBytes: { sent: 0, received: 0 },
      };
      await send(encodeMessage({ ...header, samples: n + 1 })); // TENSOR_SHAPE, a strike
      await send(encodeMessage({ ...header, roundId: r + 1000 })); // STALE_ROUND
      await send(encodeMessage({ ...header, lossSum: NaN })); // PROTOCOL_SCHEMA: lossSum must be finite
      await send(encodeMessage({ ...header, lossSum: -Infinity })); // PROTOCOL_SCHEMA
      await send(handMade({ ...header, groups: { values: 1 } }, [vector([1])])); // PROTOCOL_SCHEMA: no groups
      // STALE_ROUND, both: no pull and no evaluation in flight.
      await send(encodeMessage({ kind: 'pulled', pullId: 0, weightsVersion: 0, optimizerIterations: 0 }));
      await send(encodeMessage({ kind: 'evalResult', evalId: 0, samples: 1, lossSum: 1, metricSums: [0] }));
      const reduce = (roundId: number, seq: number, local: WireTensor) =>
        send(encodeMessage({ kind: 'reduce', roundId, seq, groups: { local: [local] } }));
      await reduce(r + 1, 0, vector([1, 2, 3])); // STALE_ROUND: not the round in flight
      await reduce(r, 0, vector([1, 2, 3])); // accepted: the honest members never reduce, so it waits harmlessly
      await reduce(r, 0, vector([1, 2, 3])); // STALE_ROUND: a duplicate
      await reduce(r, 1, vector([])); // TENSOR_SHAPE: empty
      await reduce(r, 2, vector([1, 2, 3, 4], [2, 2])); // TENSOR_SHAPE: rank 2, refused by decodeMessage
      // TENSOR_SHAPE: two tensors in a group of one
      await send(handMade({ kind: 'reduce', roundId: r, seq: 3, groups: { local: 2 } }, [vector([1]), vector([2])]));
      await send(
        handMade({ kind: 'reduce', roundId: r, seq: 4, groups: { local: 1 } }, [
          { name: 'local', dtype: 'int32', shape: [2], data: Int32Array.from([1, 2]) },
        ]),
      ); // TENSOR_DTYPE
      await send(encodeMessage({ kind: 'commit', roundId: r, weightsVersion: 1 })); // UNEXPECTED_MESSAGE
      await send(
        encodeMessage({
          kind: 'scatter',
          session: msg.exchange.session,
          roundId: r,
          from: msg.exchange.rank,
          bucket: 0,
          samples: n,
          groups: { values: [{ name: 'values', dtype: 'float32', shape: [1], data: new Float32Array(1) }] },
        }),
      ); // UNEXPECTED_MESSAGE: peer kinds never go to the coordinator
    }
  }
  if (beat) clearInterval(beat);
  dealer.close();
  router.close();
  await peerLoop;
  return report;
}

describe('bad messages on the wire', () => {
  it('are each rejected with a typed error; the rogue is evicted and training ends as undisturbed', async () => {
    let rogueDone: Promise<RogueReport> | undefined;
    const result = await runCoordinator({
      bind: 'tcp://127.0.0.1:*',
      workers: 3,
      job: JOB,
      backend: 'cpu',
      metricsHost: '127.0.0.1',
      metricsPort: 0,
      heartbeatIntervalMs: 500,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      joinTimeoutMs: 60_000,
      quiet: true,
      onListening: ({ endpoint }) => {
        rogueDone = rogue(endpoint);
        for (let i = 0; i < 2; i++) {
          procs.push(startCli(['worker', '--connect', endpoint, '--backend', 'cpu', '--metrics-port', '0', '--quiet']));
        }
      },
    });
    const { codes, peerMessages, rounds } = await (rogueDone as Promise<RogueReport>);
    const count = (c: string) => codes.filter((x) => x === c).length;
    expect(count('FLEET_ERR_PROTOCOL_DECODE')).toBe(1);
    expect(count('FLEET_ERR_PROTOCOL_VERSION')).toBe(1);
    expect(count('FLEET_ERR_UNKNOWN_PEER')).toBe(2); // before hello; after the eviction
    expect(count('FLEET_ERR_TENSOR_SHAPE')).toBe(4); // sample count; empty, rank-2, two-tensor reduce vectors
    expect(count('FLEET_ERR_TENSOR_DTYPE')).toBe(1); // an int32 reduce vector
    expect(count('FLEET_ERR_PROTOCOL_SCHEMA')).toBe(3); // NaN and -Infinity lossSum, a values group
    // A later round id, pulled, evalResult, a reduce of the next round, a duplicate reduce.
    expect(count('FLEET_ERR_STALE_ROUND')).toBe(5);
    expect(count('FLEET_ERR_UNEXPECTED_MESSAGE')).toBe(3); // the second ready, a commit, a scatter
    expect(count('FLEET_ERR_NONFINITE')).toBe(0);
    expect(codes.length).toBe(20);
    // It was a member of exactly one round (the first), and the honest members really dialled its ROUTER.
    expect(rounds.length).toBe(1);
    const first = rounds[0] as RogueReport['rounds'][number];
    expect(first.endpoints.length).toBe(3);
    expect(peerMessages.length).toBeGreaterThan(0);
    for (const m of peerMessages) {
      expect(m.session).toBe(first.session);
      expect(m.link).toBe(`${first.session}/${m.from}`);
      expect(m.from).not.toBe(first.rank);
    }
    for (const p of procs) expect((await p.exited).code, p.stderr).toBe(0);
    const clean = await runTestCluster('dense-sgd.ts', 2);
    expect(maxRelativeDiff(result.model, clean.model)).toBeLessThan(1e-6);
    expect(result.history.history['val_loss']?.[0]).toBeCloseTo(clean.history.history['val_loss']?.[0] as number, 5);
  });
});

describe('a member that only ever sends reduce vectors refused for their tensors', () => {
  it('is evicted after the heartbeat timeout instead of stalling the round, and its share is redone', async () => {
    let rogueDone: Promise<void> | undefined;
    const logs: string[] = [];
    const result = await runCoordinator({
      bind: 'tcp://127.0.0.1:*',
      workers: 2,
      job: JOB,
      backend: 'cpu',
      metricsHost: '127.0.0.1',
      metricsPort: 0,
      heartbeatIntervalMs: 200,
      heartbeatTimeoutMs: 2000,
      joinTimeoutMs: 60_000,
      quiet: true,
      onListening: ({ endpoint }) => {
        procs.push(startCli(['worker', '--connect', endpoint, '--backend', 'cpu', '--metrics-port', '0', '--quiet']));
        rogueDone = (async () => {
          const router = new zmq.Router({ linger: 0 });
          await router.bind('tcp://127.0.0.1:*');
          const dealer = new zmq.Dealer({ linger: 0 });
          dealer.connect(endpoint);
          const hello = () => dealer.send(encodeMessage({ kind: 'hello', pid: 1, host: 'broken', backend: 'cpu' }));
          await hello();
          let beat: NodeJS.Timeout | undefined;
          for await (const frames of dealer) {
            const msg = decodeMessage(frames);
            if (msg.kind === 'welcome') {
              // Alive (heartbeats) but useless: every reduce it sends has a rank-2 vector, refused by decodeMessage.
              const heartbeat = () => dealer.send(encodeMessage({ kind: 'heartbeat', sentAtMs: Date.now() }));
              beat = setInterval(() => void heartbeat().catch(() => {}), 200);
              const peerEndpoint = router.lastEndpoint as string;
              await dealer.send(encodeMessage({ kind: 'ready', numTensors: 0, peerEndpoint }));
            }
            if (msg.kind === 'error' && beat === undefined) {
              setTimeout(() => void hello().catch(() => {}), 200); // not admitting yet: ask again
              continue;
            }
            if (msg.kind === 'error') logs.push(msg.code);
            if (msg.kind === 'round') {
              const local = vector([1, 2, 3, 4], [2, 2]);
              const { roundId } = msg;
              await dealer.send(encodeMessage({ kind: 'reduce', roundId, seq: 0, groups: { local: [local] } }));
            }
            if (msg.kind === 'done' || logs.includes('FLEET_ERR_UNKNOWN_PEER')) break;
          }
          clearInterval(beat);
          dealer.close();
          router.close();
        })();
      },
    });
    await rogueDone;
    expect(logs[0]).toBe('FLEET_ERR_TENSOR_SHAPE');
    expect(logs).toContain('FLEET_ERR_UNKNOWN_PEER'); // evicted: its heartbeats are no longer accepted
    const clean = await runTestCluster('dense-sgd.ts', 1);
    expect(maxRelativeDiff(result.model, clean.model)).toBeLessThan(1e-5);
  });
});
