/** Errors in job files and flags fail fast, exit non-zero, and name the file and the problem. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOBS } from '../helpers/local.ts';
import { startCli } from '../helpers/procs.ts';

async function run(args: string[]) {
  const p = startCli(args);
  const { code } = await p.exited;
  return { code, out: p.stdout + p.stderr };
}

describe('command-line errors', () => {
  it.each([
    [
      'broken-syntax.ts',
      /FLEET_ERR_JOB_LOAD: Job .*broken-syntax\.ts failed to load: .*Cannot read properties of undefined/,
    ],
    ['not-a-job.ts', /FLEET_ERR_JOB_INVALID: Job .*not-a-job\.ts: expected a default export from defineJob.*model: /],
    [
      'bad-loss.ts',
      /FLEET_ERR_LOSS: Job .*bad-loss\.ts: Expected a loss among .*Received: "sparse_categorial_crossentropy"/,
    ],
    ['missing.ts', /FLEET_ERR_JOB_LOAD: Expected a job module at .*missing\.ts\. Received: no such file/],
  ])('job %s is rejected before any worker starts', async (file, pattern) => {
    const r = await run(['local', '--workers', '2', '--backend', 'cpu', '--metrics-port', '0', path.join(JOBS, file)]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(pattern);
    expect(r.out).not.toMatch(/worker 0 joined/);
  });

  it('rejects bad flags and unknown commands with what was expected', async () => {
    const bad = await run(['local', '--workers', '0', path.join(JOBS, 'dense-sgd.ts')]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/FLEET_ERR_CONFIG: Invalid --workers: .*Received: "0"/);
    const cmd = await run(['trian']);
    expect(cmd.code).toBe(1);
    expect(cmd.out).toMatch(/Expected a command among local, coordinator, worker, .*Received: "trian"/);
  });

  it.each(['local', 'coordinator', 'worker'])('%s --help prints the usage and exits 0', async (role) => {
    const r = await run([role, '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage:\n  tensorfleet local --workers N/);
    expect(r.out).toMatch(/--round-deadline S/);
  });
});
