/**
 * Thread budgets for workers that share a host. TensorFlow sizes its intra-op and inter-op pools to the
 * whole machine unless told otherwise, so two workers on one host each start pools for every core and
 * fight over them; torchrun avoids this with OMP_NUM_THREADS=1. A worker here takes its share of the CPUs
 * the container may use (the cgroup quota, else `os.availableParallelism()`), split evenly among the
 * workers started together on the host, unless --threads-per-worker says otherwise.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Where the CPU count came from, for the worker's start-up line. */
export type CpuSource = 'cgroup quota' | 'available parallelism';

/** A worker's thread budget and how it was chosen. */
export interface ThreadBudget {
  readonly intraOp: number;
  readonly interOp: number;
  readonly cpus: number;
  readonly source: CpuSource;
  readonly workersOnHost: number;
  /** True when --threads-per-worker set it. */
  readonly fromFlag: boolean;
}

/** CPUs under a cgroup v2 `cpu.max` ("quota period", or "max period"), or v1's quota and period files. */
export function cgroupCpus(read: (file: string) => string | undefined = readText): number | undefined {
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  if (v2 && v2[0] !== undefined && v2[0] !== 'max') return quotaCpus(Number(v2[0]), Number(v2[1]));
  const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
  const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
  return quota > 0 ? quotaCpus(quota, period) : undefined;
}

function quotaCpus(quota: number, period: number): number | undefined {
  if (!(quota > 0) || !(period > 0)) return undefined;
  // A quota of 1.5 CPUs still lets 2 threads make progress; round up, never below one.
  return Math.max(1, Math.ceil(quota / period));
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The CPUs this process may use: the cgroup quota when one is set, else the CPUs it is allowed to run on. */
export function usableCpus(read?: (file: string) => string | undefined): { cpus: number; source: CpuSource } {
  const quota = cgroupCpus(read);
  const parallel = os.availableParallelism();
  if (quota !== undefined && quota < parallel) return { cpus: quota, source: 'cgroup quota' };
  return { cpus: parallel, source: 'available parallelism' };
}

/** Splits the usable CPUs among `workersOnHost`; `perWorker` (the flag) overrides the split. */
export function threadBudget(
  workersOnHost: number,
  perWorker?: number,
  read?: (file: string) => string | undefined,
): ThreadBudget {
  const { cpus, source } = usableCpus(read);
  const intraOp = perWorker ?? Math.max(1, Math.floor(cpus / Math.max(1, workersOnHost)));
  // Inter-op parallelism runs independent ops side by side; with one or two cores per worker it only
  // adds contention, so it follows the intra-op budget up to 2.
  const interOp = Math.min(intraOp, 2);
  return { intraOp, interOp, cpus, source, workersOnHost, fromFlag: perWorker !== undefined };
}

/** The environment TensorFlow reads when it creates its pools (before the native backend loads). */
export function threadEnv(b: ThreadBudget): Record<string, string> {
  return {
    TF_NUM_INTRAOP_THREADS: String(b.intraOp),
    TF_NUM_INTEROP_THREADS: String(b.interOp),
    OMP_NUM_THREADS: String(b.intraOp),
  };
}

/** The worker's start-up line about its threads. */
export function describeBudget(b: ThreadBudget): string {
  const why = b.fromFlag
    ? '--threads-per-worker'
    : `${b.cpus} CPU(s) by ${b.source} / ${b.workersOnHost} worker(s) on this host`;
  return `threads: intra-op ${b.intraOp}, inter-op ${b.interOp} (${why})`;
}
