/**
 * Synchronous gradient averaging must reproduce single-process training: same initial weights, same
 * data order, same global batch → the same weights, to 1e-5 relative, for SGD and Adam, and for an
 * uneven split (3 workers, batch 32) with a short last batch.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { nativeSetupState } from '../../cli/native/state.ts';
import { loadJob } from '../../shared/model/job.ts';
import { makeOptimizer } from '../../shared/model/keras/optimizers.ts';
import { JOBS, runTestCluster } from '../helpers/local.ts';
import { maxRelativeDiff } from '../helpers/weights.ts';

async function singleProcess(jobFile: string): Promise<tf.LayersModel> {
  const job = await loadJob(path.join(JOBS, jobFile));
  const data = await job.data();
  const model = job.model();
  model.compile({ optimizer: makeOptimizer(job.compile.optimizer), loss: 'sparseCategoricalCrossentropy' });
  const x = tf.tensor(data.train.x, [...data.train.xShape]);
  const y = tf.tensor(data.train.y, [...data.train.yShape]);
  await model.fit(x, y, { batchSize: job.fit.batchSize, epochs: job.fit.epochs, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
  return model;
}

const native = nativeSetupState(path.resolve(import.meta.dirname, '../..'), 'cpu');

for (const backend of ['cpu', 'tensorflow'] as const) {
  const skip = backend === 'tensorflow' && !native.ready ? native.reason : null;
  describe.skipIf(skip !== null)(
    `equivalence with single-process tfjs model.fit (${backend} backend)${skip ? ` (skipped: ${skip})` : ''}`,
    () => {
      beforeAll(async () => {
        await selectBackend(backend);
      });

      it.each([
        ['dense-sgd.ts', 2],
        ['dense-adam.ts', 2],
        ['dense-adam-uneven.ts', 3],
      ])('%s on %i workers matches to 1e-5 relative', async (job, workers) => {
        const reference = await singleProcess(job);
        const distributed = await runTestCluster(job, workers, { backend });
        expect(distributed.backend).toBe(backend);
        const diff = maxRelativeDiff(distributed.model, reference);
        expect(distributed.history.history['loss']).toHaveLength(1);
        expect(diff).toBeLessThan(1e-5);
        // The weights must actually have moved, or the comparison proves nothing.
        const initial = (await loadJob(path.join(JOBS, job))).model();
        expect(maxRelativeDiff(initial, reference)).toBeGreaterThan(1e-2);
      });
    },
  );
}
