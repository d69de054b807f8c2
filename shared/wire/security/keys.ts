/**
 * CURVE key files. `NAME.key` holds a key pair and must be private to its owner (mode 0600); `NAME.pub`
 * holds only the public key and is what you hand out. Both are text in the ZPL layout of CZMQ
 * certificates, so certificates written by czmq's zcert or pyzmq's zmq.auth can be read as well:
 *
 *     #   tensorfleet CURVE key pair "worker-1": keep private
 *     metadata
 *         name = "worker-1"
 *     curve
 *         public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
 *         secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fleetError } from '../../runtime/catalogue/index.ts';
import { isZ85Key, z85Decode, z85Encode } from './z85.ts';

/** A public key and where it came from. */
export interface PublicKey {
  /** The file's name without extension, used in logs (e.g. "worker-1"). */
  readonly name: string;
  /** Z85, 40 characters. */
  readonly publicKey: string;
  readonly file: string;
}

/** A key pair read from a private `NAME.key` file. */
export interface KeyPair extends PublicKey {
  /** Z85, 40 characters; never logged. */
  readonly secretKey: string;
}

/** Key names are file names: a letter or digit, then letters, digits, dot, dash or underscore. */
export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

// DER prefix of a PKCS#8 X25519 private key; the 32 raw key bytes follow it.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** The public key of a CURVE secret key (both Z85), as libzmq derives it: X25519 of the base point. */
export function derivePublicKey(secretKey: string): string {
  const key = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, z85Decode(secretKey)]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return z85Encode(spki.subarray(spki.byteLength - 32));
}

/** The text of a key file; with a secret key it is a `.key` file, without one a `.pub` file. */
export function formatKeyFile(name: string, keys: { publicKey: string; secretKey?: string }): string {
  const lines = [
    keys.secretKey
      ? `#   tensorfleet CURVE key pair "${name}": keep this file private (mode 0600); hand out ${name}.pub instead`
      : `#   tensorfleet CURVE public key "${name}": safe to share`,
    'metadata',
    `    name = "${name}"`,
    'curve',
    `    public-key = "${keys.publicKey}"`,
    ...(keys.secretKey ? [`    secret-key = "${keys.secretKey}"`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** Parses key-file text; a key that is present must be valid Z85. */
export function parseKeyFile(text: string, file: string): { publicKey?: string; secretKey?: string } {
  const found: { publicKey?: string; secretKey?: string } = {};
  for (const raw of text.split(/\r?\n/)) {
    // Z85 uses "#", so a comment is a line starting with it, or text after the closing quote.
    const m = /^\s*(public-key|secret-key)\s*=\s*"([^"]*)"\s*(#.*)?$/.exec(raw);
    if (!m) continue;
    const value = m[2] as string;
    if (!isZ85Key(value)) throw fleetError('KEYS_BAD_Z85', { field: m[1], file, length: value.length });
    if (m[1] === 'public-key') found.publicKey = value;
    else found.secretKey = value;
  }
  return found;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw fleetError('KEYS_UNREADABLE', {
      what,
      file,
      reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message,
    });
  }
}

/** Throws unless `file` is accessible to its owner only: a readable secret is no secret. */
export function checkPrivate(file: string, what: string): void {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw fleetError('KEYS_NOT_PRIVATE', { what, file, mode: mode.toString(8).padStart(4, '0') });
  }
}

function keyName(file: string): string {
  return path.basename(file).replace(/\.(key|pub|key_secret)$/, '');
}

/** Reads a private key-pair file (`NAME.key`) and checks that its secret key matches its public key. */
export function loadKeyPair(file: string): KeyPair {
  const text = readText(file, 'a CURVE key-pair file (write one with `tensorfleet keys`)');
  checkPrivate(file, 'the CURVE key-pair file');
  const { publicKey, secretKey } = parseKeyFile(text, file);
  if (!secretKey)
    throw fleetError('KEYS_NO_SECRET_KEY', {
      file,
      received: publicKey ? 'a public key only (is this a .pub file?)' : 'no key',
    });
  const derived = derivePublicKey(secretKey);
  if (publicKey && publicKey !== derived) throw fleetError('KEYS_PAIR_MISMATCH', { file, publicKey, derived });
  return { name: keyName(file), publicKey: derived, secretKey, file };
}

/** Reads a public-key file (`NAME.pub`, or a `.key` file, whose public key is used). */
export function loadPublicKey(file: string): PublicKey {
  const { publicKey } = parseKeyFile(readText(file, 'a CURVE public-key file'), file);
  if (!publicKey) throw fleetError('KEYS_NO_PUBLIC_KEY', { file });
  return { name: keyName(file), publicKey, file };
}

/** Reads every `*.pub` file in `dir`: the keys a coordinator admits. Fails on an empty or unreadable folder. */
export function loadAllowedKeys(dir: string): PublicKey[] {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((f) => f.endsWith('.pub'))
      .sort();
  } catch (err) {
    throw fleetError('KEYS_NO_ALLOW_DIR', {
      dir,
      reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message,
    });
  }
  if (names.length === 0) throw fleetError('KEYS_NO_PUB_FILES', { dir, count: readdirSync(dir).length });
  return names.map((f) => loadPublicKey(path.join(dir, f)));
}

/** Writes `dir/NAME.key` (mode 0600) and `dir/NAME.pub` (0644); refuses to replace either unless `force`. */
export function writeKeyPair(
  dir: string,
  name: string,
  pair: { publicKey: string; secretKey: string },
  opts: { force: boolean },
): { keyFile: string; pubFile: string } {
  if (!KEY_NAME.test(name)) throw fleetError('KEYS_BAD_NAME', { name: JSON.stringify(name) });
  const keyFile = path.join(dir, `${name}.key`);
  const pubFile = path.join(dir, `${name}.pub`);
  const existing = [keyFile, pubFile].filter((f) => existsSync(f));
  if (existing.length > 0 && !opts.force) throw fleetError('KEYS_FILES_EXIST', { files: existing.join(', ') });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writePrivate(keyFile, formatKeyFile(name, pair), 0o600);
  writePrivate(pubFile, formatKeyFile(name, { publicKey: pair.publicKey }), 0o644);
  return { keyFile, pubFile };
}

/** Writes a file through a temporary name created with `mode` (never wider), then renames it into place. */
export function writePrivate(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}
