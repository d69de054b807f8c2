/**
 * Real signals on a real `tensorfleet local`: SIGTERM and SIGINT stop it with a message and exit code
 * 143 or 130, and neither worker child outlives it (they were orphaned for 30 s before).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JOBS } from '../helpers/local.ts';
import { killAll, startCli, waitFor, type Proc } from '../helpers/procs.ts';

const procs: Proc[] = [];
const dirs: string[] = [];
afterEach(() => {
  killAll(procs.splice(0));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Pids of the direct children of `pid` that are tensorfleet workers (tsx's esbuild service may be a child too). */
function workersOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => / worker --connect /.test(l))
      .map((l) => Number(l.trim().split(/\s+/)[0]))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('signals on tensorfleet local', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s stops it with exit %i, a message, and no orphaned worker', async (signal, exitCode) => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'tf-signals-'));
    dirs.push(out);
    // 1,000 steps an epoch: still training when the signal comes.
    const proc = startCli([
      'local',
      '--workers',
      '2',
      '--backend',
      'cpu',
      '--metrics-port',
      '0',
      '--out',
      out,
      path.join(JOBS, 'tiny-many-steps.ts'),
    ]);
    procs.push(proc);
    // 'close' comes once stdout and stderr are drained, after 'exit'.
    const closed = new Promise((resolve) => proc.child.once('close', resolve));
    await waitFor(proc, /worker 1: JOINING -> HEALTHY/, 120_000);
    await waitFor(proc, /worker 0: JOINING -> HEALTHY/, 120_000);
    const workers = workersOf(proc.child.pid as number);
    expect(workers).toHaveLength(2);
    proc.child.kill(signal);
    const { code } = await proc.exited;
    await closed;
    expect(code).toBe(exitCode);
    expect(proc.stderr).toContain(`tensorfleet: received ${signal}; stopping`);
    expect(workers.filter(alive)).toEqual([]);
    // tfjs's banner is not printed by every process; each backend line points at the native build.
    expect(proc.stderr + proc.stdout).not.toContain('Hi, looks like you are running TensorFlow.js');
    expect((proc.stderr + proc.stdout).match(/tensorfleet setup native/g)).toHaveLength(3);
  });
});
