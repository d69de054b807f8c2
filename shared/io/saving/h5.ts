/**
 * The one door to h5wasm. Its Node build reads and writes real files (NODERAWFS), so paths are plain
 * OS paths. HDF5 failures become FleetErrors that name the file; every opened file is closed in `finally`.
 */
import h5wasm, { type Attribute, type Dataset, type Group } from 'h5wasm/node';
import { FleetError } from '../../runtime/errors.ts';
import { fleetError } from '../../runtime/catalogue/index.ts';

/** An open HDF5 file, as h5wasm exposes it. */
export type H5File = InstanceType<typeof h5wasm.File>;
export type { Attribute, Dataset, Group };

let ready: Promise<void> | undefined;

/** Loads the HDF5 wasm module once; after it, HDF5 errors throw instead of printing to stderr. */
export function h5Ready(): Promise<void> {
  ready ??= h5wasm.ready.then((mod) => {
    // Without this, a failed H5Dcreate prints a diagnostic and h5wasm carries on as if it worked.
    mod.activate_throwing_error_handler();
  });
  return ready;
}

/** The most useful line of an HDF5 diagnostic: the innermost "function(): problem". */
export function h5Reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^#\d+:/.test(l));
  const last = lines.at(-1);
  const m = last?.match(/in (\w+\(\)): (.*)$/);
  return m ? `${m[1]}: ${m[2]}` : (text.split('\n')[0] ?? text);
}

/**
 * Opens `file` (mode r: read, w: create or truncate), runs `fn`, and always closes it. Errors name
 * `label` (default: the file), e.g. "model.keras:model.weights.h5" for an archive member.
 */
export async function withH5<T>(file: string, mode: 'r' | 'w', fn: (f: H5File) => T, label = file): Promise<T> {
  await h5Ready();
  let f: H5File;
  try {
    f = new h5wasm.File(file, mode);
  } catch (err) {
    const what = mode === 'r' ? 'a readable HDF5 file (it may be truncated or corrupt)' : 'a writable HDF5 file';
    const values = { what, file: label, reason: h5Reason(err) };
    throw mode === 'r'
      ? fleetError('H5_OPEN_READ', values, { file: label })
      : fleetError('H5_OPEN_WRITE', values, { file: label });
  }
  try {
    return fn(f);
  } catch (err) {
    if (err instanceof FleetError) throw err;
    if (mode === 'w') throw fleetError('H5_WRITE', { file: label, reason: h5Reason(err) }, { file: label });
    throw fleetError('H5_BAD_STRUCTURE', { file: label, reason: h5Reason(err) }, { file: label });
  } finally {
    try {
      f.close();
    } catch {
      // A file whose open half-failed has nothing left to close; the first error is the one to report.
    }
  }
}

/** True when `g` has a direct or nested member at `path`. */
export function has(g: Group, path: string): boolean {
  try {
    return g.get(path) !== null;
  } catch {
    return false;
  }
}

/** The group at `path` under `g`, or undefined when there is none or it is not a group. */
export function getGroup(g: Group, path: string): Group | undefined {
  if (!has(g, path)) return undefined;
  const e = g.get(path);
  return e instanceof h5wasm.Group ? e : undefined;
}

/** The dataset at `path` under `g`, or undefined. */
export function getDataset(g: Group, path: string): Dataset | undefined {
  if (!has(g, path)) return undefined;
  const e = g.get(path);
  return e instanceof h5wasm.Dataset ? e : undefined;
}

function decode(v: unknown): string {
  // Fixed-length numpy "S" strings come back null-padded.
  return String(v).replace(/\0+$/, '');
}

/**
 * A string-list attribute as written by any h5py: variable- or fixed-length strings, a scalar string,
 * or numpy's empty float64 array for an empty list. Missing attribute: undefined.
 */
export function readStrings(g: Group, name: string): string[] | undefined {
  const attr = g.attrs[name];
  if (attr === undefined) return undefined;
  const v = attr.value;
  if (v === null) return [];
  if (typeof v === 'string') return [decode(v)];
  if (Array.isArray(v)) return v.map(decode);
  if (ArrayBuffer.isView(v) && (v as unknown as { length: number }).length === 0) return [];
  throw fleetError('H5_ATTR_NOT_STRINGS', { name, path: g.path, dtype: attr.dtype });
}

/** A scalar string attribute, or undefined. */
export function readString(g: Group, name: string): string | undefined {
  const attr = g.attrs[name];
  if (attr === undefined) return undefined;
  const v = attr.value;
  if (typeof v === 'string') return decode(v);
  if (Array.isArray(v) && v.length === 1) return decode(v[0]);
  return undefined;
}

/** Writes a list of strings as Keras does: variable-length strings, or float64 [0] when empty. */
export function writeStrings(g: Group, name: string, values: readonly string[]): void {
  if (values.length === 0) g.create_attribute(name, new Float64Array(0), [0], '<d');
  else g.create_attribute(name, [...values]);
}

/** The group at a '/'-separated path under `g`, creating the missing links (h5wasm makes no intermediates). */
export function ensureGroup(g: Group, path: string): Group {
  let cur = g;
  for (const part of path.split('/').filter(Boolean)) cur = getGroup(cur, part) ?? cur.create_group(part);
  return cur;
}

/** Creates a float32 dataset at a '/'-separated path under `g`. */
export function writeFloat32(g: Group, path: string, data: Float32Array, shape: readonly number[]): void {
  const parts = path.split('/');
  const leaf = parts.pop() as string;
  const parent = parts.length > 0 ? ensureGroup(g, parts.join('/')) : g;
  parent.create_dataset({ name: leaf, data, shape: [...shape], dtype: '<f' });
}

/** Reads a numeric dataset as float32 (Keras weights may be float64 or integer). */
export function readFloat32(ds: Dataset): { data: Float32Array; shape: number[] } {
  const v = ds.value;
  const shape = ds.shape ?? [];
  if (v instanceof Float32Array) return { data: v, shape };
  if (typeof v === 'number' || typeof v === 'bigint') return { data: Float32Array.of(Number(v)), shape };
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const arr = v as unknown as ArrayLike<number | bigint>;
    const out = new Float32Array(arr.length);
    for (let i = 0; i < arr.length; i++) out[i] = Number(arr[i]);
    return { data: out, shape };
  }
  throw fleetError('H5_NOT_NUMERIC', { path: ds.path, dtype: JSON.stringify(ds.dtype) });
}
