/**
 * The hub on real ZeroMQ with a scripted peer: a finished (DONE) worker's late heartbeat is taken
 * quietly (it crosses our `done`), while any other message from it is still refused as an unknown peer;
 * a reply refused for its tensor groups counts against the worker like one refused by the validator.
 */
import * as zmq from 'zeromq';
import { describe, expect, it } from 'vitest';
import { Hub, type WelcomePayload } from '../../coordinator/hub.ts';
import { createLogger } from '../../shared/runtime/log.ts';
import { createMetrics } from '../../shared/runtime/metrics.ts';
import { decodeMessage, encodeMessage } from '../../shared/wire/protocol.ts';
import { handMade } from '../helpers/wire.ts';

const optimizer = { className: 'SGD', config: { learningRate: 0.1 } };
const payload: WelcomePayload = {
  jobPath: '/nowhere.ts',
  modelConfig: '{}',
  compile: {},
  backend: 'cpu',
  weights: [],
  optimizer,
};
const ready = { kind: 'ready', numTensors: 0, peerEndpoint: 'tcp://127.0.0.1:1' } as const;

describe('hub', () => {
  it("ignores a DONE worker's late heartbeat but refuses its other messages", async () => {
    const metrics = createMetrics('coordinator', 'cpu', () => ({ numTensors: 0, numBytes: 0 }));
    const warnings: string[] = [];
    const log = { ...createLogger('test', true), warn: (m: string) => warnings.push(m) };
    const opts = {
      bind: 'tcp://127.0.0.1:*',
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 10_000,
      setupTimeoutMs: 10_000,
      now: () => Date.now(),
    };
    const hub = new Hub(opts, metrics, log);
    const endpoint = await hub.bind();
    const dealer = new zmq.Dealer({ linger: 0 });
    dealer.connect(endpoint);
    await dealer.send(encodeMessage({ kind: 'hello', pid: 1, host: 'scripted', backend: 'cpu' }));
    const admitted = hub.admit(1, payload, 10_000);
    const welcome = decodeMessage(await dealer.receive());
    expect(welcome).toMatchObject({ kind: 'welcome', rank: 0, optimizer });
    await dealer.send(encodeMessage(ready));
    const [peer] = await admitted;
    expect(peer?.peerEndpoint).toBe('tcp://127.0.0.1:1');
    hub.peers.transition(peer!, 'DONE', 'training complete');
    await dealer.send(encodeMessage({ kind: 'heartbeat', sentAtMs: Date.now() }));
    await dealer.send(encodeMessage(ready));
    // The first answer is to the second message: the heartbeat got none.
    const answer = decodeMessage(await dealer.receive());
    expect(answer).toMatchObject({ kind: 'error', code: 'FLEET_ERR_UNKNOWN_PEER' });
    expect(answer.kind === 'error' && answer.message).toMatch(/Received: "ready" from worker 0 in state DONE/);
    expect(warnings.filter((w) => w.includes('heartbeat'))).toEqual([]);
    expect(warnings.filter((w) => w.includes('FLEET_ERR_UNKNOWN_PEER'))).toHaveLength(1);
    dealer.close();
    await hub.close('test over', true);
  });

  it('evicts a worker whose only reply to the request in flight was refused for its groups, and says why', async () => {
    const metrics = createMetrics('coordinator', 'cpu', () => ({ numTensors: 0, numBytes: 0 }));
    const log = { ...createLogger('test', true), warn: () => {}, error: () => {} };
    const opts = {
      bind: 'tcp://127.0.0.1:*',
      heartbeatIntervalMs: 100,
      heartbeatTimeoutMs: 500,
      setupTimeoutMs: 10_000,
      now: () => Date.now(),
    };
    const hub = new Hub(opts, metrics, log);
    const endpoint = await hub.bind();
    const dealer = new zmq.Dealer({ linger: 0 });
    dealer.connect(endpoint);
    await dealer.send(encodeMessage({ kind: 'hello', pid: 1, host: 'scripted', backend: 'cpu' }));
    const admitted = hub.admit(1, payload, 10_000);
    await dealer.receive(); // welcome
    await dealer.send(encodeMessage(ready));
    const [peer] = await admitted;
    // Alive all along (heartbeats), so only the strike can evict it.
    const heartbeat = () => dealer.send(encodeMessage({ kind: 'heartbeat', sentAtMs: Date.now() })).catch(() => {});
    const beat = setInterval(() => void heartbeat(), 50);
    const int32 = { name: 'p', dtype: 'int32' as const, shape: [1, 1], data: Int32Array.of(0) };
    const reply = { kind: 'evalResult', evalId: 4, samples: 1, lossSum: 0, metricSums: [], groups: { predictions: 1 } };
    const collected = hub.collect(
      'evalResult',
      4,
      [peer!],
      () => dealer.send(handMade(reply, [int32])),
      () => {},
    );
    await expect(collected).rejects.toMatchObject({ code: 'FLEET_ERR_WORKER_LOST' });
    const why = /sent an invalid evalResult \(FLEET_ERR_TENSOR_DTYPE: Expected dtype float32 for tensor 0 of group "p/;
    await expect(collected).rejects.toThrow(why);
    clearInterval(beat);
    dealer.close();
    await hub.close('test over', true);
  });
});
