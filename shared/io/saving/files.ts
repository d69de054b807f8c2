/**
 * File plumbing for saving: atomic writes, scratch directories, and format detection by magic bytes
 * (never by extension: tf.keras 2.11 wrote HDF5 into files named `.keras`).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FleetError } from '../../runtime/errors.ts';
import { fleetError } from '../../runtime/catalogue/index.ts';

/** What a file on disk holds, judged by its first bytes. */
export type FileKind = 'hdf5' | 'zip' | 'json' | 'tfjs-dir';

const HDF5_MAGIC = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** Strips a `file://` scheme, so callers may pass either URLs or plain paths. */
export function toPath(p: string): string {
  return p.startsWith('file://') ? p.slice('file://'.length) : p;
}

function fileError(file: string, doing: string, err: unknown): FleetError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const reason =
    code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
  return fleetError('FILE_ACCESS', { doing, file, reason }, { file, errno: code });
}

/** Reads a whole file; a missing or unreadable file is FLEET_ERR_FILE naming it. */
export async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (err) {
    throw fileError(file, 'read', err);
  }
}

// Bytes as text with non-printable ones escaped: "\x89PNG\r\n".
function printable(bytes: Uint8Array): string {
  return Array.from(bytes, (b) =>
    b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c
      ? String.fromCharCode(b)
      : `\\x${b.toString(16).padStart(2, '0')}`,
  ).join('');
}

/** Detects the format of `file`: HDF5 (magic at 0 or a 512·2^k userblock), zip, JSON, or a tfjs directory. */
export async function detectKind(file: string): Promise<FileKind> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (err) {
    throw fileError(file, 'read', err);
  }
  if (stat.isDirectory()) return 'tfjs-dir';
  const bytes = await readBytes(file);
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 8));
  for (let off = 0; off + 8 <= bytes.byteLength && off <= 8192; off = off === 0 ? 512 : off * 2) {
    if (Buffer.from(bytes.buffer, bytes.byteOffset + off, 8).equals(HDF5_MAGIC)) return 'hdf5';
  }
  if (head.subarray(0, 4).equals(ZIP_MAGIC)) return 'zip';
  const text = Buffer.from(bytes.subarray(0, 64)).toString('utf8').trimStart();
  if (text.startsWith('{')) return 'json';
  throw fleetError('FILE_UNKNOWN_FORMAT', { file, head: printable(head) }, { file });
}

/**
 * Writes `file` atomically: `produce` fills a temporary file in the same directory, which is then
 * renamed over `file`. If anything fails, the temporary file is removed and any earlier `file` is untouched.
 */
export async function atomicWrite(file: string, produce: (tmp: string) => Promise<void> | void): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    throw fileError(dir, 'create directory', err);
  }
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    try {
      await fs.writeFile(tmp, new Uint8Array(0), { flag: 'wx' });
    } catch (err) {
      throw fileError(tmp, 'create temporary file', err);
    }
    await produce(tmp);
    try {
      await fs.rename(tmp, file);
    } catch (err) {
      throw fileError(file, 'replace', err);
    }
  } finally {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** Writes bytes to `file` atomically (see atomicWrite). */
export function atomicWriteBytes(file: string, bytes: Uint8Array): Promise<void> {
  return atomicWrite(file, async (tmp) => {
    try {
      await fs.writeFile(tmp, bytes);
    } catch (err) {
      throw fileError(tmp, 'write', err);
    }
  });
}

/** Runs `fn` with a fresh private scratch directory that is removed afterwards. */
export async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tensorfleet-saving-'));
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
