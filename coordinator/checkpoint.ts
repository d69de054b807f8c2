/**
 * Coordinator checkpoints: everything needed to continue a run exactly where it stopped: model weights
 * (BatchNormalization statistics included), optimizer state, epoch and step, the data-order seed,
 * the running epoch sums, callback state and the history.
 *
 * Layout: `<dir>/ckpt-<n>/{state.json, weights.bin, optimizer.bin}` plus `<dir>/LATEST` naming the
 * newest. Each file is written to a temporary name, fsynced and renamed; LATEST moves only once a
 * checkpoint is complete, so a crash mid-write never leaves a corrupt latest checkpoint.
 *
 * `manifest.json`, written last inside each checkpoint, holds the SHA-256 of every other file. A resume
 * checks it and falls back to the newest checkpoint that passes, naming each one it skips and why.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fleetError } from '../shared/runtime/catalogue/index.ts';

/** Trainer state that is not tensors. */
export interface TrainerState {
  epoch: number;
  /** The next step to run within `epoch`. */
  step: number;
  accum: { lossSum: number; metricSums: number[]; seen: number };
  seed: number;
  history: { epoch: number[]; history: Record<string, number[]> };
  roundId: number;
  evalId: number;
  weightsVersion: number;
  /** Uses of each example in the current epoch so far (the audit survives a restart). */
  sampleUses: number[];
  learningRate?: number;
  callbacks: unknown[];
}

/** A tensor with the name it is saved under. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}
interface StateFile {
  version: 1;
  trainer: TrainerState;
  weights: TensorEntry[];
  optimizer: TensorEntry[];
  extras: TensorEntry[];
}

/** A loaded checkpoint. */
export interface Checkpoint {
  readonly path: string;
  readonly trainer: TrainerState;
  readonly weights: tf.Tensor[];
  readonly optimizer: NamedTensor[];
  /** Optimizer internals getWeights() omits (Adam's accumulated beta powers), for a bit-exact resume. */
  readonly extras: NamedTensor[];
}

const FILES = ['state.json', 'weights.bin', 'optimizer.bin', 'extras.bin'] as const;
const MANIFEST = 'manifest.json';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Writes all of `data` (writeSync may write less than asked), fsyncs and renames; no temp file is left. */
function writeDurable(file: string, data: Buffer | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (let at = 0; at < buf.byteLength;) at += writeSync(fd, buf, at, buf.byteLength - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    const why = (err as Error).message;
    throw fleetError('CKPT_SHORT_WRITE', { bytes: buf.byteLength, file, received: why });
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function pack(tensors: { name: string; tensor: tf.Tensor }[]): { entries: TensorEntry[]; data: Buffer } {
  const entries = tensors.map((t) => ({
    name: t.name,
    shape: t.tensor.shape,
    dtype: t.tensor.dtype === 'int32' ? ('int32' as const) : ('float32' as const),
  }));
  const parts = tensors.map((t) => {
    const v =
      t.tensor.dtype === 'int32' ? Int32Array.from(t.tensor.dataSync()) : Float32Array.from(t.tensor.dataSync());
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  });
  return { entries, data: Buffer.concat(parts) };
}

function unpack(entries: TensorEntry[], data: Buffer, file: string): NamedTensor[] {
  let at = 0;
  return entries.map((e) => {
    const n = e.shape.reduce((a, b) => a * b, 1);
    const bytes = data.subarray(at, at + n * 4);
    if (bytes.byteLength !== n * 4)
      throw fleetError('CKPT_TENSOR_BYTES', { bytes: n * 4, name: e.name, file, received: bytes.byteLength });
    at += n * 4;
    const copy = Buffer.from(bytes);
    const values =
      e.dtype === 'int32'
        ? new Int32Array(copy.buffer, copy.byteOffset, n)
        : new Float32Array(copy.buffer, copy.byteOffset, n);
    return { name: e.name, tensor: tf.tensor(values, e.shape, e.dtype) };
  });
}

/** Optimizer internals outside getWeights(): Adam's and Adamax's accumulated beta powers. */
function optimizerExtras(optimizer: tf.Optimizer): { name: string; tensor: tf.Tensor }[] {
  // Fields tf.Optimizer does not declare: read them by name and keep only tensors, no cast needed.
  return ['accBeta1', 'accBeta2'].flatMap((name) => {
    const tensor: unknown = Reflect.get(optimizer, name);
    return tensor instanceof tf.Tensor ? [{ name, tensor }] : [];
  });
}

/** Writes a checkpoint into `dir` and makes it the latest; keeps the previous one, removes older ones. */
export async function writeCheckpoint(
  dir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  trainer: TrainerState,
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const seq = Date.now();
  const name = `ckpt-${trainer.epoch}-${trainer.step}-${seq}`;
  const target = path.join(dir, name);
  mkdirSync(target, { recursive: true });
  const weights = pack(model.weights.map((w) => ({ name: w.originalName, tensor: w.read() })));
  const opt = await optimizer.getWeights();
  const optimizerPacked = pack(opt);
  // getWeights() hands out the optimizer's live slot variables plus a fresh iterations scalar: free only the latter.
  tf.dispose(opt.map((t) => t.tensor).filter((t) => !(t instanceof tf.Variable)));
  const extras = pack(optimizerExtras(optimizer));
  const state: StateFile = {
    version: 1,
    trainer,
    weights: weights.entries,
    optimizer: optimizerPacked.entries,
    extras: extras.entries,
  };
  const files: Record<(typeof FILES)[number], Buffer> = {
    'state.json': Buffer.from(JSON.stringify(state)),
    'weights.bin': weights.data,
    'optimizer.bin': optimizerPacked.data,
    'extras.bin': extras.data,
  };
  // Hashed from the bytes written (writeDurable writes all of them or throws), not read back.
  for (const f of FILES) writeDurable(path.join(target, f), files[f]);
  const hashes = Object.fromEntries(FILES.map((f) => [f, sha256(files[f])]));
  writeDurable(path.join(target, MANIFEST), JSON.stringify({ version: 1, sha256: hashes }));
  fsyncDir(target);
  writeDurable(path.join(dir, 'LATEST'), name);
  fsyncDir(dir);
  const keep = new Set([name, previous(dir, name)]);
  for (const d of readdirSync(dir))
    if (d.startsWith('ckpt-') && !keep.has(d)) rmSync(path.join(dir, d), { recursive: true, force: true });
  return target;
}

/** The sequence number a checkpoint folder's name ends with (its write time in ms). */
const seqOf = (name: string) => Number(name.split('-').pop());

function previous(dir: string, latest: string): string | undefined {
  const others = readdirSync(dir).filter((d) => d.startsWith('ckpt-') && d !== latest);
  return others.sort((a, b) => seqOf(a) - seqOf(b)).pop();
}

/**
 * Loads the newest good checkpoint under `dir`, or undefined when there is none: LATEST's first, then
 * the others newest first. Each one skipped (manifest missing, a hash that differs, unreadable) is
 * reported through `onSkip`. Checkpoints present without LATEST, or none that passes, are a
 * FLEET_ERR_CHECKPOINT rather than a fresh start that would prune them.
 */
export function readLatestCheckpoint(
  dir: string,
  onSkip: (ckpt: string, why: string) => void = () => {},
): Checkpoint | undefined {
  const all = existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith('ckpt-')) : [];
  const latest = path.join(dir, 'LATEST');
  if (!existsSync(latest)) {
    if (all.length === 0) return undefined;
    throw fleetError('CKPT_NO_LATEST', { latest, dir, count: all.length });
  }
  const named = readFileSync(latest, 'utf8').trim();
  const order = [named, ...all.filter((d) => d !== named).sort((a, b) => seqOf(b) - seqOf(a))];
  const reasons: string[] = [];
  for (const name of order) {
    const target = path.join(dir, name);
    try {
      return loadVerified(target);
    } catch (err) {
      const why = (err as Error).message;
      reasons.push(`${name}: ${why}`);
      onSkip(target, why);
    }
  }
  throw fleetError('CKPT_NONE_GOOD', { dir, reasons: reasons.join('; ') });
}

/** One checkpoint, after its manifest's hashes are checked against every file. */
function loadVerified(target: string): Checkpoint {
  const read = (f: string) => readFileSync(path.join(target, f));
  let manifest: { version?: number; sha256?: Record<string, string> };
  try {
    manifest = JSON.parse(read(MANIFEST).toString('utf8')) as typeof manifest;
  } catch (err) {
    throw new Error(`no readable ${MANIFEST} (${(err as Error).message})`);
  }
  const files = new Map<string, Buffer>();
  for (const f of FILES) {
    const data = read(f);
    const want = manifest.sha256?.[f];
    const got = sha256(data);
    if (want !== got) throw new Error(`${f} has SHA-256 ${got}, the manifest says ${want ?? 'nothing'}`);
    files.set(f, data);
  }
  const state = JSON.parse((files.get('state.json') as Buffer).toString('utf8')) as StateFile;
  if (state.version !== 1) throw new Error(`checkpoint version ${state.version}, expected 1`);
  return {
    path: target,
    trainer: state.trainer,
    weights: unpack(state.weights, files.get('weights.bin') as Buffer, target).map((t) => t.tensor),
    optimizer: unpack(state.optimizer, files.get('optimizer.bin') as Buffer, target),
    extras: unpack(state.extras, files.get('extras.bin') as Buffer, target),
  };
}

/** Puts a checkpoint's weights and optimizer state back; the tensors are consumed. */
export async function restoreCheckpoint(
  ckpt: Checkpoint,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
): Promise<void> {
  if (ckpt.weights.length !== model.weights.length) {
    throw fleetError('CKPT_WEIGHT_COUNT', {
      count: model.weights.length,
      path: ckpt.path,
      received: ckpt.weights.length,
    });
  }
  model.setWeights(ckpt.weights);
  if (ckpt.optimizer.length > 0) await optimizer.setWeights(ckpt.optimizer);
  for (const e of ckpt.extras) {
    const slot: unknown = Reflect.get(optimizer, e.name);
    if (slot instanceof tf.Variable) slot.assign(e.tensor);
  }
  tf.dispose([...ckpt.weights, ...ckpt.extras.map((e) => e.tensor)]);
}
