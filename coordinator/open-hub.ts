/**
 * A coordinator's hub apart from any one task: backend, metrics server and the bound ROUTER, opened once
 * and closed once. The CLI opens one per run; the programmatic API's cluster keeps one across its fit,
 * evaluate and predict calls, and welcomes the same workers again for each (see `welcomeAgain`).
 */
import * as tf from '@tensorflow/tfjs';
import { describeChoice, selectBackend } from '../shared/runtime/backend/select.ts';
import { createLogger, type Logger } from '../shared/runtime/log.ts';
import { createMetrics, serveMetrics, type FleetMetrics } from '../shared/runtime/metrics.ts';
import { Hub, type WelcomePayload } from './hub.ts';
import type { Peer } from './peers.ts';
import type { CoordinatorOptions } from './run.ts';

/** What opening a hub needs: the network, liveness and metrics settings of a coordinator. */
export type HubSpec = Pick<
  CoordinatorOptions,
  | 'bind'
  | 'backend'
  | 'metricsHost'
  | 'metricsPort'
  | 'heartbeatIntervalMs'
  | 'heartbeatTimeoutMs'
  | 'joinTimeoutMs'
  | 'security'
  | 'quiet'
  | 'onListening'
>;

/** A bound hub with its backend, metrics and logger: it outlives any number of tasks, until `close`. */
export interface OpenHub {
  readonly hub: Hub;
  /** The endpoint bound, with the port picked when the spec said `*`. */
  readonly endpoint: string;
  /** The backend taken in this process; workers are welcomed onto the same one. */
  readonly backend: string;
  readonly metrics: FleetMetrics;
  readonly metricsPort: number;
  readonly log: Logger;
  /** How often both sides send heartbeats, in milliseconds (a welcome carries it). */
  readonly heartbeatIntervalMs: number;
  /** Tells the live workers done (they exit 0 when `ok`), closes the socket and the metrics server. */
  close(reason: string, ok: boolean): Promise<void>;
}

/** Selects the backend, serves /metrics and binds the hub; calls `spec.onListening` once all three are up. */
export async function openHub(spec: HubSpec): Promise<OpenHub> {
  const log = createLogger('coordinator', spec.quiet);
  const choice = await selectBackend(spec.backend);
  log.info(describeChoice(choice));
  const metrics = createMetrics('coordinator', choice.taken, () => tf.memory());
  const server = await serveMetrics(metrics.registry, spec.metricsHost, spec.metricsPort);
  log.info(`metrics: http://${spec.metricsHost}:${server.port}/metrics`);
  const hub = new Hub(
    {
      bind: spec.bind,
      heartbeatIntervalMs: spec.heartbeatIntervalMs,
      heartbeatTimeoutMs: spec.heartbeatTimeoutMs,
      setupTimeoutMs: spec.joinTimeoutMs,
      now: () => Date.now(),
      ...(spec.security && { security: spec.security }),
    },
    metrics,
    log,
  );
  const close = async (reason: string, ok: boolean): Promise<void> => {
    try {
      await hub.close(reason, ok);
    } finally {
      await server.close();
    }
  };
  let endpoint: string;
  try {
    endpoint = await hub.bind();
    log.info(`listening on ${endpoint}`);
    await spec.onListening?.({ endpoint, metricsPort: server.port, backend: choice.taken });
  } catch (err) {
    await close('could not start', false);
    throw err;
  }
  const heartbeatIntervalMs = spec.heartbeatIntervalMs;
  return { hub, endpoint, backend: choice.taken, metrics, metricsPort: server.port, log, heartbeatIntervalMs, close };
}

/**
 * Starts a new task on the workers that are healthy now: each goes back to JOINING and is sent a new
 * welcome (job, model, weights, data), which replaces its session; it says ready again once set up.
 * Returns those peers; `Hub.admit` then waits for them, and welcomes newcomers with the same payload.
 */
export async function welcomeAgain(open: OpenHub, payload: WelcomePayload): Promise<Peer[]> {
  const peers = open.hub.peers.inState('HEALTHY');
  for (const peer of peers) {
    open.hub.peers.transition(peer, 'JOINING', 'a new task');
    peer.lastSeenMs = Date.now();
    peer.weightsVersion = 0;
    const { jobPath, jobArgs, modelConfig, compile, backend, weights, data, optimizer } = payload;
    const header = {
      kind: 'welcome' as const,
      rank: peer.rank,
      jobPath,
      ...(jobArgs && { jobArgs }),
      modelConfig,
      compile,
      backend,
      heartbeatIntervalMs: open.heartbeatIntervalMs,
      optimizer,
    };
    await open.hub.send(peer, { ...header, groups: { weights, ...(data && { data }) } });
  }
  return peers;
}
