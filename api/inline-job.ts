/**
 * The job behind the programmatic API (`tensorfleet.local().fit(model, x, y)`): the caller writes the
 * arrays and a meta file into a folder, and every worker loads this module with `{ dir }`.
 * It is a job factory: `loadJob(path, { dir })` calls the default export.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ArrayData } from '../shared/model/data/dataset.ts';
import { FleetError } from '../shared/runtime/errors.ts';
import { importUserModule } from '../shared/runtime/tsx.ts';
import type { CompileSpec, FitSpec, Job, JobData } from '../shared/model/job.ts';

/** What the caller writes to meta.json. */
export interface InlineMeta {
  compile: { loss: string; metrics: string[] };
  fit: FitSpec;
  splits: Partial<Record<'train' | 'validation' | 'test', { xShape: number[]; yShape: number[] }>>;
  /** Modules to import first, e.g. ones that register custom layers. */
  modules: string[];
  /** The cluster's syncBatchNorm option. */
  syncBatchNorm?: boolean;
}

function readSplit(dir: string, name: string, shapes: { xShape: number[]; yShape: number[] }): ArrayData {
  const read = (f: string) => {
    const b = readFileSync(path.join(dir, f));
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  return { x: read(`${name}.x.f32`), xShape: shapes.xShape, y: read(`${name}.y.f32`), yShape: shapes.yShape };
}

/** Loads the inline job from `args.dir`. */
export default async function inlineJob(args: Record<string, unknown>): Promise<Job> {
  const dir = args['dir'];
  if (typeof dir !== 'string') throw new FleetError('FLEET_ERR_JOB_INVALID', `Expected args.dir for the inline job. Received: ${typeof dir}`);
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as InlineMeta;
  for (const m of meta.modules) await importUserModule(m);
  const data: Partial<JobData> = {};
  for (const [name, shapes] of Object.entries(meta.splits)) if (shapes) data[name as keyof JobData] = readSplit(dir, name, shapes);
  if (!data.train) data.train = { x: new Float32Array(0), xShape: [0], y: new Float32Array(0), yShape: [0] };
  const compile: CompileSpec = { optimizer: 'sgd', loss: meta.compile.loss, metrics: meta.compile.metrics };
  return {
    model: () => {
      throw new FleetError('FLEET_ERR_JOB_INVALID', 'The inline job builds no model: workers get it from the coordinator');
    },
    compile,
    data: () => data as JobData,
    fit: meta.fit,
    ...(meta.syncBatchNorm && { syncBatchNorm: true }),
  };
}
