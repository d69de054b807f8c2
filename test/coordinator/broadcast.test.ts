/**
 * What each round sends: all weights to a worker until it holds the current fixed (frozen) ones,
 * then only those training changes; and weights changed outside a round (EarlyStopping restoring
 * the best epoch's) reach the workers before they evaluate the test split.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { WeightBroadcast } from '../../coordinator/broadcast.ts';
import { PeerRegistry } from '../../coordinator/peers.ts';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { vgg16 } from '../../shared/io/applications/vgg16.ts';
import { loadJob } from '../../shared/model/job.ts';
import { readWeights } from '../../shared/wire/weights.ts';
import { JOBS, runTestCluster } from '../helpers/local.ts';

beforeAll(async () => {
  await selectBackend('cpu');
});

/**
 * Dense (frozen) → BatchNormalization → Dense. tfjs lists trainable weights first: 0-1 gamma/beta,
 * 2-3 the last kernel and bias (trained); then 4-5 the frozen kernel and bias (fixed), 6-7 the
 * moving statistics (state, which training changes too).
 */
function model(): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.dense({ units: 4, inputShape: [3] }),
      tf.layers.batchNormalization({}),
      tf.layers.dense({ units: 2 }),
    ],
  });
  (m.layers[0] as tf.layers.Layer).trainable = false;
  return m;
}

describe('WeightBroadcast', () => {
  it('sends all weights until a worker holds the fixed ones, then the trained weights and BN statistics', () => {
    const m = model();
    const b = new WeightBroadcast(m);
    const reg = new PeerRegistry();
    const peer = reg.admit(Buffer.from([1]), { pid: 1, host: 'h', backend: 'cpu' }, 0);
    expect(b.update(readWeights(m), 0)).toBe(0);
    expect(b.forPeer(peer)).toEqual({ tensors: readWeights(m) });
    b.delivered(peer);
    const sub = b.forPeer(peer);
    expect(sub.indices).toEqual([0, 1, 2, 3, 6, 7]);
    expect(sub.tensors.map((t) => t.name)).toEqual(
      m.weights.filter((_, i) => i !== 4 && i !== 5).map((w) => w.originalName),
    );
    // Training moves the trained weights: still a subset, at the round's version.
    (m.layers[2] as tf.layers.Layer).setWeights([tf.ones([4, 2]), tf.ones([2])]);
    expect(b.update(readWeights(m), 1)).toBe(1);
    expect(b.forPeer(peer).indices).toEqual([0, 1, 2, 3, 6, 7]);
    // Something wrote the frozen layer: everyone gets everything again.
    (m.layers[0] as tf.layers.Layer).setWeights([tf.ones([3, 4]), tf.ones([4])]);
    expect(b.update(readWeights(m), 2)).toBe(2);
    expect(b.forPeer(peer).indices).toBeUndefined();
    b.delivered(peer);
    // A worker that rejoins is a new Peer, rebuilt from the welcome: all weights again.
    const again = reg.admit(Buffer.from([1]), { pid: 1, host: 'h', backend: 'cpu' }, 0);
    expect(b.forPeer(again).indices).toBeUndefined();
    expect(b.forPeer(peer).indices).toEqual([0, 1, 2, 3, 6, 7]);
  });

  it('gives weights changed without a round a new version, and unchanged ones the same', () => {
    const m = model();
    const b = new WeightBroadcast(m);
    expect(b.update(readWeights(m), 5)).toBe(5);
    expect(b.update(readWeights(m), 5)).toBe(5); // nothing changed: workers at 5 need nothing
    (m.layers[2] as tf.layers.Layer).setWeights([tf.zeros([4, 2]), tf.ones([2])]);
    expect(b.update(readWeights(m), 5)).toBe(6); // a callback wrote weights: version 5 is stale
  });
});

describe("the guide's transfer learning, VGG16 under its head", () => {
  it('sends 0.54 MB per worker per round with the base frozen, not 59 MB; 29 MB while block5 fine-tunes', () => {
    const base = vgg16({ includeTop: false, inputShape: [32, 32, 3] });
    const model = tf.sequential({
      layers: [
        base,
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 256, activation: 'relu' }),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    const peer = new PeerRegistry().admit(Buffer.from([1]), { pid: 1, host: 'h', backend: 'cpu' }, 0);
    const bytes = (b: WeightBroadcast) => b.forPeer(peer).tensors.reduce((n, t) => n + t.data.byteLength, 0);
    const roundBytes = () => {
      const b = new WeightBroadcast(model);
      b.update(readWeights(model), 0);
      const first = bytes(b);
      b.delivered(peer);
      return [first, bytes(b)];
    };
    base.trainable = false;
    // VGG16's 14,714,688 weights plus the head's 133,898, then the head's alone.
    expect(roundBytes()).toEqual([(14_714_688 + 133_898) * 4, 133_898 * 4]);
    base.trainable = true;
    for (const layer of base.layers) layer.trainable = layer.name.startsWith('block5_');
    // Fine-tuning: block5's three 3x3x512x512 convolutions and biases join the head.
    expect(roundBytes()[1]).toBe((3 * (3 * 3 * 512 * 512 + 512) + 133_898) * 4);
    model.dispose();
  });
});

describe('EarlyStopping restoring the best weights, then the test split', () => {
  it('is evaluated by the workers with the restored weights', async () => {
    const r = await runTestCluster('restore-then-test.ts', 2, { fit: { verbose: 0 } });
    const epochs = (r.history.history['val_loss'] as number[]).length;
    expect(epochs).toBeLessThan(12); // it stopped early, so the last epoch's weights are not the best
    const job = await loadJob(path.join(JOBS, 'restore-then-test.ts'));
    const test = (await job.data()).test!;
    const x = tf.tensor(test.x, [...test.xShape]);
    const y = tf.tensor(test.y, [...test.yShape]);
    const pred = r.model.predict(x) as tf.Tensor;
    const loss = tf
      .mean(tf.metrics.categoricalCrossentropy(tf.oneHot(tf.cast(y, 'int32'), 4), pred))
      .dataSync()[0] as number;
    expect(r.test?.['test_loss']).toBeCloseTo(loss, 5);
    tf.dispose([x, y, pred]);
  });
});
