/** Thread budgets: the cgroup quota (v2 and v1) bounds the CPUs, workers on a host split them, a flag overrides. */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { cgroupCpus, describeBudget, threadBudget, threadEnv, usableCpus } from '../../../shared/runtime/threads.ts';

const files = (map: Record<string, string>) => (file: string) => map[file];

describe('thread budgets', () => {
  it('reads cgroup v2 cpu.max and v1 quota files, rounding a fractional quota up', () => {
    expect(cgroupCpus(files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(2);
    expect(cgroupCpus(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeUndefined();
    expect(
      cgroupCpus(
        files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '400000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }),
      ),
    ).toBe(4);
    expect(
      cgroupCpus(
        files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }),
      ),
    ).toBeUndefined();
    expect(cgroupCpus(files({}))).toBeUndefined();
  });

  it('takes the quota only when it is below the CPUs the process may run on', () => {
    expect(usableCpus(files({ '/sys/fs/cgroup/cpu.max': '100000 100000' }))).toEqual({
      cpus: 1,
      source: 'cgroup quota',
    });
    const many = usableCpus(files({ '/sys/fs/cgroup/cpu.max': `${1000 * 100000} 100000` }));
    expect(many).toEqual({ cpus: os.availableParallelism(), source: 'available parallelism' });
  });

  it('splits CPUs among the workers on a host, at least one each, and the flag overrides', () => {
    const quota8 = files({ '/sys/fs/cgroup/cpu.max': '800000 100000' });
    const cpus = Math.min(8, os.availableParallelism());
    expect(threadBudget(2, undefined, quota8).intraOp).toBe(Math.max(1, Math.floor(cpus / 2)));
    expect(threadBudget(64, undefined, quota8).intraOp).toBe(1);
    const flagged = threadBudget(2, 3, quota8);
    expect(flagged).toMatchObject({ intraOp: 3, interOp: 2, fromFlag: true });
    expect(threadEnv(flagged)).toEqual({
      TF_NUM_INTRAOP_THREADS: '3',
      TF_NUM_INTEROP_THREADS: '2',
      OMP_NUM_THREADS: '3',
    });
    expect(describeBudget(flagged)).toBe('threads: intra-op 3, inter-op 2 (--threads-per-worker)');
    expect(describeBudget(threadBudget(2, undefined, files({ '/sys/fs/cgroup/cpu.max': '200000 100000' })))).toMatch(
      /^threads: intra-op 1, inter-op 1 \(2 CPU\(s\) by (cgroup quota|available parallelism) \/ 2 worker\(s\) on this host\)$/,
    );
  });
});
