/**
 * Stragglers: with --round-deadline, a worker that is too slow is left out of the round, its share is
 * computed by the faster worker, its late gradients are dropped and counted, and every example is
 * still used exactly once per epoch.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENTRY, nodeArgs } from '../../api/launcher.ts';
import { JOBS } from '../helpers/local.ts';
import { freePort, killAll, startCli, waitFor, type Proc, workerArgs, coordinatorArgs } from '../helpers/procs.ts';

const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

describe('stragglers', () => {
  it('miss the round deadline, their share moves to the fast worker, their late gradients are dropped', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const out = mkdtempSync(path.join(os.tmpdir(), 'tf-straggler-'));
    const coordinator = startCli(
      coordinatorArgs(endpoint, 2, [
        '--round-deadline',
        '0.25',
        '--heartbeat-timeout',
        '20',
        '--verbose',
        '0',
        '--out',
        out,
        path.join(JOBS, 'straggler.ts'),
      ]),
    );
    procs.push(coordinator);
    await waitFor(coordinator, /listening on/);
    procs.push(startCli(workerArgs(endpoint)));
    const slow = spawn(process.execPath, nodeArgs(ENTRY, workerArgs(endpoint)), {
      env: { ...process.env, TENSORFLEET_TEST_SLOW_MS: '1000' },
      stdio: 'ignore',
    });
    const { code } = await coordinator.exited;
    slow.kill('SIGKILL');
    expect(code, coordinator.stderr.slice(-2000)).toBe(0);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as {
      stragglerDrops: number;
      sampleUses: { examples: number; min: number; max: number }[];
      test: Record<string, number>;
    };
    expect(coordinator.stderr).toMatch(
      /missed the 250 ms deadline; their 16 examples move to the 1 faster worker\(s\)/,
    );
    expect(run.stragglerDrops).toBeGreaterThan(0);
    expect(coordinator.stderr).toMatch(/FLEET_ERR_STALE_ROUND/); // late gradients from the slow worker, dropped
    for (const e of run.sampleUses) expect([e.examples, e.min, e.max]).toEqual([320, 1, 1]);
    expect(run.test['test_accuracy']).toBeGreaterThan(0.4);
  });
});
