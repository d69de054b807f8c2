/**
 * Elastic training: SIGKILL a worker mid-epoch, then another, then start a new one. Training goes on
 * with whoever is left, pauses below --min-workers, the newcomer joins at a round boundary, every example of every epoch is used
 * exactly once (counted by the coordinator), and the test accuracy matches an undisturbed run.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JOBS } from '../helpers/local.ts';
import { freePort, killAll, startCli, waitFor, type Proc, workerArgs } from '../helpers/procs.ts';

const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

interface RunJson {
  test: Record<string, number>;
  sampleUses: { epoch: number; examples: number; min: number; max: number }[];
  workers: { rank: number; state: string; rounds: number; lostReason?: string }[];
}

async function run(disturb: boolean): Promise<{ summary: RunJson; stderr: string }> {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const out = mkdtempSync(path.join(os.tmpdir(), 'tf-elastic-'));
  const coordinator = startCli([
    'coordinator',
    '--bind',
    endpoint,
    '--workers',
    '3',
    '--min-workers',
    '2',
    '--max-workers',
    '3',
    '--backend',
    'cpu',
    '--metrics-port',
    '0',
    '--metrics-host',
    '127.0.0.1',
    '--heartbeat-interval',
    '0.2',
    '--heartbeat-timeout',
    '2',
    '--verbose',
    '2',
    '--out',
    out,
    path.join(JOBS, 'elastic.ts'),
  ]);
  procs.push(coordinator);
  await waitFor(coordinator, /listening on/);
  const worker = () => {
    const w = startCli(workerArgs(endpoint));
    procs.push(w);
    return w;
  };
  const workers = [worker(), worker(), worker()];
  if (disturb) {
    await waitFor(coordinator, /Epoch 2\/12/);
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 500)); // somewhere inside epoch 2
    workers[0]?.child.kill('SIGKILL');
    await waitFor(coordinator, /Epoch 3\/12/);
    workers[1]?.child.kill('SIGKILL');
    await waitFor(coordinator, /lost: no message for[^]*lost: no message for/);
    worker();
  }
  const { code } = await coordinator.exited;
  expect(code, coordinator.stderr.slice(-3000)).toBe(0);
  return {
    summary: JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as RunJson,
    stderr: coordinator.stderr,
  };
}

describe('elastic membership', () => {
  it('survives two SIGKILLed workers and a late joiner, using every example exactly once per epoch', async () => {
    const calm = await run(false);
    const rough = await run(true);
    // Ranks follow hello order, not spawn order, so count rather than name the lost workers.
    expect(rough.stderr.match(/worker \d \(pid \d+ on .*\) lost: no message for/g)).toHaveLength(2);
    expect(rough.stderr).toMatch(/redoing it on the [12] remaining worker\(s\)/);
    // Down to one worker, below --min-workers 2: training pauses until the newcomer is ready.
    expect(rough.stderr).toMatch(/paused: 1 healthy worker\(s\), --min-workers 2/);
    expect(rough.stderr).toMatch(/worker 3 joined[^]*resumed with 2 worker\(s\)/);
    const newcomer = rough.summary.workers.find((w) => w.rank === 3);
    expect(newcomer?.state).toBe('HEALTHY'); // run.json is written before the workers are told done
    expect(newcomer?.rounds).toBeGreaterThan(0);
    expect(rough.summary.sampleUses).toHaveLength(12);
    for (const e of rough.summary.sampleUses) expect([e.examples, e.min, e.max]).toEqual([640, 1, 1]);
    const acc = (r: RunJson) => r.test['test_accuracy'] as number;
    expect(Math.abs(acc(rough.summary) - acc(calm.summary))).toBeLessThanOrEqual(0.005);
  });
});
