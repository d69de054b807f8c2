/**
 * One worker process: connects a DEALER to the coordinator, rebuilds the model from the Keras JSON it
 * is sent, and answers each round with the gradients of its shard. It holds no optimizer state.
 *
 * Room: worker/ is one process per GPU; it imports shared/ only, never coordinator/.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import * as zmq from 'zeromq';
import { describeChoice, selectBackend, type BackendRequest } from '../shared/runtime/backend/select.ts';
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import { isFleetError } from '../shared/runtime/errors.ts';
import { createLogger } from '../shared/runtime/log.ts';
import { createMetrics, serveMetrics } from '../shared/runtime/metrics.ts';
import {
  decodeMessage,
  encodeMessage,
  refusedHeader,
  type Header,
  type Message,
  type MessageKind,
  type Outbound,
} from '../shared/wire/protocol.ts';
import {
  NO_SECURITY,
  clientSocketOptions,
  describeSecurity,
  watchWorkerHandshakes,
  type Security,
} from '../shared/wire/security/index.ts';
import { SendQueue, frameBytes } from '../shared/wire/transport.ts';
import { ReduceClient } from './reduce-client.ts';
import { PeerMesh } from './exchange/mesh.ts';
import { ExchangeRouter } from './exchange/rounds.ts';
import { handle, type WorkerLinks } from './requests.ts';
import { startSession, type Session } from './session.ts';

/** Worker options, parsed and frozen by the CLI. */
export interface WorkerOptions {
  readonly connect: string;
  readonly backend: BackendRequest;
  readonly metricsHost: string;
  /** Port of this worker's /metrics; 0 picks a free one. */
  readonly metricsPort: number;
  /** Give up when the coordinator has been silent this long, in milliseconds. */
  readonly coordinatorTimeoutMs: number;
  readonly quiet: boolean;
  /** CURVE keys, join token and frame cap (shared/wire/security); unset: NO_SECURITY. */
  readonly security?: Security;
  /** The address this worker's peers reach it on for the gradient exchange (the port is chosen here). */
  readonly peerHost: string;
}
/** Most values held for a round not begun yet, until the first round shows the model's size. */
const MAX_EARLY_VALUES = 1 << 24;

/** Runs a worker until the coordinator says done (exit code 0) or is lost (exit code 1). */
export async function runWorker(opts: WorkerOptions): Promise<number> {
  let log = createLogger(`worker pid ${process.pid}`, opts.quiet);
  const choice = await selectBackend(opts.backend);
  log.info(describeChoice(choice));
  const metrics = createMetrics('worker', choice.taken, () => tf.memory());
  const server = await serveMetrics(metrics.registry, opts.metricsHost, opts.metricsPort);
  log.info(`metrics: http://${opts.metricsHost}:${server.port}/metrics`);

  const security = opts.security ?? NO_SECURITY;
  log.info(describeSecurity(security));
  const dealer = new zmq.Dealer({ linger: 0, ...clientSocketOptions(security) });
  // A coordinator that refuses this worker's key will never change its mind: stop (exit code 1).
  if (security.keys)
    watchWorkerHandshakes(dealer, security, log, (err) => {
      log.error(`${err.code}: ${err.message}`);
      dealer.close();
    });
  dealer.connect(opts.connect);
  const out = new SendQueue(dealer, (n) => metrics.bytesSent.inc({ peer: 'coordinator' }, n));
  const send = (m: Outbound) => out.send(encodeMessage(m));
  let session: Session | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let lastHeard = Date.now();
  let exitCode = 1;
  const reducer = new ReduceClient(send);
  const mesh = await PeerMesh.open({
    host: opts.peerHost,
    security,
    observer: {
      bytes: (direction, n) =>
        (direction === 'sent' ? metrics.bytesSent : metrics.bytesReceived).inc({ peer: 'worker' }, n),
      rejected: (err) => {
        metrics.rejectedMessages.inc({ code: err.code });
        log.warn(`rejected a peer message: ${err.code}: ${err.message}`);
      },
    },
  });
  log.info(`peers reach this worker at ${mesh.endpoint}`);
  const exchange = new ExchangeRouter(mesh, MAX_EARLY_VALUES, (err) => {
    metrics.rejectedMessages.inc({ code: err.code });
    log.warn(`rejected a peer message: ${err.code}: ${err.message}`);
  });
  const links: WorkerLinks = { send, metrics, reducer, mesh, exchange };
  // Requests run one at a time, off the receive loop, so the loop can still take the `reduced` sums a
  // synchronized step waits for.
  let work: Promise<void> = Promise.resolve();
  const watchdog = setInterval(() => {
    if (Date.now() - lastHeard > opts.coordinatorTimeoutMs) {
      log.error(`coordinator at ${opts.connect} silent for ${opts.coordinatorTimeoutMs} ms; giving up`);
      dealer.close();
    }
  }, 250);

  /**
   * A failure on one request (say, labels the loss cannot take) is reported to the coordinator, not fatal.
   * `msg` is the request, or the header of one refused for its tensors: the report names what it answers.
   */
  const reportFailure = async (msg: Header<MessageKind> | undefined, caught: unknown): Promise<void> => {
    const err = isFleetError(caught)
      ? caught
      : fleetError('WORKER_COMPUTE_FAILED', { request: msg?.kind ?? 'a request', reason: (caught as Error).message });
    metrics.rejectedMessages.inc({ code: err.code });
    log.warn(`rejected a message: ${err.code}: ${err.message}`);
    // Name the request this answers, so the coordinator fails it instead of waiting for a reply.
    const replyId = msg?.kind === 'round' ? msg.roundId : msg?.kind === 'evaluate' ? msg.evalId : undefined;
    await send({
      kind: 'error',
      code: err.code,
      message: err.message,
      ...(msg && { inReplyTo: msg.kind }),
      ...(replyId !== undefined && { replyId }),
    }).catch(() => {});
  };

  const hello = () =>
    send({
      kind: 'hello',
      pid: process.pid,
      host: os.hostname(),
      backend: choice.taken,
      ...(security.joinToken !== undefined && { token: security.joinToken }),
    });
  await hello();
  // Until welcomed, say hello again every 2 s: the coordinator may not have been admitting yet.
  const joinLoop = setInterval(() => {
    if (!session && !heartbeat) void hello();
  }, 2000);
  try {
    for await (const frames of dealer) {
      lastHeard = Date.now();
      metrics.bytesReceived.inc({ peer: 'coordinator' }, frameBytes(frames));
      let msg: Message | undefined;
      try {
        msg = decodeMessage(frames);
        // The one dispatch over what the coordinator may send; kinds only workers send are refused.
        switch (msg.kind) {
          case 'reduced':
            reducer.deliver(msg);
            continue;
          case 'round':
          case 'evaluate':
          case 'commit':
          case 'pull': {
            if (msg.kind !== 'commit') {
              // The coordinator moved on: a reduction or an exchange still waiting belongs to a step it dropped.
              reducer.supersede(msg.kind === 'round' ? msg.roundId : undefined);
              exchange.supersede(msg.kind === 'round' ? msg.roundId : undefined);
            }
            const request = msg;
            const current = session;
            const answer = () => handle(request, current, links);
            work = work.then(() => answer().catch((caught: unknown) => reportFailure(request, caught)));
            continue;
          }
          case 'done':
            reducer.supersede();
            log.info(`coordinator says done: ${msg.reason}`);
            exitCode = msg.ok ? 0 : 1;
            break;
          case 'heartbeat':
            continue;
          case 'error':
            if (msg.inReplyTo === 'reduce' && msg.replyId !== undefined) {
              reducer.refused(
                msg.replyId,
                fleetError('REDUCE_REFUSED', { roundId: msg.replyId, code: msg.code, message: msg.message }),
              );
              continue;
            }
            if (msg.code === 'FLEET_ERR_AUTH') {
              // A wrong or missing join token: saying hello again will not help.
              log.error(`the coordinator refused this worker: ${msg.code}: ${msg.message}`);
              break;
            }
            if (msg.code === 'FLEET_ERR_UNKNOWN_PEER') {
              // The coordinator does not know us: it restarted (e.g. --resume after a crash). Start over.
              log.warn('the coordinator does not know this worker (restarted?); joining again');
              if (heartbeat) clearInterval(heartbeat);
              heartbeat = undefined;
              reducer.reset();
              exchange.reset();
              await session?.pool.close();
              session = undefined;
              await hello();
              continue;
            }
            log.warn(`coordinator reported ${msg.code}: ${msg.message}`);
            continue;
          case 'welcome': {
            reducer.reset();
            exchange.reset();
            log = createLogger(`worker ${msg.rank}`, opts.quiet);
            // A welcome to a worker that has a session starts a new task (the API's cluster keeps its
            // workers across calls): the new job, model and data replace the old session.
            await work;
            if (heartbeat) clearInterval(heartbeat);
            await session?.pool.close();
            session?.model.dispose();
            session = undefined;
            heartbeat = setInterval(
              () => void send({ kind: 'heartbeat', sentAtMs: Date.now() }),
              msg.heartbeatIntervalMs,
            );
            try {
              session = await startSession(msg, log);
            } catch (err) {
              // Setup failures (job file, data, model) will not go away: tell the coordinator and stop.
              const e = isFleetError(err) ? err : fleetError('WORKER_SETUP_FAILED', { reason: (err as Error).message });
              log.error(`${e.code}: ${e.message}`);
              await send({ kind: 'error', code: e.code, message: e.message, inReplyTo: 'welcome' });
              break;
            }
            const peerKey = security.keys?.publicKey;
            await send({
              kind: 'ready',
              numTensors: tf.memory().numTensors,
              peerEndpoint: mesh.endpoint,
              ...(peerKey && { peerKey }),
            });
            continue;
          }
          case 'hello':
          case 'ready':
          case 'computed':
          case 'stepped':
          case 'pulled':
          case 'evalResult':
          case 'reduce':
          case 'scatter': // worker-to-worker kinds travel on the exchange's own links, never from the coordinator
          case 'gather':
            throw fleetError('WORKER_UNEXPECTED_KIND', { kind: msg.kind });
          default: {
            const never: never = msg;
            throw fleetError('WORKER_UNHANDLED_KIND', { kind: never });
          }
        }
        break; // done, a refused join or a failed setup end the loop
      } catch (caught) {
        if (!isFleetError(caught)) throw caught;
        const about = msg ?? refusedHeader(caught);
        // A sum refused for its tensors fails the reductions waiting on it, as one of the wrong length does.
        if (msg === undefined && about?.kind === 'reduced') reducer.refused(about.roundId, caught);
        await reportFailure(about, caught);
      }
    }
  } finally {
    reducer.supersede();
    exchange.supersede();
    await work;
    clearInterval(watchdog);
    clearInterval(joinLoop);
    if (heartbeat) clearInterval(heartbeat);
    out.close();
    dealer.close();
    await mesh.close();
    await session?.pool.close();
    await server.close();
  }
  return exitCode;
}
