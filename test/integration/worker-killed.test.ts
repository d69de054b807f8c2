/** A worker killed with SIGKILL must not hang the coordinator: it reports the loss and exits non-zero. */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JOBS } from '../helpers/local.ts';
import { freePort, killAll, startCli, waitFor, type Proc, workerArgs, coordinatorArgs } from '../helpers/procs.ts';

const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

describe('worker killed', () => {
  it('below --min-workers: the coordinator reports the worker lost, waits, then exits non-zero; the survivor is told', async () => {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    const coordinator = startCli(
      coordinatorArgs(endpoint, 2, [
        '--heartbeat-interval',
        '0.2',
        '--heartbeat-timeout',
        '2',
        '--min-workers',
        '2',
        '--min-workers-timeout',
        '2',
        '--epochs',
        '500',
        '--verbose',
        '2',
        path.join(JOBS, 'dense-sgd.ts'),
      ]),
    );
    procs.push(coordinator);
    await waitFor(coordinator, /listening on/);
    const workers = [0, 1].map(() => startCli(workerArgs(endpoint)));
    procs.push(...workers);
    await waitFor(coordinator, /Epoch 2\/500/);
    const victim = workers[1] as Proc;
    victim.child.kill('SIGKILL');
    const started = Date.now();
    const { code } = await coordinator.exited;
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(coordinator.stderr).toMatch(/worker \d \(pid \d+ on .*\) lost: no message for \d+ ms/);
    expect(coordinator.stderr).toMatch(/paused: 1 healthy worker\(s\), --min-workers 2; waiting up to 2 s/);
    expect(coordinator.stderr).toMatch(
      /FLEET_ERR_WORKER_LOST: Expected 2 healthy worker\(s\) to resume training \(--min-workers 2\) within 2000 ms\. Received: 1/,
    );
    const survivor = await (workers[0] as Proc).exited;
    expect(survivor.code).toBe(1);
    expect((workers[0] as Proc).stderr).toMatch(/coordinator says done: FLEET_ERR_WORKER_LOST/);
  });
});
