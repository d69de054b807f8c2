/**
 * A worker refuses anything that is not a peer of the current membership. A real two-worker run trains
 * dense-sgd.ts while a rogue DEALER, never a member, sends well-formed `scatter` messages with a guessed
 * session (and a routing id that agrees with it) and `heartbeat`s to each worker's peer endpoint, read from
 * the workers' "peers reach this worker at" lines. Training must end with exactly the weights of an
 * undisturbed run with the same seed, both workers must exit 0, and each worker must have refused the
 * rogue's messages: those sent before its first round at that round's membership, the rest as they come
 * or (another session) at the next membership, bounded (worker/exchange/mesh.ts).
 */
import path from 'node:path';
import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { runCoordinator } from '../../coordinator/run.ts';
import { encodeMessage } from '../../shared/wire/protocol.ts';
import { SendQueue } from '../../shared/wire/transport.ts';
import { JOBS, runTestCluster } from '../helpers/local.ts';
import { killAll, startCli, waitFor, type Proc } from '../helpers/procs.ts';
import { maxRelativeDiff } from '../helpers/weights.ts';

const JOB = path.join(JOBS, 'dense-sgd.ts');
const BURST = 50; // scatters per worker sent before its first round
const GUESS = 'guessed-session-0001';
const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

/** A well-formed scatter of the guessed session, as member 1 would send it. */
function scatter(roundId: number): Buffer[] {
  return encodeMessage({
    kind: 'scatter',
    session: GUESS,
    roundId,
    from: 1,
    bucket: 0,
    samples: 16,
    groups: { values: [{ name: 'values', dtype: 'float32', shape: [64], data: new Float32Array(64).fill(1e3) }] },
  });
}

/** What the rogue sent one worker. */
interface Sent {
  burst: number;
  scatters: number;
  heartbeats: number;
}

/** Refusals a worker logged ("rejected a peer message: CODE: ..."), by code. */
function refusals(p: Proc): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of (p.stderr + p.stdout).matchAll(/rejected a peer message: (FLEET_ERR_\w+)/g)) {
    out.set(m[1] as string, (out.get(m[1] as string) ?? 0) + 1);
  }
  return out;
}

describe('a worker refuses what is not a peer of the current membership', () => {
  it('refuses a rogue with a guessed session while a 2-worker run trains exactly as undisturbed', async () => {
    const sent: Sent[] = [];
    const sockets: zmq.Dealer[] = [];
    let stop = false;
    const rogues: Promise<void>[] = [];
    let result;
    try {
      result = await runCoordinator({
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
        onListening: ({ endpoint }) => {
          for (let i = 0; i < 2; i++) {
            const p = startCli(['worker', '--connect', endpoint, '--backend', 'cpu', '--metrics-port', '0']);
            procs.push(p);
            const s: Sent = { burst: 0, scatters: 0, heartbeats: 0 };
            sent.push(s);
            rogues.push(
              (async () => {
                const reach = /peers reach this worker at (tcp:\/\/\S+)/;
                await waitFor(p, reach);
                const peerEndpoint = reach.exec(p.stderr + p.stdout)?.[1] as string;
                // A routing id that agrees with the guessed session, as a member's would.
                const dealer = new zmq.Dealer({ linger: 0, routingId: `${GUESS}/1` });
                sockets.push(dealer);
                dealer.connect(peerEndpoint);
                const q = new SendQueue(dealer);
                // The worker logged its endpoint before saying hello: it has no membership yet.
                for (; s.burst < BURST; s.burst++) await q.send(scatter(0));
                for (let round = 0; !stop; round++) {
                  await q.send(scatter(round));
                  s.scatters += 1;
                  await q.send(encodeMessage({ kind: 'heartbeat', sentAtMs: Date.now() }));
                  s.heartbeats += 1;
                  await new Promise((r) => setTimeout(r, 20));
                }
              })(),
            );
          }
        },
      });
    } finally {
      stop = true;
      await Promise.allSettled(rogues);
      for (const d of sockets) d.close();
    }
    for (const p of procs) expect((await p.exited).code, p.stderr.slice(-2000)).toBe(0);
    sent.forEach((s, i) => {
      const got = refusals(procs[i] as Proc);
      const n = [...got.values()].reduce((a, b) => a + b, 0);
      console.log(
        `worker ${i}: rogue sent ${s.burst} + ${s.scatters} scatters and ${s.heartbeats} heartbeats; ` +
          `refused ${JSON.stringify([...got])}`,
      );
      // Only these two codes: a guessed session is an unknown peer, a heartbeat is not a peer kind.
      expect([...got.keys()].sort()).toEqual(['FLEET_ERR_UNEXPECTED_MESSAGE', 'FLEET_ERR_UNKNOWN_PEER']);
      // The burst was refused at the first round's membership; nothing was refused twice.
      expect(got.get('FLEET_ERR_UNKNOWN_PEER') ?? 0).toBeGreaterThanOrEqual(BURST);
      expect(n).toBeLessThanOrEqual(s.burst + s.scatters + s.heartbeats);
      expect(s.heartbeats).toBeGreaterThan(0);
      expect(got.get('FLEET_ERR_UNEXPECTED_MESSAGE') ?? 0).toBeGreaterThan(0);
    });
    const clean = await runTestCluster('dense-sgd.ts', 2);
    expect(maxRelativeDiff(result.model, clean.model)).toBeLessThan(1e-6);
    expect(result.history.history['val_loss']?.[0]).toBe(clean.history.history['val_loss']?.[0]);
  });
});
