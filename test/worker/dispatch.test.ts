/**
 * The worker's one dispatch, driven by a fake coordinator (a plain ROUTER on real ZeroMQ) talking to a
 * real `tensorfleet worker` process: kinds only workers send are refused with a typed error naming the
 * kind, a compute request before welcome is refused, heartbeats and notices are taken quietly, and
 * `done` ends the worker with exit 0.
 */
import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, type Message } from '../../shared/wire/protocol.ts';
import { killAll, startCli, type Proc } from '../helpers/procs.ts';

const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

describe('worker dispatch', () => {
  it('refuses kinds only workers send (stepped, pulled), answers nothing to a heartbeat, exits 0 on done', async () => {
    const router = new zmq.Router({ linger: 0 });
    await router.bind('tcp://127.0.0.1:*');
    const args = ['--connect', router.lastEndpoint as string, '--backend', 'cpu', '--metrics-port', '0', '--quiet'];
    const worker = startCli(['worker', ...args]);
    procs.push(worker);
    const inbox: Message[] = [];
    let id: Buffer | undefined;
    const next = async (kind: Message['kind']): Promise<Message> => {
      for (;;) {
        const found = inbox.findIndex((m) => m.kind === kind);
        if (found >= 0) return inbox.splice(found, 1)[0] as Message;
        const [from, ...frames] = await router.receive();
        id = from;
        inbox.push(decodeMessage(frames));
      }
    };
    await next('hello');
    const to = (m: Parameters<typeof encodeMessage>[0]) => router.send([id as Buffer, ...encodeMessage(m)]);
    await to({ kind: 'heartbeat', sentAtMs: Date.now() });
    const kinds = 'round, evaluate, commit, pull, reduced, heartbeat, error, welcome or done';
    const expected = `Expected ${kinds} from the coordinator.`;
    await to({
      kind: 'stepped',
      roundId: 1,
      samples: 1,
      lossSum: 0,
      metricSums: [],
      computeSeconds: 0,
      numTensors: 0,
      exchangeBytes: { sent: 0, received: 0 },
    });
    const stepped = await next('error');
    expect(stepped).toMatchObject({ kind: 'error', code: 'FLEET_ERR_UNEXPECTED_MESSAGE', inReplyTo: 'stepped' });
    expect(stepped.kind === 'error' && stepped.message).toBe(`${expected} Received: "stepped"`);
    const weight = { name: 'w', dtype: 'float32' as const, shape: [1], data: Float32Array.of(0) };
    await to({ kind: 'pulled', pullId: 2, weightsVersion: 0, optimizerIterations: 0, groups: { weights: [weight] } });
    const pulled = await next('error');
    expect(pulled).toMatchObject({ kind: 'error', code: 'FLEET_ERR_UNEXPECTED_MESSAGE', inReplyTo: 'pulled' });
    expect(pulled.kind === 'error' && pulled.message).toBe(`${expected} Received: "pulled"`);
    await to({ kind: 'evaluate', evalId: 3, split: 'test', start: 0, count: 1, weightsVersion: 0, mode: 'metrics' });
    const early = await next('error');
    expect(early).toMatchObject({ code: 'FLEET_ERR_UNEXPECTED_MESSAGE', inReplyTo: 'evaluate', replyId: 3 });
    // Only the three refusals came back: the heartbeat got no answer (hellos repeat until welcomed).
    expect(inbox.filter((m) => m.kind !== 'hello' && m.kind !== 'heartbeat')).toEqual([]);
    await to({ kind: 'done', ok: true, reason: 'test over' });
    expect((await worker.exited).code).toBe(0);
    router.close();
  });
});
