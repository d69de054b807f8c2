/**
 * The worker-to-worker links. Each worker binds one ROUTER that its peers' DEALERs connect to, and
 * connects one DEALER to each other member. A membership (decided by the coordinator) names a session,
 * this worker's rank and every member's endpoint; a message is taken only when its header's session is
 * the current one, its sender is a member other than this worker, and the sender's routing id says the
 * same (`<session>/<rank>`). With CURVE on (the worker has a key pair), the ROUTER is a CURVE server
 * whose ZAP allow-list is the current members' keys (the coordinator admitted each under its own
 * allow-list), and each DEALER authenticates the peer it dials by that peer's public key.
 */
import * as zmq from 'zeromq';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';
import { isFleetError, type FleetError } from '../../shared/runtime/errors.ts';
import {
  decodeMessage,
  encodeMessage,
  type Header,
  type MessageOf,
  type WireTensor,
} from '../../shared/wire/protocol.ts';
import { NO_SECURITY, ZAP_DOMAIN, ZapHandler, canonicalKey, type Security } from '../../shared/wire/security/index.ts';
import { SendQueue, frameBytes } from '../../shared/wire/transport.ts';

/** A member of the exchange: its rank, the endpoint its ROUTER listens on, and its CURVE public key. */
export interface Member {
  readonly rank: number;
  readonly endpoint: string;
  readonly publicKey?: string;
}

/** Who exchanges with whom in one membership; `session` changes whenever the members do. */
export interface Membership {
  readonly session: string;
  readonly rank: number;
  readonly members: readonly Member[];
}

/** A peer message the mesh accepted, with the sender's rank. */
export type PeerMessage = MessageOf<'scatter'> | MessageOf<'gather'>;
/** The header of a peer message; its values travel as the message's `values` group. */
export type PeerHeader = Omit<Header<'scatter'>, 'kind'> & { readonly kind: PeerMessage['kind'] };

/** Byte counts and rejections, for metrics. */
export interface MeshObserver {
  readonly bytes?: (direction: 'sent' | 'received', n: number) => void;
  readonly rejected?: (err: FleetError) => void;
}

/** Options of `PeerMesh.open`. */
export interface MeshOptions {
  /** Host or interface to bind on; the port is chosen by the system. */
  readonly host: string;
  readonly security?: Security;
  readonly observer?: MeshObserver;
  /** Most bytes held for a session not known yet (default 256 MiB); beyond it such messages are refused. */
  readonly maxHeldBytes?: number;
}

/** Default of MeshOptions.maxHeldBytes. */
export const DEFAULT_MAX_HELD_BYTES = 256 << 20;

/** One worker's end of the worker-to-worker links. */
export class PeerMesh {
  private membership: Membership | undefined;
  private readonly dealers = new Map<number, { socket: zmq.Dealer; queue: SendQueue }>();
  private handler: (msg: PeerMessage) => void = () => {};
  /** Messages of a session this worker has not been told of yet (a faster peer got its round first). */
  private held: { readonly id: string; readonly msg: PeerMessage; readonly bytes: number }[] = [];
  private heldBytes = 0;
  /** Bytes sent and received per round, until `takeBytes` reads them. */
  private readonly perRound = new Map<number, { sent: number; received: number }>();
  private readonly loop: Promise<void>;

  private constructor(
    private readonly router: zmq.Router,
    /** The endpoint peers connect to. */
    readonly endpoint: string,
    private readonly opts: MeshOptions,
    private readonly allowed: Map<string, string>,
    private readonly zap: ZapHandler | undefined,
  ) {
    this.loop = this.receive();
  }

  /** Binds this worker's ROUTER on `opts.host` at a free port. */
  static async open(opts: MeshOptions): Promise<PeerMesh> {
    const sec = opts.security ?? NO_SECURITY;
    const context = new zmq.Context();
    // With CURVE, only the current members' keys complete a handshake (the allow-list follows membership).
    const allowed = new Map<string, string>();
    const zap = sec.keys ? await ZapHandler.startWith(context, allowed, () => {}) : undefined;
    const router = new zmq.Router({
      context,
      linger: 0,
      maxMessageSize: sec.maxMessageSize,
      ...(sec.keys && {
        curveServer: true,
        curveSecretKey: sec.keys.secretKey,
        zapDomain: ZAP_DOMAIN,
        zapEnforceDomain: true,
      }),
    });
    await router.bind(`tcp://${opts.host}:*`);
    const endpoint = router.lastEndpoint;
    if (!endpoint) throw fleetError('MESH_NO_ENDPOINT', { host: opts.host });
    return new PeerMesh(router, endpoint, opts, allowed, zap);
  }

  /** Routes every accepted peer message to `handler` (one at a time, in arrival order). */
  onMessage(handler: (msg: PeerMessage) => void): void {
    this.handler = handler;
  }

  /** The current membership, if any. */
  get current(): Membership | undefined {
    return this.membership;
  }

  /** Switches to a new membership: links to members that left are closed, new ones dialled. */
  setMembership(m: Membership): void {
    const sec = this.opts.security ?? NO_SECURITY;
    for (const d of this.dealers.values()) {
      d.queue.close();
      d.socket.close();
    }
    this.dealers.clear();
    this.membership = m;
    this.allowed.clear();
    for (const p of m.members)
      if (p.publicKey && p.rank !== m.rank) this.allowed.set(canonicalKey(p.publicKey), `worker ${p.rank}`);
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const h of held) {
      this.deliver(() => {
        const ok = this.checkMember(h.id, h.msg);
        this.count(ok.roundId).received += h.bytes;
        return ok;
      });
    }
    for (const peer of m.members) {
      if (peer.rank === m.rank) continue;
      const curve = sec.keys && peer.publicKey;
      const socket = new zmq.Dealer({
        linger: 0,
        routingId: `${m.session}/${m.rank}`,
        maxMessageSize: sec.maxMessageSize,
        ...(curve && {
          curveServerKey: peer.publicKey,
          curvePublicKey: sec.keys.publicKey,
          curveSecretKey: sec.keys.secretKey,
        }),
      });
      socket.connect(peer.endpoint);
      this.dealers.set(peer.rank, {
        socket,
        queue: new SendQueue(socket, (n) => this.opts.observer?.bytes?.('sent', n)),
      });
    }
  }

  /** Sends one peer message to member `rank`; resolves once ZeroMQ has queued it. */
  send(rank: number, header: PeerHeader, data: Float32Array): Promise<void> {
    const link = this.dealers.get(rank);
    if (!link) return Promise.reject(fleetError('MESH_UNKNOWN_RANK', { received: rank }));
    const tensor: WireTensor = { name: 'values', dtype: 'float32', shape: [data.length], data };
    const frames = encodeMessage({ ...header, groups: { values: [tensor] } });
    this.count(header.roundId).sent += frameBytes(frames);
    return link.queue.send(frames);
  }

  /** The bytes of round `roundId`'s messages so far, sent and received; forgets that round and older ones. */
  takeBytes(roundId: number): { sent: number; received: number } {
    const got = this.perRound.get(roundId) ?? { sent: 0, received: 0 };
    for (const r of this.perRound.keys()) if (r <= roundId) this.perRound.delete(r);
    return got;
  }

  private count(roundId: number): { sent: number; received: number } {
    let c = this.perRound.get(roundId);
    if (!c) this.perRound.set(roundId, (c = { sent: 0, received: 0 }));
    return c;
  }

  /** Closes every link; the receive loop ends. */
  async close(): Promise<void> {
    for (const d of this.dealers.values()) {
      d.queue.close();
      d.socket.close();
    }
    this.dealers.clear();
    this.router.close();
    await this.loop.catch(() => {});
    await this.zap?.close();
  }

  private async receive(): Promise<void> {
    try {
      for await (const [id, ...frames] of this.router) {
        const bytes = frameBytes(frames) + (id?.byteLength ?? 0);
        this.opts.observer?.bytes?.('received', bytes);
        this.deliver(() => this.admit(String(id), frames, bytes));
      }
    } catch (err) {
      // A closed socket ends the loop; anything else is a bug and must surface.
      if (!this.router.closed) throw err;
    }
  }

  private deliver(take: () => PeerMessage | undefined): void {
    try {
      const msg = take();
      if (msg) this.handler(msg);
    } catch (err) {
      if (!isFleetError(err)) throw err;
      this.opts.observer?.rejected?.(err);
    }
  }

  /** Decodes one inbound message; one of another session waits (bounded) for the next membership. */
  private admit(routingId: string, frames: Buffer[], bytes: number): PeerMessage | undefined {
    const msg = decodeMessage(frames);
    if (msg.kind !== 'scatter' && msg.kind !== 'gather') throw fleetError('MESH_NOT_PEER_KIND', { received: msg.kind });
    if (msg.session === this.membership?.session) {
      const ok = this.checkMember(routingId, msg);
      this.count(ok.roundId).received += bytes;
      return ok;
    }
    // A peer's link always names the session and rank it speaks for: a message that disagrees is no peer's.
    if (
      routingId !== `${msg.session}/${msg.from}` ||
      this.heldBytes + bytes > (this.opts.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES)
    ) {
      throw fleetError('MESH_SESSION', { want: this.membership?.session ?? '(none yet)', received: msg.session });
    }
    this.held.push({ id: routingId, msg, bytes });
    this.heldBytes += bytes;
    return undefined;
  }

  /** Checks a message of the current session against its members. */
  private checkMember(routingId: string, msg: PeerMessage): PeerMessage {
    const m = this.membership;
    if (!m || msg.session !== m.session)
      throw fleetError('MESH_SESSION', { want: m?.session ?? '(none yet)', received: msg.session });
    const member = m.members.some((p) => p.rank === msg.from && p.rank !== m.rank);
    if (!member || routingId !== `${m.session}/${msg.from}`) {
      throw fleetError('MESH_NOT_MEMBER', { session: m.session, from: msg.from, link: routingId });
    }
    return msg;
  }
}
