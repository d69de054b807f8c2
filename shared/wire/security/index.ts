/**
 * Transport security of the coordinator-worker link: CURVE encryption and authentication of the ZeroMQ
 * traffic, a key allow-list enforced by ZAP before any message gets through, a join token checked on
 * `hello`, and a cap on the size of an inbound frame. Parsed once from flags by `loadSecurity`, frozen,
 * and turned into socket options here; the Hub and the worker never look at key files themselves.
 *
 *   coordinator: --curve-secret-key coordinator.key [--allow-keys DIR] [--join-token-file FILE]
 *   worker:      --curve-server-key coordinator.pub [--curve-secret-key worker.key] [--join-token-file FILE]
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as zmq from 'zeromq';
import { FleetError } from '../../runtime/errors.ts';
import { fleetError } from '../../runtime/catalogue/index.ts';
import type { Logger } from '../../runtime/log.ts';
import { checkPrivate, loadAllowedKeys, loadKeyPair, loadPublicKey, type KeyPair, type PublicKey } from './keys.ts';
import { ZapHandler, watchHandshakes, type HandshakeFailure, type ZapDecision } from './zap.ts';

export {
  derivePublicKey,
  loadAllowedKeys,
  loadKeyPair,
  loadPublicKey,
  writeKeyPair,
  type KeyPair,
  type PublicKey,
} from './keys.ts';
export {
  ZAP_ENDPOINT,
  ZapHandler,
  canonicalKey,
  decideZap,
  watchHandshakes,
  type HandshakeFailure,
  type ZapDecision,
} from './zap.ts';

/** Default cap on one inbound ZeroMQ frame (the header, or one tensor), in bytes: 1 GiB, a 268M-parameter
 * float32 tensor. libzmq drops the connection of a peer that sends a bigger frame. */
export const DEFAULT_MAX_MESSAGE_SIZE = 2 ** 30;

/** ZAP domain the coordinator's socket announces (RFC 27 wants one; it shows in ZAP requests). */
export const ZAP_DOMAIN = 'tensorfleet';

/** Join tokens are 16 to 1024 characters (the hello schema caps `token` at 1024). */
const TOKEN_LENGTH = { min: 16, max: 1024 } as const;

/** Security flags as given on the command line (file paths); see `loadSecurity`. */
export interface SecurityFlags {
  /** This process's key pair file, NAME.key. Coordinator: turns CURVE on. Worker: its client identity. */
  readonly curveSecretKey?: string;
  /** Worker: the coordinator's public key file; turns CURVE on. */
  readonly curveServerKey?: string;
  /** Coordinator: folder of NAME.pub files; only those keys complete the handshake. */
  readonly allowKeys?: string;
  /** A file holding the join token (both roles). */
  readonly joinTokenFile?: string;
  /** Largest inbound frame in bytes (-1: unlimited). */
  readonly maxMessageSize?: number;
}

/** Loaded, checked and frozen security settings of one process. */
export interface Security {
  /** This process's key pair; unset: no CURVE (plain TCP, the NULL mechanism). */
  readonly keys?: KeyPair;
  /** Worker: the coordinator's public key. */
  readonly serverKey?: PublicKey;
  /** Coordinator: the keys ZAP admits; unset: any client that knows the server key completes CURVE. */
  readonly allowedKeys?: readonly PublicKey[];
  /** The join token: the coordinator requires it in hello, the worker sends it. */
  readonly joinToken?: string;
  /** Largest inbound frame in bytes, -1 for unlimited. */
  readonly maxMessageSize: number;
}

/** No encryption, no authentication, the default frame cap: what runs without security flags. */
export const NO_SECURITY: Security = Object.freeze({ maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE });

/** Reads and cross-checks the security flags of one role; every problem is a FLEET_ERR_CONFIG. */
export function loadSecurity(role: 'coordinator' | 'worker', flags: SecurityFlags): Security {
  const maxMessageSize = flags.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  if (!Number.isSafeInteger(maxMessageSize) || (maxMessageSize < 1 && maxMessageSize !== -1)) {
    throw fleetError('SECURITY_MAX_MESSAGE_SIZE', { received: maxMessageSize });
  }
  const joinToken = flags.joinTokenFile === undefined ? undefined : readToken(flags.joinTokenFile);
  if (role === 'coordinator') {
    if (flags.curveServerKey !== undefined)
      throw fleetError('SECURITY_SERVER_KEY_ON_COORDINATOR', { file: flags.curveServerKey });
    if (flags.allowKeys !== undefined && flags.curveSecretKey === undefined)
      throw fleetError('SECURITY_ALLOW_KEYS_ALONE', { dir: flags.allowKeys });
    return Object.freeze({
      maxMessageSize,
      ...(flags.curveSecretKey !== undefined && { keys: loadKeyPair(flags.curveSecretKey) }),
      ...(flags.allowKeys !== undefined && { allowedKeys: Object.freeze(loadAllowedKeys(flags.allowKeys)) }),
      ...(joinToken !== undefined && { joinToken }),
    });
  }
  if (flags.allowKeys !== undefined) throw fleetError('SECURITY_ALLOW_KEYS_ON_WORKER', { dir: flags.allowKeys });
  if (flags.curveSecretKey !== undefined && flags.curveServerKey === undefined) {
    throw fleetError('SECURITY_NO_SERVER_KEY', { file: flags.curveSecretKey });
  }
  if (flags.curveServerKey === undefined)
    return Object.freeze({ maxMessageSize, ...(joinToken !== undefined && { joinToken }) });
  // Without its own key file a worker uses a throwaway key pair: the link is still encrypted and the
  // coordinator still authenticated, but the coordinator can only admit this worker by join token.
  const keys = flags.curveSecretKey !== undefined ? loadKeyPair(flags.curveSecretKey) : ephemeralKeyPair();
  return Object.freeze({
    maxMessageSize,
    keys,
    serverKey: loadPublicKey(flags.curveServerKey),
    ...(joinToken !== undefined && { joinToken }),
  });
}

function ephemeralKeyPair(): KeyPair {
  const { publicKey, secretKey } = zmq.curveKeyPair();
  return { name: 'ephemeral', publicKey, secretKey, file: '(generated at start)' };
}

function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fleetError('SECURITY_NO_TOKEN_FILE', {
      file,
      reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message,
    });
  }
  checkPrivate(file, 'the join token file');
  const token = text.replace(/\r?\n$/, '');
  if (token.length < TOKEN_LENGTH.min || token.length > TOKEN_LENGTH.max || /[\r\n]/.test(token)) {
    const lines = /[\r\n]/.test(token) ? ' over several lines' : '';
    throw fleetError('SECURITY_BAD_TOKEN', {
      file,
      min: TOKEN_LENGTH.min,
      max: TOKEN_LENGTH.max,
      length: token.length,
      lines,
    });
  }
  return token;
}

/** Options for the coordinator's `new zmq.Router({...})`. Give the Router its own context when
 * `needsZap(sec)`, and start the handler in that context before binding (see `startAuthenticator`). */
export function serverSocketOptions(sec: Security): zmq.SocketOptions<zmq.Router> {
  return {
    maxMessageSize: sec.maxMessageSize,
    ...(sec.keys && { curveServer: true, curveSecretKey: sec.keys.secretKey, zapDomain: ZAP_DOMAIN }),
    // Fail closed: with an allow-list, a handshake that finds no ZAP handler is refused.
    ...(sec.allowedKeys && { zapEnforceDomain: true }),
  };
}

/** Options for the worker's `new zmq.Dealer({...})`. */
export function clientSocketOptions(sec: Security): zmq.SocketOptions<zmq.Dealer> {
  return {
    maxMessageSize: sec.maxMessageSize,
    ...(sec.keys &&
      sec.serverKey && {
        curveServerKey: sec.serverKey.publicKey,
        curvePublicKey: sec.keys.publicKey,
        curveSecretKey: sec.keys.secretKey,
      }),
  };
}

/** True when the coordinator must run a ZAP handler (it has an allow-list). */
export function needsZap(sec: Security): boolean {
  return sec.allowedKeys !== undefined;
}

/** Starts the allow-list's ZAP handler in `context` when `sec` has one; refusals go to `refused`. */
export async function startAuthenticator(
  context: zmq.Context,
  sec: Security,
  refused: (r: Refusal) => void,
): Promise<ZapHandler | undefined> {
  if (!sec.allowedKeys) return undefined;
  return ZapHandler.start(context, sec.allowedKeys, (d: ZapDecision) => {
    if (!d.allowed) refused({ via: 'zap', peer: d.address, reason: d.reason, ...(d.key && { key: d.key }) });
  });
}

/**
 * Checks the join token a worker sent in `hello` against the coordinator's; no-op when the coordinator
 * has none. Compares SHA-256 digests with timingSafeEqual, so neither the token nor its length leaks
 * through timing. Throws FLEET_ERR_AUTH; the message never contains either token.
 */
export function checkHello(token: string | undefined, allowedToken: string | undefined, from = 'a worker'): void {
  if (allowedToken === undefined) return;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const same = timingSafeEqual(digest(token ?? ''), digest(allowedToken));
  if (token === undefined || !same) {
    throw fleetError('SECURITY_TOKEN_REFUSED', {
      from,
      received: token === undefined ? 'no token' : 'a different token',
    });
  }
}

/** A peer the coordinator turned away, for the log. */
export interface Refusal {
  /** zap: its key is not allowed; token: its hello had a wrong token; handshake: CURVE failed. */
  readonly via: 'zap' | 'token' | 'handshake';
  /** Who: an address, an endpoint, or "pid N on HOST". */
  readonly peer: string;
  readonly reason: string;
  /** The peer's public key (Z85), when known: what an operator adds to --allow-keys. */
  readonly key?: string;
  /** Refusals like this one that were not logged since the last line. */
  readonly suppressed?: number;
}

const VIA = { zap: 'the key allow-list', token: 'the join token check', handshake: 'the CURVE handshake' } as const;

/** The log line for a refusal, e.g. `refused 127.0.0.1 (CURVE key "…") by the key allow-list: …`. */
export function refusalLine(r: Refusal): string {
  const key = r.key ? ` (CURVE key "${r.key}")` : '';
  const more = r.suppressed ? ` [${r.suppressed} more like this since the last report]` : '';
  return `FLEET_ERR_AUTH: refused ${r.peer}${key} by ${VIA[r.via]}: ${r.reason}${more}`;
}

/** The refusal for a failed handshake seen on the server socket. */
export function handshakeRefusal(f: HandshakeFailure): Refusal {
  const why =
    f.kind === 'auth'
      ? `ZAP refused it (${f.detail})`
      : f.detail === 'ERR_ZMTP_CRYPTOGRAPHIC'
        ? "the peer does not hold the coordinator's public key (ERR_ZMTP_CRYPTOGRAPHIC)"
        : f.detail === 'ERR_ZMTP_MECHANISM_MISMATCH'
          ? 'the peer does not speak CURVE (ERR_ZMTP_MECHANISM_MISMATCH)'
          : f.detail === 'EFAULT'
            ? 'no ZAP handler was there to check its key (EFAULT), so it was refused'
            : f.kind === 'other'
              ? `the handshake did not complete (${f.detail}): a wrong server key or a peer without CURVE, most likely`
              : `CURVE protocol error ${f.detail}`;
  return { via: 'handshake', peer: `a peer on ${f.endpoint}`, reason: why };
}

/** Reports the coordinator socket's failed handshakes as refusals. A ZAP refusal also fails the handshake;
 * the ZAP handler already reported it with the key, so 'auth' failures are not reported twice. */
export function reportHandshakeRefusals(socket: zmq.Socket, refused: (r: Refusal) => void): void {
  watchHandshakes(socket, (f) => {
    if (f.kind !== 'auth') refused(handshakeRefusal(f));
  });
}

/**
 * The worker's side: a ZAP refusal is final (`onRefused` gets a FLEET_ERR_AUTH to stop with), any other
 * failed handshake is logged once as a likely wrong --curve-server-key while libzmq keeps retrying.
 */
export function watchWorkerHandshakes(
  socket: zmq.Socket,
  sec: Security,
  log: Logger,
  onRefused: (err: FleetError) => void,
): void {
  let warned = false;
  watchHandshakes(socket, (f) => {
    if (f.kind === 'auth') {
      onRefused(
        fleetError('SECURITY_KEY_REFUSED', {
          publicKey: sec.keys?.publicKey,
          file: sec.keys?.file,
          detail: f.detail,
          name: sec.keys?.name,
        }),
      );
    } else if (!warned) {
      warned = true;
      log.warn(
        `CURVE handshake with ${f.endpoint || 'the coordinator'} failed (${f.detail}); ` +
          `is --curve-server-key (${sec.serverKey?.file}) the coordinator's public key? ` +
          'Retrying until --coordinator-timeout',
      );
    }
  });
}

/**
 * Logs refusals as warnings, at most one line per (kind, peer, key) per `intervalMs`, counting the rest:
 * a refused ZeroMQ peer reconnects every 100 ms, and the log must not become the attack.
 */
export function refusalReporter(
  log: Logger,
  now: () => number,
  intervalMs = 60_000,
  onRefusal: (r: Refusal) => void = () => {},
): (r: Refusal) => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (r) => {
    onRefusal(r);
    const id = `${r.via}|${r.peer}|${r.key ?? ''}|${r.via === 'handshake' ? r.reason : ''}`;
    const seen = last.get(id);
    const t = now();
    if (seen && t - seen.at < intervalMs) {
      seen.suppressed++;
      return;
    }
    log.warn(refusalLine({ ...r, ...(seen?.suppressed && { suppressed: seen.suppressed }) }));
    last.set(id, { at: t, suppressed: 0 });
  };
}

/** One line on what protects this process's link, for the startup log. */
export function describeSecurity(sec: Security): string {
  const size = sec.maxMessageSize === -1 ? 'unlimited' : `${sec.maxMessageSize} bytes`;
  const allowed = sec.allowedKeys ? `, ${sec.allowedKeys.length} allowed worker key(s)` : ', any worker key';
  const curve = !sec.keys
    ? 'CURVE off (plain TCP: anyone on the network can read and send traffic)'
    : sec.serverKey
      ? `CURVE on (coordinator key "${sec.serverKey.publicKey}", own key ${sec.keys.name} "${sec.keys.publicKey}")`
      : `CURVE on (public key "${sec.keys.publicKey}")${allowed}`;
  const token = sec.joinToken === undefined ? 'off' : sec.keys ? 'on' : 'on (sent in clear without CURVE)';
  return `security: ${curve}; join token ${token}; max inbound frame ${size}`;
}
