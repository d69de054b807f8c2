/**
 * The coordinator's network side: a ROUTER socket, the worker registry, heartbeats both ways, and
 * the two request/collect primitives the training loop uses (`round` and `evaluate`). Every inbound
 * message is decoded and validated here, and bad ones are answered with a typed error.
 *
 * Room: coordinator/ is the control plane (membership, liveness, data order, callbacks, checkpoints,
 * metrics); it imports shared/ only, never worker/.
 */
import * as zmq from 'zeromq';
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import { isFleetError, type FleetError } from '../shared/runtime/errors.ts';
import type { Logger } from '../shared/runtime/log.ts';
import type { FleetMetrics } from '../shared/runtime/metrics.ts';
import {
  checkTensors,
  decodeMessage,
  encodeMessage,
  refusedHeader,
  type Header,
  type Message,
  type MessageKind,
  type MessageOf,
  type Outbound,
  type TensorExpectation,
  type WireTensor,
} from '../shared/wire/protocol.ts';
import {
  NO_SECURITY,
  checkHello,
  describeSecurity,
  needsZap,
  refusalReporter,
  reportHandshakeRefusals,
  serverSocketOptions,
  startAuthenticator,
  type Refusal,
  type Security,
  type ZapHandler,
} from '../shared/wire/security/index.ts';
import { SendQueue, frameBytes } from '../shared/wire/transport.ts';
import { Collector, type Pending, type ReplyKind } from './collector.ts';
import { PeerRegistry, type Peer } from './peers.ts';
import { Reduction } from './reduction.ts';

/** Network settings of a coordinator, frozen by the CLI. */
export interface HubOptions {
  /** ZeroMQ endpoint to bind, e.g. tcp://0.0.0.0:5555 (tcp://127.0.0.1:* picks a free port). */
  readonly bind: string;
  /** How often both sides send heartbeats, in milliseconds. */
  readonly heartbeatIntervalMs: number;
  /** A worker silent this long, in milliseconds, is declared lost. */
  readonly heartbeatTimeoutMs: number;
  /** How long a welcomed worker may take to load the job and build the model, in milliseconds. */
  readonly setupTimeoutMs: number;
  /** Injected clock in milliseconds. */
  readonly now: () => number;
  /** CURVE keys, allow-list, join token and frame cap; unset: NO_SECURITY. */
  readonly security?: Security;
}

/** What a welcome carries besides the rank. */
export interface WelcomePayload {
  readonly jobPath: string;
  readonly jobArgs?: Record<string, unknown>;
  readonly modelConfig: string;
  readonly compile: Record<string, unknown>;
  readonly backend: string;
  readonly weights: readonly WireTensor[];
  /** The coordinator's optimizer: every worker builds the same one and applies each committed step. */
  readonly optimizer: { readonly className: string; readonly config: Record<string, unknown> };
  /** The job's arrays, when they travel with the welcome (the programmatic API's `cluster({ bind })`). */
  readonly data?: readonly WireTensor[];
}

/** The coordinator's socket, peers and liveness; used by the training loop. */
export class Hub {
  /** Workers that said they computed the round in flight (its gradient is on the way to its peers). */
  private readonly computed = new Set<string>();
  /** Bytes of the messages other than heartbeats sent to and received from workers (per-step accounting). */
  readonly traffic = { sent: 0, received: 0 };
  readonly peers: PeerRegistry;
  private readonly security: Security;
  /** Its own context when there is an allow-list: a context has one ZAP handler, and it must be this hub's. */
  private readonly context: zmq.Context;
  private readonly router: zmq.Router;
  private readonly refused: (r: Refusal) => void;
  private zap: ZapHandler | undefined;
  private readonly out: SendQueue;
  private pending: Pending | undefined;
  /** The all-reduces of the round in flight (synchronized BatchNormalization), created by its first reduce. */
  private reduction: Reduction | undefined;
  private welcome: WelcomePayload | undefined;
  private maxWorkers = 0;
  private readonly setupFailures: Peer[] = [];
  private timers: NodeJS.Timeout[] = [];
  private joinWaiters: (() => void)[] = [];
  private loop: Promise<void> | undefined;

  constructor(
    private readonly opts: HubOptions,
    private readonly metrics: FleetMetrics,
    private readonly log: Logger,
  ) {
    this.security = opts.security ?? NO_SECURITY;
    this.context = needsZap(this.security) ? new zmq.Context() : zmq.context;
    this.router = new zmq.Router({
      linger: 0,
      mandatory: false,
      context: this.context,
      ...serverSocketOptions(this.security),
    });
    // Refused peers retry every 100 ms: one log line per peer and reason a minute, every refusal counted.
    this.refused = refusalReporter(log, opts.now, 60_000, () =>
      metrics.rejectedMessages.inc({ code: 'FLEET_ERR_AUTH' }),
    );
    if (this.security.keys) reportHandshakeRefusals(this.router, this.refused);
    this.out = new SendQueue(this.router, (n) => {
      metrics.bytesSent.inc({ peer: 'worker' }, n);
    });
    this.peers = new PeerRegistry((peer, from, reason) => {
      metrics.workerUp.set({ worker: String(peer.rank) }, peer.state === 'HEALTHY' ? 1 : 0);
      metrics.workersConnected.set(this.peers.inState('HEALTHY').length);
      if (peer.state === 'LOST') {
        if (from === 'JOINING') this.setupFailures.push(peer);
        for (const w of this.joinWaiters.splice(0)) w();
        log.error(`worker ${peer.rank} (pid ${peer.pid} on ${peer.host}) lost: ${reason}`);
        this.pending?.peerLost(peer, reason);
      } else log.info(`worker ${peer.rank}: ${from} -> ${peer.state} (${reason})`);
    });
  }

  /** Binds the socket and starts receiving; resolves with the bound endpoint. */
  async bind(): Promise<string> {
    this.log.info(describeSecurity(this.security));
    // The ZAP handler must answer before the first handshake; with an allow-list, none gets through without it.
    this.zap = await startAuthenticator(this.context, this.security, this.refused);
    await this.router.bind(this.opts.bind);
    this.loop = this.receiveLoop();
    this.timers.push(setInterval(() => this.checkLiveness(), Math.min(200, this.opts.heartbeatIntervalMs)));
    this.timers.push(
      setInterval(() => this.broadcast({ kind: 'heartbeat', sentAtMs: Date.now() }), this.opts.heartbeatIntervalMs),
    );
    return this.router.lastEndpoint ?? this.opts.bind;
  }

  /**
   * Opens the door: from now on up to `maxWorkers` live workers are admitted at any time (elastic
   * membership), each welcomed with `payload`; resolves once `count` are healthy.
   */
  async admit(count: number, payload: WelcomePayload, timeoutMs: number, maxWorkers = count): Promise<Peer[]> {
    this.welcome = payload;
    this.maxWorkers = maxWorkers;
    await this.waitForHealthy(count, timeoutMs, 'to join');
    return this.peers.inState('HEALTHY');
  }

  /** Waits until at least `count` workers are healthy; throws FLEET_ERR_WORKER_LOST on timeout or a failed setup. */
  async waitForHealthy(count: number, timeoutMs: number, why: string): Promise<void> {
    const deadline = this.opts.now() + timeoutMs;
    const failuresBefore = this.setupFailures.length;
    while (this.peers.inState('HEALTHY').length < count) {
      const failed = this.setupFailures[failuresBefore];
      if (failed)
        throw fleetError('HUB_JOIN_FAILED', {
          rank: failed.rank,
          pid: failed.pid,
          host: failed.host,
          reason: failed.lostReason,
        });
      const left = deadline - this.opts.now();
      if (left <= 0) {
        throw fleetError('HUB_HEALTHY_TIMEOUT', {
          count,
          why,
          timeoutMs,
          received: this.peers.inState('HEALTHY').length,
        });
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.joinWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a message to one worker. */
  send(peer: Peer, msg: Outbound): Promise<void> {
    const frames = [peer.routingId, ...encodeMessage(msg)];
    if (msg.kind !== 'heartbeat') this.traffic.sent += frameBytes(frames);
    return this.out.send(frames);
  }

  /** Sends one request per participant and collects every reply, validated; throws if one is lost. */
  async collect<K extends ReplyKind>(
    kind: K,
    id: number,
    participants: readonly Peer[],
    request: (peer: Peer, i: number) => Promise<void>,
    validate: (peer: Peer, msg: MessageOf<K>) => void,
    /** Optional deadline in ms: then the replies so far are returned and the rest are stragglers. */
    deadlineMs = 0,
  ): Promise<Map<string, MessageOf<K>>> {
    const lost = participants.find((p) => p.state !== 'HEALTHY');
    if (lost) throw fleetError('HUB_PARTICIPANT_LOST', { rank: lost.rank, state: lost.state, kind, id });
    const collector = new Collector<K>(kind, id, participants, validate);
    this.pending = collector;
    this.computed.clear();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.all(participants.map((p, i) => request(p, i)));
      if (deadlineMs > 0)
        timer = setInterval(() => {
          if (collector.expire()) clearInterval(timer);
        }, deadlineMs);
      return await collector.done;
    } finally {
      if (timer) clearInterval(timer);
      this.pending = undefined;
      this.reduction = undefined;
    }
  }

  /** True when `peer` said it computed the round being collected. */
  hasComputed(peer: Peer): boolean {
    return this.computed.has(peer.id);
  }

  /** Tells every live worker training is over, then closes the socket. */
  async close(reason: string, ok: boolean): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    const live = this.peers.all().filter((p) => p.state === 'HEALTHY' || p.state === 'JOINING');
    await Promise.all(live.map((p) => this.send(p, { kind: 'done', reason, ok }).catch(() => {})));
    // A peer may have been lost while the done messages were sent: only live ones become DONE.
    for (const p of live) if (p.state === 'HEALTHY' || p.state === 'JOINING') this.peers.transition(p, 'DONE', reason);
    // Give ZeroMQ a moment to flush the done messages before the socket goes away.
    await new Promise((r) => setTimeout(r, 100));
    this.out.close();
    this.router.close();
    await this.zap?.close();
    await this.loop?.catch(() => {});
  }

  /**
   * A participant answered the request in flight with invalid data. It may still send a valid reply
   * (the bad one is simply rejected), but if none comes within the heartbeat timeout it is evicted as
   * lost, so a worker that keeps computing garbage cannot stall the round forever.
   */
  private strike(peer: Peer, pending: Pending, err: FleetError): void {
    const t = setTimeout(() => {
      if (this.pending === pending && pending.waitingFor(peer) && peer.state === 'HEALTHY') {
        this.peers.transition(
          peer,
          'LOST',
          `sent an invalid ${pending.kind} (${err.code}: ${err.message}) and no valid one within ${this.opts.heartbeatTimeoutMs} ms`,
        );
      }
    }, this.opts.heartbeatTimeoutMs);
    t.unref();
  }

  /**
   * A message refused for its tensors (an int32 gradient, two reduce vectors) that answers the request in
   * flight counts as a strike, as one refused by the validator does: it must not stall the round either.
   */
  private strikeRefused(peer: Peer, header: Header<MessageKind>, err: FleetError): void {
    const pending = this.pending;
    if (!pending || !pending.waitingFor(peer) || err.code === 'FLEET_ERR_STALE_ROUND') return;
    const id = replyIdOf(header);
    const answers =
      id !== undefined && header.kind !== 'reduce'
        ? header.kind === pending.kind && id === pending.id
        : header.kind === 'reduce' && pending.kind === 'stepped' && header.roundId === pending.id;
    if (answers) this.strike(peer, pending, err);
  }

  private broadcast(header: Header<'heartbeat'>): void {
    for (const p of this.peers.inState('HEALTHY')) void this.send(p, header).catch(() => {});
  }

  private checkLiveness(): void {
    const now = this.opts.now();
    for (const p of this.peers.inState('HEALTHY')) {
      if (now - p.lastSeenMs > this.opts.heartbeatTimeoutMs)
        this.peers.transition(
          p,
          'LOST',
          `no message for ${now - p.lastSeenMs} ms (timeout ${this.opts.heartbeatTimeoutMs} ms)`,
        );
    }
    // A joining worker is loading the job and its data, which can block its event loop for a while,
    // so it gets the setup timeout instead of the heartbeat timeout.
    for (const p of this.peers.inState('JOINING')) {
      if (now - p.lastSeenMs > this.opts.setupTimeoutMs)
        this.peers.transition(
          p,
          'LOST',
          `not ready ${now - p.lastSeenMs} ms after welcome (setup timeout ${this.opts.setupTimeoutMs} ms)`,
        );
    }
  }

  private async receiveLoop(): Promise<void> {
    for await (const [routingId, ...frames] of this.router) {
      if (routingId === undefined) continue;
      const bytes = frameBytes([routingId, ...frames]);
      this.metrics.bytesReceived.inc({ peer: 'worker' }, bytes);
      const peer = this.peers.get(routingId);
      let msg: Message | undefined;
      try {
        msg = decodeMessage(frames);
        if (msg.kind !== 'heartbeat') this.traffic.received += bytes;
        this.dispatch(routingId, peer, msg);
      } catch (err) {
        if (!isFleetError(err)) throw err;
        this.metrics.rejectedMessages.inc({ code: err.code });
        const from = peer ? `worker ${peer.rank}` : `unknown peer ${routingId.toString('hex')}`;
        this.log.warn(`rejected a message from ${from}: ${err.code}: ${err.message}`);
        // A refused reduce names its round, so the worker waiting on the sum stops waiting.
        // A message refused for its tensors still has a valid header: it names what it answers.
        const about = msg ?? refusedHeader(err);
        if (msg === undefined && about !== undefined && peer !== undefined) this.strikeRefused(peer, about, err);
        const reply = about?.kind === 'reduce' ? { inReplyTo: 'reduce', replyId: about.roundId } : {};
        void this.out
          .send([routingId, ...encodeMessage({ kind: 'error', code: err.code, message: err.message, ...reply })])
          .catch(() => {});
      }
    }
  }

  private dispatch(routingId: Buffer, peer: Peer | undefined, msg: Message): void {
    // A lost (or finished) worker that says hello again rejoins as a new member.
    if (peer === undefined || (msg.kind === 'hello' && (peer.state === 'LOST' || peer.state === 'DONE'))) {
      if (msg.kind !== 'hello') throw fleetError('HUB_NOT_HELLO', { kind: msg.kind, peer: routingId.toString('hex') });
      this.onHello(routingId, msg);
      return;
    }
    if (msg.kind === 'hello' && peer.state === 'JOINING') return; // a repeated hello while it sets up
    // A finished worker's last heartbeat can cross the `done` we sent it: expected, not an attack.
    if (msg.kind === 'heartbeat' && peer.state === 'DONE') return;
    if (peer.state === 'LOST' || peer.state === 'DONE')
      throw fleetError('HUB_PEER_NOT_LIVE', { kind: msg.kind, rank: peer.rank, state: peer.state });
    peer.lastSeenMs = this.opts.now();
    switch (msg.kind) {
      case 'stepped':
      case 'pulled':
      case 'evalResult': {
        const pending = this.pending;
        const id = replyIdOf(msg) as number;
        if (!pending || pending.kind !== msg.kind) {
          const doing = pending ? `collecting ${pending.kind} ${pending.id}` : 'idle';
          throw fleetError('HUB_UNEXPECTED_REPLY', { kind: msg.kind, doing, id });
        }
        try {
          pending.offer(peer, msg, id);
        } catch (err) {
          if (
            id === pending.id &&
            pending.waitingFor(peer) &&
            isFleetError(err) &&
            err.code !== 'FLEET_ERR_STALE_ROUND'
          )
            this.strike(peer, pending, err);
          throw err;
        }
        return;
      }
      case 'reduce':
        this.onReduce(peer, msg);
        return;
      case 'computed': {
        const pending = this.pending;
        if (!pending || pending.kind !== 'stepped' || pending.id !== msg.roundId) {
          throw fleetError('HUB_COMPUTED_STALE', {
            roundId: msg.roundId,
            pending: pending ? `${pending.kind} ${pending.id}` : 'idle',
          });
        }
        this.computed.add(peer.id);
        return;
      }
      case 'heartbeat':
        return;
      case 'ready':
        if (peer.state !== 'JOINING') throw fleetError('HUB_READY_TWICE', { rank: peer.rank, state: peer.state });
        peer.tensorCounts.push(msg.numTensors);
        peer.peerEndpoint = msg.peerEndpoint;
        if (msg.peerKey !== undefined) peer.peerKey = msg.peerKey;
        this.peers.transition(peer, 'HEALTHY', 'ready');
        for (const w of this.joinWaiters.splice(0)) w();
        return;
      case 'error':
        this.log.warn(`worker ${peer.rank} reported ${msg.code}: ${msg.message}`);
        // A worker that cannot produce a finite result for the request in flight fails that request
        // (the model is never updated with it) instead of leaving it waiting forever.
        if (this.pending && msg.replyId === this.pending.id && msg.inReplyTo === REQUEST_OF[this.pending.kind]) {
          const messageId = msg.code === 'FLEET_ERR_NONFINITE' ? 'HUB_ANSWER_NONFINITE' : 'HUB_ANSWER_FAILED';
          this.pending.fail(
            peer,
            fleetError(messageId, {
              rank: peer.rank,
              request: msg.inReplyTo,
              replyId: msg.replyId,
              code: msg.code,
              message: msg.message,
            }),
          );
          return;
        }
        // A worker that fails to set up (bad job file, data, backend) will not recover: stop waiting for it.
        // A late answer to a request of an earlier task (a cluster that outlives calls) is not that.
        const aboutRequest = msg.inReplyTo !== undefined && msg.inReplyTo !== 'welcome';
        if (peer.state === 'JOINING' && !aboutRequest)
          this.peers.transition(peer, 'LOST', `${msg.code}: ${msg.message}`);
        return;
      case 'hello':
      case 'welcome':
      case 'round':
      case 'evaluate':
      case 'reduced':
      case 'done':
      case 'commit':
      case 'pull':
      case 'scatter': // worker-to-worker kinds travel on the exchange's own links
      case 'gather':
        throw fleetError('HUB_UNEXPECTED_KIND', { rank: peer.rank, kind: msg.kind });
      default: {
        const never: never = msg;
        throw fleetError('HUB_UNHANDLED_KIND', { kind: never });
      }
    }
  }

  /**
   * A participant's vector for an all-reduce of the round in flight; when it completes the set, the
   * sum goes to every participant. Non-finite values fail the round as diverged; other bad vectors
   * are refused and count as a strike, like bad gradients.
   */
  private onReduce(peer: Peer, msg: MessageOf<'reduce'>): void {
    const pending = this.pending;
    if (!pending || pending.kind !== 'stepped' || pending.id !== msg.roundId) {
      const inFlight = pending?.kind === 'stepped' ? `round ${pending.id}` : 'none now';
      throw fleetError('HUB_REDUCE_STALE', { inFlight, seq: msg.seq, roundId: msg.roundId });
    }
    if (!pending.waitingFor(peer)) throw fleetError('HUB_REDUCE_NOT_WAITING', { round: pending.id, rank: peer.rank });
    if (this.reduction?.roundId !== pending.id) this.reduction = new Reduction(pending.id, pending.participants);
    let sum: Float32Array | undefined;
    try {
      sum = this.reduction.offer(peer, msg.seq, msg.groups.local[0]);
    } catch (err) {
      if (isFleetError(err, 'FLEET_ERR_NONFINITE'))
        pending.fail(
          peer,
          fleetError('HUB_REDUCE_NONFINITE', { rank: peer.rank, round: pending.id, reason: err.message }),
        );
      else if (isFleetError(err) && err.code !== 'FLEET_ERR_STALE_ROUND') this.strike(peer, pending, err);
      throw err;
    }
    if (!sum) return;
    const total: WireTensor = { name: 'sum', dtype: 'float32', shape: [sum.length], data: sum };
    const reduced = { kind: 'reduced' as const, roundId: pending.id, seq: msg.seq, groups: { sum: [total] as const } };
    for (const p of this.reduction.members()) void this.send(p, reduced).catch(() => {});
  }

  private onHello(routingId: Buffer, msg: MessageOf<'hello'>): void {
    // First: a peer without the token learns nothing about admission. Throws FLEET_ERR_AUTH, which the
    // receive loop logs ("rejected a message from unknown peer …"), counts and answers.
    checkHello(msg.token, this.security.joinToken, `pid ${msg.pid} on ${msg.host}`);
    const welcome = this.welcome;
    const live = this.peers.inState('HEALTHY').length + this.peers.inState('JOINING').length;
    if (!welcome || live >= this.maxWorkers) {
      throw fleetError('HUB_FULL', { max: this.maxWorkers, live, pid: msg.pid, host: msg.host });
    }
    const peer = this.peers.admit(routingId, { pid: msg.pid, host: msg.host, backend: msg.backend }, this.opts.now());
    this.log.info(`worker ${peer.rank} joined: pid ${msg.pid} on ${msg.host}, backend ${msg.backend}`);
    const header = {
      kind: 'welcome' as const,
      rank: peer.rank,
      jobPath: welcome.jobPath,
      ...(welcome.jobArgs && { jobArgs: welcome.jobArgs }),
      modelConfig: welcome.modelConfig,
      compile: welcome.compile,
      backend: welcome.backend,
      heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
      optimizer: welcome.optimizer,
    };
    peer.weightsVersion = 0;
    void this.send(peer, {
      ...header,
      groups: { weights: welcome.weights, ...(welcome.data && { data: welcome.data }) },
    });
  }
}

/** The request each reply kind answers, as an `error`'s inReplyTo names it. */
const REQUEST_OF = { stepped: 'round', evalResult: 'evaluate', pulled: 'pull' } as const satisfies Record<
  ReplyKind,
  MessageKind
>;

/** The request id a reply (or a reduce) carries, if it is one. */
function replyIdOf(h: Header<MessageKind>): number | undefined {
  switch (h.kind) {
    case 'stepped':
    case 'reduce':
      return h.roundId;
    case 'evalResult':
      return h.evalId;
    case 'pulled':
      return h.pullId;
    default:
      return undefined;
  }
}
