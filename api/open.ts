/**
 * Opening a cluster: `local()` binds loopback and starts its worker processes; `cluster({ bind })` binds
 * where it is told, with the CLI's security options, and waits for workers started anywhere with
 * `tensorfleet worker --connect …`. Both return once their workers are ready, welcomed into a lobby (a
 * one-weight model, no data) until the first call gives them a job. The spec is frozen here; the Cluster
 * is the handle.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ChildProcess } from 'node:child_process';
import type { CoordinatorOptions } from '../coordinator/run.ts';
import type { WelcomePayload } from '../coordinator/hub.ts';
import { openHub, type OpenHub } from '../coordinator/open-hub.ts';
import { modelToKerasJson } from '../shared/io/model-json.ts';
import { OWN_MODULE_PREFIX } from '../shared/model/job.ts';
import type { BackendRequest } from '../shared/runtime/backend/select.ts';
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import { DEFAULTS, isLoopbackEndpoint } from '../shared/runtime/config.ts';
import { importUserModule } from '../shared/runtime/tsx.ts';
import { loadSecurity } from '../shared/wire/security/index.ts';
import { readWeights } from '../shared/wire/weights.ts';
import { Cluster } from './cluster.ts';
import type { InlineMeta } from './inline-job.ts';
import { reap, spawnLocalWorkers } from './launcher.ts';

/** The job module every worker loads for an API call: api/inline-job of the worker's own tensorfleet. */
export const INLINE_JOB = `${OWN_MODULE_PREFIX}api/inline-job`;

/** Options of `tensorfleet.local(...)`. */
export interface LocalClusterOptions {
  /** Worker processes to start on this machine (kept until close()). */
  workers: number;
  backend?: BackendRequest;
  /** Modules every worker imports first: ones that register custom layers or export a custom loss. */
  modules?: string[];
  /** Port of the coordinator's /metrics (0, the default here, picks a free one). */
  metricsPort?: number;
  quiet?: boolean;
  /** BatchNormalization over the whole global batch, across workers (a job's `syncBatchNorm`). */
  syncBatchNorm?: boolean;
  /** Milliseconds to wait for the workers to be ready, at start and for each call (default 120 000). */
  joinTimeoutMs?: number;
}

/** Options of `tensorfleet.cluster(...)`: those of local() plus the coordinator's network and security flags. */
export interface ClusterOptions extends LocalClusterOptions {
  /** ZeroMQ endpoint to bind, e.g. tcp://0.0.0.0:5555; non-loopback needs curveSecretKey or insecure. */
  bind: string;
  /** Workers to wait for before cluster() returns. */
  workers: number;
  /** Fewest healthy workers a call trains with (default 1); below it training pauses. */
  minWorkers?: number;
  /** Most workers admitted at once (default `workers`); more may join while a call runs. */
  maxWorkers?: number;
  /** Milliseconds to wait, paused, for workers to come back above minWorkers (default 60 000). */
  minWorkersTimeoutMs?: number;
  /** This coordinator's key pair file, NAME.key (`tensorfleet keys`): turns CURVE on. */
  curveSecretKey?: string;
  /** Folder of NAME.pub files: only these worker keys complete the handshake (needs curveSecretKey). */
  allowKeys?: string;
  /** File holding the join token that every worker must send (mode 0600). */
  joinTokenFile?: string;
  /** Largest inbound ZeroMQ frame in bytes (-1: no limit; default 1 GiB). */
  maxMessageSize?: number;
  /** Allow a non-loopback bind without CURVE: anyone who reaches the port can join and read the weights. */
  insecure?: boolean;
  /** Interface /metrics listens on (default 127.0.0.1). */
  metricsHost?: string;
}

/** A cluster's frozen spec: what every call runs with. */
export interface ClusterSpec {
  /** How a call's arrays reach the workers: a temporary folder (same host) or the welcome message. */
  readonly carry: 'folder' | 'message';
  readonly workers: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** Absolute paths of the modules every worker imports. */
  readonly modules: readonly string[];
  readonly syncBatchNorm: boolean;
  /** The coordinator options of every call (the worker count is set per call). */
  readonly coordinator: CoordinatorOptions;
  /** The welcome between calls. */
  readonly lobby: WelcomePayload;
}

/** Starts `workers` worker processes on this machine and a hub in this process; resolves once they are ready. */
export async function local(opts: LocalClusterOptions): Promise<Cluster> {
  checkWorkers(opts.workers);
  const coordinator = coordinatorOptions(opts, 'tcp://127.0.0.1:*', { workers: opts.workers, min: opts.workers });
  const modules = await importModules(opts.modules);
  const children: ChildProcess[] = [];
  const open = await openHub({
    ...coordinator,
    onListening: ({ endpoint }) => {
      children.push(...spawnLocalWorkers(endpoint, { ...coordinator, workerArgs: [] }).children);
    },
  });
  const n = opts.workers;
  const syncBatchNorm = opts.syncBatchNorm === true;
  const spec = { carry: 'folder' as const, workers: n, minWorkers: n, maxWorkers: n, modules, syncBatchNorm };
  return start(open, { ...spec, coordinator }, children);
}

/**
 * Binds `opts.bind` and waits for `opts.workers` workers started anywhere with
 * `tensorfleet worker --connect <endpoint>` (and the matching security flags); resolves once they are ready.
 */
export async function cluster(opts: ClusterOptions): Promise<Cluster> {
  checkWorkers(opts.workers);
  const min = opts.minWorkers ?? 1;
  const max = opts.maxWorkers ?? opts.workers;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || min > opts.workers || max < opts.workers) {
    throw fleetError('API_WORKER_RANGE', { min, workers: opts.workers, max });
  }
  if (!isLoopbackEndpoint(opts.bind) && opts.curveSecretKey === undefined && opts.insecure !== true) {
    throw fleetError('API_EXPOSED_WITHOUT_CURVE', { bind: opts.bind });
  }
  const security = loadSecurity('coordinator', {
    ...(opts.curveSecretKey !== undefined && { curveSecretKey: opts.curveSecretKey }),
    ...(opts.allowKeys !== undefined && { allowKeys: opts.allowKeys }),
    ...(opts.joinTokenFile !== undefined && { joinTokenFile: opts.joinTokenFile }),
    ...(opts.maxMessageSize !== undefined && { maxMessageSize: opts.maxMessageSize }),
  });
  const coordinator = { ...coordinatorOptions(opts, opts.bind, { workers: opts.workers, min, max }), security };
  const modules = await importModules(opts.modules);
  const open = await openHub(coordinator);
  const syncBatchNorm = opts.syncBatchNorm === true;
  const spec = { carry: 'message' as const, workers: opts.workers, minWorkers: min, maxWorkers: max, modules };
  return start(open, { ...spec, syncBatchNorm, coordinator }, []);
}

function checkWorkers(workers: unknown): void {
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1) {
    throw fleetError('API_WORKERS', { received: workers });
  }
}

function coordinatorOptions(
  opts: LocalClusterOptions & { metricsHost?: string; minWorkersTimeoutMs?: number },
  bind: string,
  n: { workers: number; min: number; max?: number },
): CoordinatorOptions {
  return Object.freeze({
    bind,
    workers: n.workers,
    minWorkers: n.min,
    maxWorkers: n.max ?? n.workers,
    minWorkersTimeoutMs: opts.minWorkersTimeoutMs ?? 60_000,
    job: INLINE_JOB,
    backend: opts.backend ?? 'auto',
    metricsHost: opts.metricsHost ?? '127.0.0.1',
    metricsPort: opts.metricsPort ?? 0,
    heartbeatIntervalMs: DEFAULTS.heartbeatIntervalSeconds * 1000,
    heartbeatTimeoutMs: DEFAULTS.heartbeatTimeoutSeconds * 1000,
    joinTimeoutMs: opts.joinTimeoutMs ?? DEFAULTS.joinTimeoutSeconds * 1000,
    quiet: opts.quiet ?? true,
  });
}

/** Resolves the module paths and imports them here first, so a missing one fails before any worker waits. */
async function importModules(modules: readonly string[] | undefined): Promise<string[]> {
  const resolved = (modules ?? []).map((m) => path.resolve(m));
  for (const m of resolved) await importUserModule(m);
  return resolved;
}

/** Welcomes the first workers into the lobby and wraps the open hub in a Cluster; closes all on failure. */
async function start(
  open: OpenHub,
  base: Omit<ClusterSpec, 'lobby'>,
  children: readonly ChildProcess[],
): Promise<Cluster> {
  try {
    const spec: ClusterSpec = Object.freeze({ ...base, lobby: lobbyWelcome(open.backend, base.modules) });
    await open.hub.admit(base.workers, spec.lobby, base.coordinator.joinTimeoutMs, base.maxWorkers);
    return new Cluster(open, spec, children);
  } catch (err) {
    await open.close('could not start the cluster', false);
    await reap(children, 10_000);
    throw err;
  }
}

/** The welcome of a worker between calls: the inline job with no data and a one-weight model. */
function lobbyWelcome(backend: string, modules: readonly string[]): WelcomePayload {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1], useBias: false })] });
  try {
    const compile = { loss: 'mse', metrics: [] };
    const fit = { epochs: 1, batchSize: 1, verbose: 0 as const };
    const meta: InlineMeta = { compile, fit, splits: {}, modules: [...modules] };
    // Copies: the model's buffers go with it.
    const weights = readWeights(model).map((w) => ({ ...w, data: Float32Array.from(w.data) }));
    const modelConfig = JSON.stringify(modelToKerasJson(model));
    const optimizer = { className: 'SGD', config: { learningRate: 0.01 } };
    const jobArgs = { meta: JSON.stringify(meta) };
    return { jobPath: INLINE_JOB, jobArgs, modelConfig, compile, backend, weights, optimizer };
  } finally {
    model.dispose();
  }
}
