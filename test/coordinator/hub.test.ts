/**
 * The hub on real ZeroMQ with a scripted peer: a finished (DONE) worker's late heartbeat is taken
 * quietly (it crosses our `done`), while any other message from it is still refused as an unknown peer.
 */
import * as zmq from 'zeromq';
import { describe, expect, it } from 'vitest';
import { Hub } from '../../coordinator/hub.ts';
import { createLogger } from '../../shared/runtime/log.ts';
import { createMetrics } from '../../shared/runtime/metrics.ts';
import { decodeMessage, encodeMessage } from '../../shared/wire/protocol.ts';

describe('hub', () => {
  it("ignores a DONE worker's late heartbeat but refuses its other messages", async () => {
    const metrics = createMetrics('coordinator', 'cpu', () => ({ numTensors: 0, numBytes: 0 }));
    const warnings: string[] = [];
    const log = { ...createLogger('test', true), warn: (m: string) => warnings.push(m) };
    const hub = new Hub({ bind: 'tcp://127.0.0.1:*', heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 10_000, setupTimeoutMs: 10_000, now: () => Date.now() }, metrics, log);
    const endpoint = await hub.bind();
    const dealer = new zmq.Dealer({ linger: 0 });
    dealer.connect(endpoint);
    await dealer.send(encodeMessage({ kind: 'hello', pid: 1, host: 'scripted', backend: 'cpu' }));
    const admitted = hub.admit(1, { jobPath: '/nowhere.ts', modelConfig: '{}', compile: {}, backend: 'cpu', weights: [] }, 10_000);
    const welcome = decodeMessage(await dealer.receive());
    expect(welcome.kind).toBe('welcome');
    await dealer.send(encodeMessage({ kind: 'ready', numTensors: 0 }));
    const [peer] = await admitted;
    hub.peers.transition(peer!, 'DONE', 'training complete');
    await dealer.send(encodeMessage({ kind: 'heartbeat', sentAtMs: Date.now() }));
    await dealer.send(encodeMessage({ kind: 'ready', numTensors: 0 }));
    // The first answer is to the second message: the heartbeat got none.
    const answer = decodeMessage(await dealer.receive());
    expect(answer).toMatchObject({ kind: 'error', code: 'FLEET_ERR_UNKNOWN_PEER' });
    expect(answer.kind === 'error' && answer.message).toMatch(/Received: "ready" from worker 0 in state DONE/);
    expect(warnings.filter((w) => w.includes('heartbeat'))).toEqual([]);
    expect(warnings.filter((w) => w.includes('FLEET_ERR_UNKNOWN_PEER'))).toHaveLength(1);
    dealer.close();
    await hub.close('test over', true);
  });
});
