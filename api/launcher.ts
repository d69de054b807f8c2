/**
 * Single-node mode: a coordinator in this process and N worker child processes on this machine,
 * talking over real ZeroMQ on loopback. The spec (options) is kept apart from the handle (children).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  runCoordinator,
  runJob,
  type CoordinatorOptions,
  type JobRef,
  type RunResult,
  type Task,
} from '../coordinator/run.ts';
import type { Job } from '../shared/model/job.ts';
import { siblingPath } from '../shared/runtime/module-path.ts';
import { loaderArgs } from '../shared/runtime/tsx.ts';

/** Path of the CLI entry that child processes run: cli/entry.ts in a checkout, dist/cli/entry.js when built. */
export const ENTRY = siblingPath('../cli/entry.ts', import.meta.url);

/** Node arguments that run an entry point: with tsx as the loader for a .ts entry, plain node for .js. */
export function nodeArgs(entry: string, args: readonly string[]): string[] {
  return [...loaderArgs(entry), entry, ...args];
}

/** Options of a local run: a coordinator's options plus how to start the workers. */
export interface LocalOptions extends Omit<CoordinatorOptions, 'onListening' | 'bind'> {
  readonly bind?: string;
  /** Extra flags for every worker, e.g. ['--coordinator-timeout', '5']. */
  readonly workerArgs?: readonly string[];
  /** Called with the worker children once they are spawned (tests use it to kill one). */
  readonly onWorkers?: (
    children: readonly ChildProcess[],
    info: { endpoint: string; metricsPort: number; workerMetricsPorts: number[] },
  ) => void;
}

/** Runs coordinator + N local workers for the job module at opts.job; always reaps the children. */
export function runLocal(opts: LocalOptions): Promise<RunResult> {
  return withLocalWorkers(opts, (o) => runCoordinator(o));
}

/** Runs coordinator + N local workers for an already-loaded job that workers load through `ref`. */
export function runLocalJob(job: Job, ref: JobRef, opts: LocalOptions & { task?: Task }): Promise<RunResult> {
  return withLocalWorkers(opts, (o) => runJob(job, ref, { ...o, ...(opts.task && { task: opts.task }) }));
}

/** Worker children of every local run in this process that have not exited yet. */
const live = new Set<ChildProcess>();

/**
 * Sends `signal` to every local worker child still running and resolves once they have all exited
 * (SIGKILL after `graceMs`). The CLI calls it on SIGINT/SIGTERM so that no worker outlives it.
 */
export async function stopLocalWorkers(signal: NodeJS.Signals, graceMs = 5000): Promise<void> {
  const children = [...live];
  for (const c of children) c.kill(signal);
  await reap(children, graceMs);
}

/** How local worker children are started: backend, metrics and extra flags, as a local run's options give them. */
export type LocalWorkerSpec = Pick<
  LocalOptions,
  'workers' | 'backend' | 'metricsHost' | 'metricsPort' | 'quiet' | 'workerArgs'
>;

/**
 * Starts `spec.workers` worker children connecting to `endpoint`; returns them and their metrics ports.
 * They are tracked for stopLocalWorkers until they exit.
 */
export function spawnLocalWorkers(
  endpoint: string,
  spec: LocalWorkerSpec,
): { children: ChildProcess[]; metricsPorts: number[] } {
  const children: ChildProcess[] = [];
  const metricsPorts: number[] = [];
  for (let i = 0; i < spec.workers; i++) {
    const port = spec.metricsPort === 0 ? 0 : spec.metricsPort + 1 + i;
    metricsPorts.push(port);
    const args = [
      'worker',
      '--connect',
      endpoint,
      '--backend',
      spec.backend,
      '--metrics-host',
      spec.metricsHost,
      '--metrics-port',
      String(port),
      ...(spec.quiet ? ['--quiet'] : []),
      ...(spec.workerArgs ?? []),
    ];
    const child = spawn(process.execPath, nodeArgs(ENTRY, args), { stdio: ['ignore', 'inherit', 'inherit'] });
    live.add(child);
    child.once('exit', () => live.delete(child));
    children.push(child);
  }
  return { children, metricsPorts };
}

async function withLocalWorkers(
  opts: LocalOptions,
  run: (o: CoordinatorOptions) => Promise<RunResult>,
): Promise<RunResult> {
  const children: ChildProcess[] = [];
  try {
    return await run({
      ...opts,
      bind: opts.bind ?? 'tcp://127.0.0.1:*',
      onListening: ({ endpoint, metricsPort }) => {
        const started = spawnLocalWorkers(endpoint, opts);
        children.push(...started.children);
        opts.onWorkers?.(children, { endpoint, metricsPort, workerMetricsPorts: started.metricsPorts });
      },
    });
  } finally {
    await reap(children, 10_000);
  }
}

/** Waits for children to exit, then SIGKILLs any still running after `graceMs`. */
export async function reap(children: readonly ChildProcess[], graceMs: number): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
          c.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
        }),
    ),
  );
}
