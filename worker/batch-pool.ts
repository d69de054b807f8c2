/** The worker's batch pipeline: a piscina pool that assembles batches off the main thread. */
import { Piscina } from 'piscina';
import type { AugmentPipeline } from '../shared/model/augment/pipeline.ts';
import type { ArrayData } from '../shared/model/data/dataset.ts';
import { rowSize } from '../shared/model/data/dataset.ts';
import { siblingModule } from '../shared/runtime/module-path.ts';
import { loaderArgs } from '../shared/runtime/tsx.ts';
import type { BatchRequest, BatchWorkerData, SharedSplit } from './batch-task.ts';

function toShared(src: Float32Array): Float32Array {
  const out = new Float32Array(new SharedArrayBuffer(src.byteLength));
  out.set(src);
  return out;
}

/** A pool of batch-assembly threads over datasets copied once into shared memory. */
export class BatchPool {
  private readonly pool: Piscina;
  private readonly rows: Record<string, { xRow: number }> = {};

  /** `sources` maps a split name ('train', 'validation', 'test') to its data; `augment` runs on requests that name an epoch. */
  constructor(sources: Record<string, ArrayData>, threads = 1, augment?: AugmentPipeline) {
    const splits: Record<string, SharedSplit> = {};
    for (const [name, d] of Object.entries(sources)) {
      splits[name] = { x: toShared(d.x), y: toShared(d.y), xRow: rowSize(d.xShape), yRow: rowSize(d.yShape) };
      this.rows[name] = { xRow: rowSize(d.xShape) };
    }
    const workerData: BatchWorkerData = { splits, ...(augment && { augment }) };
    const task = siblingModule('./batch-task.ts', import.meta.url);
    this.pool = new Piscina({
      filename: task.href,
      minThreads: threads,
      maxThreads: threads,
      workerData,
      // Threads do not inherit a loader registered in-process: a .ts task file gets tsx explicitly.
      execArgv: loaderArgs(task.href),
    });
  }

  /** Gathers rows `indices` of `source` into fresh contiguous arrays, augmented for `augmentEpoch` when given (training only). */
  async gather(
    source: string,
    indices: Int32Array,
    augmentEpoch?: number,
  ): Promise<{ x: Float32Array; y: Float32Array }> {
    const req: BatchRequest = { source, indices, ...(augmentEpoch !== undefined && { augmentEpoch }) };
    const out = (await this.pool.run(req)) as Float32Array;
    const xLen = indices.length * (this.rows[source]?.xRow ?? 0);
    return { x: out.subarray(0, xLen), y: out.subarray(xLen) };
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
