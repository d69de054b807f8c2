/**
 * The job behind the programmatic API (`cluster.fit(model, x, y)`), a job factory that every worker loads:
 * `loadJob(path, args)` calls the default export. Its arrays come one of two ways:
 * - `{ dir }`: a folder the caller wrote (meta.json and one .f32 file per array), for `local()`;
 * - `{ meta, arrays }`: the meta inline and the arrays from the welcome's `data` group, for `cluster({ bind })`,
 *   whose workers may be on other hosts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ArrayData } from '../shared/model/data/dataset.ts';
import type { SampleFn } from '../shared/model/keras/losses.ts';
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import { importUserModule } from '../shared/runtime/tsx.ts';
import type { WireTensor } from '../shared/wire/protocol.ts';
import type { CompileSpec, FitSpec, Job, JobData } from '../shared/model/job.ts';

/** The splits a call may carry. */
export const SPLITS = ['train', 'validation', 'test'] as const;
/** One of the splits a call may carry. */
export type SplitName = (typeof SPLITS)[number];

/** A custom loss function found among a module's exports: workers import `module` and take `exportName`. */
export interface LossRef {
  readonly module: string;
  readonly exportName: string;
}

/** What a call hands its workers besides the arrays. */
export interface InlineMeta {
  compile: { loss: string | LossRef; metrics: string[] };
  fit: FitSpec;
  splits: Partial<Record<SplitName, { xShape: number[]; yShape: number[] }>>;
  /** Modules to import first: ones that register custom layers or export a custom loss. */
  modules: string[];
  /** The cluster's syncBatchNorm option. */
  syncBatchNorm?: boolean;
}

type Shapes = { xShape: number[]; yShape: number[] };

function readSplit(dir: string, name: string, shapes: Shapes): ArrayData {
  const read = (f: string) => {
    const b = readFileSync(path.join(dir, f));
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  return { x: read(`${name}.x.f32`), xShape: shapes.xShape, y: read(`${name}.y.f32`), yShape: shapes.yShape };
}

function isWireTensor(t: unknown): t is WireTensor {
  return typeof t === 'object' && t !== null && 'name' in t && 'data' in t && t.data instanceof Float32Array;
}

/** The split's arrays from the welcome's data group, named `<split>.x` and `<split>.y`. */
function takeSplit(arrays: readonly WireTensor[], name: string, shapes: Shapes): ArrayData {
  const take = (n: string): Float32Array => {
    const t = arrays.find((a) => a.name === n);
    if (!(t?.data instanceof Float32Array)) {
      throw fleetError('API_INLINE_ARRAY_MISSING', { name: n, received: arrays.map((a) => a.name) });
    }
    return t.data;
  };
  return { x: take(`${name}.x`), xShape: shapes.xShape, y: take(`${name}.y`), yShape: shapes.yShape };
}

/** Imports the module that exports a custom loss and returns that export. */
export async function resolveLoss(ref: LossRef): Promise<SampleFn> {
  const fn = (await importUserModule(ref.module))[ref.exportName];
  if (typeof fn !== 'function') {
    throw fleetError('API_LOSS_EXPORT_MISSING', { name: ref.exportName, module: ref.module, received: typeof fn });
  }
  return (yTrue, yPred) => fn(yTrue, yPred);
}

/** The call's meta and how to read a split's arrays: from the folder, or from the welcome's data group. */
function metaOf(args: Record<string, unknown>): { meta: InlineMeta; read: (name: string, s: Shapes) => ArrayData } {
  const { dir, meta, arrays } = args;
  if (typeof dir === 'string') {
    const fromFile = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as InlineMeta;
    return { meta: fromFile, read: (n, s) => readSplit(dir, n, s) };
  }
  if (typeof meta === 'string') {
    const list = Array.isArray(arrays) ? arrays.filter(isWireTensor) : [];
    return { meta: JSON.parse(meta) as InlineMeta, read: (n, s) => takeSplit(list, n, s) };
  }
  throw fleetError('API_INLINE_ARGS', { received: Object.keys(args) });
}

/** Loads the inline job from `args.dir`, or from `args.meta` and `args.arrays`. */
export default async function inlineJob(args: Record<string, unknown>): Promise<Job> {
  const { meta, read } = metaOf(args);
  for (const m of meta.modules) await importUserModule(m);
  const data: Partial<JobData> = {};
  for (const name of SPLITS) {
    const shapes = meta.splits[name];
    if (shapes) data[name] = read(name, shapes);
  }
  const empty: ArrayData = { x: new Float32Array(0), xShape: [0], y: new Float32Array(0), yShape: [0] };
  const train = data.train ?? empty;
  const loss = typeof meta.compile.loss === 'string' ? meta.compile.loss : await resolveLoss(meta.compile.loss);
  const compile: CompileSpec = { optimizer: 'sgd', loss, metrics: meta.compile.metrics };
  return {
    model: () => {
      throw fleetError('API_INLINE_NO_MODEL');
    },
    compile,
    data: () => ({ ...data, train }),
    fit: meta.fit,
    ...(meta.syncBatchNorm && { syncBatchNorm: true }),
  };
}
