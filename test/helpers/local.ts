/** Defaults for running a local cluster inside a test. */
import path from 'node:path';
import { runLocal, type LocalOptions } from '../../api/launcher.ts';

export const JOBS = path.resolve(import.meta.dirname, '../fixtures/jobs');

/** runLocal with test defaults: cpu backend, free ports, quiet, short timeouts. */
export function runTestCluster(job: string, workers: number, extra: Partial<LocalOptions> = {}) {
  return runLocal({
    job: path.join(JOBS, job),
    workers,
    backend: 'cpu',
    metricsHost: '127.0.0.1',
    metricsPort: 0,
    heartbeatIntervalMs: 500,
    heartbeatTimeoutMs: 10_000,
    joinTimeoutMs: 60_000,
    quiet: true,
    ...extra,
  });
}
