/**
 * startSession builds what a welcome describes, from a real job module: the model rebuilt from the
 * Keras JSON holds the welcome's weights (not its own initial ones), the splits and compiled loss are
 * the job's, the batch pool gathers training rows, and the optimizer is the welcome's (class, config and
 * any state it carries). Weights that do not fit the model, or are not finite, and an optimizer class tfjs
 * does not know, are refused with a typed error.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSession, type Session } from '../../worker/session.ts';
import { modelToKerasJson } from '../../shared/io/model-json.ts';
import { loadJob } from '../../shared/model/job.ts';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { isFleetError } from '../../shared/runtime/errors.ts';
import { createLogger } from '../../shared/runtime/log.ts';
import { decodeMessage, encodeMessage, type MessageOf, type WireTensor } from '../../shared/wire/protocol.ts';
import { readWeights } from '../../shared/wire/weights.ts';
import { JOBS } from '../helpers/local.ts';

const JOB = path.join(JOBS, 'dense-sgd.ts');
const log = createLogger('worker', true);
const sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.pool.close()));
});
beforeAll(async () => {
  await selectBackend('cpu');
});

const sgd = { className: 'SGD', config: { learningRate: 0.1 } };

/** A welcome for dense-sgd.ts whose weights are the job's initial ones, each scaled by `scale`. */
async function welcome(
  scale: number,
  edit?: (w: WireTensor[]) => WireTensor[],
  extra: Partial<Pick<MessageOf<'welcome'>, 'optimizer' | 'optimizerIterations'>> = {},
): Promise<MessageOf<'welcome'>> {
  const model = (await loadJob(JOB)).model();
  const weights = readWeights(model).map((t) => ({ ...t, data: t.data.map((v) => v * scale + 0.25) }));
  // Through the wire, as a worker gets it: decoding fills in every group the kind declares.
  const frames = encodeMessage({
    kind: 'welcome',
    rank: 1,
    jobPath: JOB,
    modelConfig: JSON.stringify(modelToKerasJson(model)),
    compile: {},
    backend: 'cpu',
    heartbeatIntervalMs: 1000,
    optimizer: sgd,
    ...extra,
    groups: { weights: edit ? edit(weights) : weights },
  });
  const msg = decodeMessage(frames);
  if (msg.kind !== 'welcome') throw new Error(`Expected a welcome. Received: ${msg.kind}`);
  return msg;
}

describe('startSession', () => {
  it("rebuilds the model with the welcome's weights and serves the job's data", async () => {
    const msg = await welcome(2);
    const s = await startSession(msg, log);
    sessions.push(s);
    const got = s.model.weights.map((w) => Array.from(w.read().dataSync()));
    expect(got).toEqual(msg.groups.weights.map((t) => Array.from(t.data)));
    expect(s.model.weights.map((w) => w.shape)).toEqual([[20, 16], [16], [16, 4], [4]]);
    expect(s.weightsVersion).toBe(0);
    expect(s.syncBatchNorm).toBe(false);
    expect(s.trainStep).toBeUndefined();
    expect(s.splits.train.count).toBe(640);
    expect(s.splits.validation?.count).toBe(64);
    expect(s.metrics).toHaveLength(1);
    // The coordinator's optimizer, rebuilt: same class and config, a fresh state.
    expect(s.optimizer.getClassName()).toBe('SGD');
    expect(s.optimizer.getConfig()).toMatchObject({ learningRate: 0.1 });
    expect(s.optimizer.iterations).toBe(0);
    // The compiled loss scores the model's own predictions: finite, one value per row.
    const rows = await s.pool.gather('train', Int32Array.from([0, 5, 9]));
    const x = tf.tensor(rows.x, [3, 20]);
    const y = tf.tensor(rows.y, [3, 1]);
    const perRow = s.loss(y, s.model.predict(x) as tf.Tensor);
    expect(perRow.shape).toEqual([3]);
    expect(Array.from(perRow.dataSync()).every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    const d = s.splits.train.data;
    expect(Array.from(rows.x.subarray(20, 40))).toEqual(Array.from(d.x.subarray(5 * 20, 6 * 20)));
    tf.dispose([x, y, perRow]);
  });

  it("takes the optimizer state a welcome carries (a resumed run's), and refuses an unknown optimizer", async () => {
    const resumed = await startSession(await welcome(1, undefined, { optimizerIterations: 7 }), log);
    sessions.push(resumed);
    expect(resumed.optimizer.iterations).toBe(7);
    const unknown = { optimizer: { className: 'NoSuchOptimizer', config: {} } };
    const err = await startSession(await welcome(1, undefined, unknown), log).then(
      (s) => {
        sessions.push(s);
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(isFleetError(err, 'FLEET_ERR_OPTIMIZER'), String(err)).toBe(true);
  });

  const reshaped = (t: WireTensor) => ({ ...t, shape: [4, 4] });
  const nanAt = (t: WireTensor) => ({ ...t, data: Float32Array.from(t.data, (v, j) => (j === 3 ? NaN : v)) });
  it.each([
    ['a missing weight', 'FLEET_ERR_TENSOR_SHAPE', (w: WireTensor[]) => w.slice(1)],
    ['a wrong shape', 'FLEET_ERR_TENSOR_SHAPE', (w: WireTensor[]) => w.map((t, i) => (i === 1 ? reshaped(t) : t))],
    ['a NaN', 'FLEET_ERR_NONFINITE', (w: WireTensor[]) => w.map((t, i) => (i === 2 ? nanAt(t) : t))],
  ] as const)('refuses welcome weights with %s (%s)', async (_what, code, edit) => {
    const err = await startSession(await welcome(1, edit), log).then(
      (s) => {
        sessions.push(s);
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(isFleetError(err, code), String(err)).toBe(true);
  });
});
