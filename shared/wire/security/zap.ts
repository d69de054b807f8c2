/**
 * The coordinator's CURVE allow-list, as a ZAP handler (ZeroMQ RFC 27). zeromq.js has no ZAP API, but
 * libzmq asks whatever REP socket is bound at inproc://zeromq.zap.01 in the socket's context, once per
 * CURVE handshake, before any message gets through. The handler answers 200 for an allowed client key
 * and 400 otherwise; a refused client never completes the handshake, so its traffic never reaches the
 * ROUTER. One handler per context: give each coordinator socket its own `zmq.Context`. The server socket
 * sets `zapEnforceDomain`, so a handshake that finds no handler is refused instead of waved through.
 *
 * Concurrency: one Reply socket, one receive loop, each request answered before the next is read.
 */
import * as zmq from 'zeromq';
import type { PublicKey } from './keys.ts';
import { z85Decode, z85Encode } from './z85.ts';

/** Where libzmq looks for the ZAP handler of a context. */
export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/** The verdict on one handshake. */
export interface ZapDecision {
  readonly allowed: boolean;
  /** The peer's IP address as libzmq reports it. */
  readonly address: string;
  readonly mechanism: string;
  /** The client's public key, Z85, when it sent one. */
  readonly key?: string;
  /** The allowed key's name (its .pub file name) when allowed. */
  readonly name?: string;
  /** Why, in words, for the log. */
  readonly reason: string;
}

/** Decides one ZAP request (the frames after the REP envelope); pure, for tests and the handler. */
export function decideZap(
  frames: readonly Buffer[],
  allowed: ReadonlyMap<string, string>,
): ZapDecision & { readonly requestId: Buffer; readonly status: '200' | '400' | '500' } {
  const [version, requestId = Buffer.alloc(0), , address = Buffer.alloc(0), , mechanism = Buffer.alloc(0), credential] =
    frames;
  const base = { requestId, address: address.toString(), mechanism: mechanism.toString() };
  if (version?.toString() !== '1.0' || frames.length < 6)
    return {
      ...base,
      allowed: false,
      status: '500',
      reason: `malformed ZAP request (version ${JSON.stringify(version?.toString())}, ${frames.length} frames)`,
    };
  if (base.mechanism !== 'CURVE')
    return { ...base, allowed: false, status: '400', reason: `mechanism ${base.mechanism} is not allowed; only CURVE` };
  if (credential === undefined || credential.byteLength !== 32)
    return {
      ...base,
      allowed: false,
      status: '400',
      reason: `expected a 32-byte CURVE public key, received ${credential?.byteLength ?? 0} bytes`,
    };
  const key = z85Encode(credential);
  const name = allowed.get(key);
  if (name === undefined)
    return {
      ...base,
      key,
      allowed: false,
      status: '400',
      reason: `key is not in the allow-list (${allowed.size} allowed key${allowed.size === 1 ? '' : 's'})`,
    };
  return { ...base, key, name, allowed: true, status: '200', reason: `allowed as "${name}"` };
}

/** A key in canonical Z85 (decode then encode), so equivalent spellings cannot slip through a comparison. */
export function canonicalKey(z85: string): string {
  return z85Encode(z85Decode(z85));
}

/** A running ZAP handler for one context. */
export class ZapHandler {
  private readonly loop: Promise<void>;

  private constructor(
    private readonly socket: zmq.Reply,
    allowed: ReadonlyMap<string, string>,
    onDecision: (d: ZapDecision) => void,
  ) {
    this.loop = this.serve(allowed, onDecision);
  }

  /** Binds the handler in `context` (before the server socket binds); `onDecision` hears every verdict. */
  static async start(
    context: zmq.Context,
    allowed: readonly PublicKey[],
    onDecision: (d: ZapDecision) => void,
  ): Promise<ZapHandler> {
    return ZapHandler.startWith(context, new Map(allowed.map((k) => [canonicalKey(k.publicKey), k.name])), onDecision);
  }

  /** As `start`, over a map (canonical Z85 key → name) the caller may change later: a worker's current peers. */
  static async startWith(
    context: zmq.Context,
    byKey: ReadonlyMap<string, string>,
    onDecision: (d: ZapDecision) => void,
  ): Promise<ZapHandler> {
    const socket = new zmq.Reply({ context, linger: 0 });
    await socket.bind(ZAP_ENDPOINT);
    return new ZapHandler(socket, byKey, onDecision);
  }

  /** Stops answering. Close the server socket first; with `zapEnforceDomain` (which serverSocketOptions sets
   * whenever there is an allow-list) a handshake that finds no handler fails, so closing fails closed. */
  async close(): Promise<void> {
    this.socket.close();
    await this.loop.catch(() => {});
  }

  private async serve(allowed: ReadonlyMap<string, string>, onDecision: (d: ZapDecision) => void): Promise<void> {
    for await (const frames of this.socket) {
      const d = decideZap(frames, allowed);
      await this.socket.send([
        '1.0',
        d.requestId,
        d.status,
        d.allowed ? 'OK' : d.reason,
        d.name ?? '',
        Buffer.alloc(0),
      ]);
      onDecision(d);
    }
  }
}

/** A failed handshake as a socket's monitor reports it. */
export interface HandshakeFailure {
  /** auth: refused by ZAP; protocol: CURVE failed (a wrong server key, or no CURVE at all); other: the connection broke. */
  readonly kind: 'auth' | 'protocol' | 'other';
  readonly endpoint: string;
  readonly detail: string;
}

/** Reports every failed handshake on `socket` until it closes. */
export function watchHandshakes(socket: zmq.Socket, report: (f: HandshakeFailure) => void): void {
  const events = socket.events;
  events.on('handshake:error:auth', (e) =>
    report({ kind: 'auth', endpoint: e.address, detail: `ZAP status ${e.error.status}` }),
  );
  events.on('handshake:error:protocol', (e) => report({ kind: 'protocol', endpoint: e.address, detail: e.error.code }));
  events.on('handshake:error:other', (e) =>
    report({ kind: 'other', endpoint: e.address, detail: e.error.code || e.error.message }),
  );
}
