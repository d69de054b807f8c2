/**
 * The guide's custom training loop in one process, with tensorfleet's GradientTape API:
 * `tapeGradients(f, variables)` is `tape.gradient(loss, model.trainable_variables)`.
 *   npx tsx examples/custom-loop.ts [--epochs 3] [--samples 10000] [--backend auto]
 * examples/custom-loop-distributed.ts runs the same train step on every worker of a cluster.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { loadMnist, selectBackend, tapeGradients, trainableVariables } from '../index.ts';
import type { BackendRequest } from '../shared/runtime/backend/select.ts';
import type { TrainStepOutput } from '../shared/model/custom-step.ts';
import { guideMlp } from './mlp-model.ts';

/** loss_object = keras.losses.SparseCategoricalCrossentropy(): per-sample crossentropy of class ids. */
export function lossObject(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  const depth = yPred.shape[yPred.shape.length - 1] as number;
  return tf.metrics.categoricalCrossentropy(tf.oneHot(tf.cast(tf.reshape(yTrue, [-1]), 'int32'), depth), yPred);
}

/** The body of the guide's train_step, under a tape: predictions in training mode and their mean loss. */
export function trainStep(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): TrainStepOutput {
  const predictions = model.apply(x, { training: true }) as tf.Tensor;
  const loss = tf.mean(lossObject(y, predictions)) as tf.Scalar;
  return { loss, predictions };
}

/** keras.metrics.Mean / SparseCategoricalAccuracy: running means, reset each epoch. */
class Mean {
  private sum = 0;
  private count = 0;
  update(value: number, weight = 1): void {
    this.sum += value * weight;
    this.count += weight;
  }
  result(): number {
    return this.count > 0 ? this.sum / this.count : 0;
  }
  resetStates(): void {
    this.sum = 0;
    this.count = 0;
  }
}

/** Runs the loop; returns the per-epoch [loss, accuracy]. */
export async function customLoop(
  opts: { epochs?: number; samples?: number; batchSize?: number; log?: (line: string) => void } = {},
): Promise<[number, number][]> {
  const model = guideMlp();
  const optimizer = tf.train.adam(1e-3);
  const variables = trainableVariables(model);
  const trainLoss = new Mean();
  const trainAccuracy = new Mean();
  const { train } = loadMnist({ trainCount: opts.samples ?? 10_000, testCount: 0 });
  const n = train.xShape[0] as number;
  const batchSize = opts.batchSize ?? 32;
  const out: [number, number][] = [];

  // One train_step: forward under the tape, gradients of the loss, apply, update the metrics.
  const step = (x: tf.Tensor, y: tf.Tensor) => {
    let predictions: tf.Tensor | undefined;
    const { value, grads } = tapeGradients(() => {
      const r = trainStep(model, x, y);
      predictions = tf.keep(r.predictions as tf.Tensor);
      return r.loss;
    }, variables);
    optimizer.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: grads[i] as tf.Tensor })));
    const rows = x.shape[0] as number;
    trainLoss.update(value.dataSync()[0] as number, rows);
    const correct = tf.tidy(
      () =>
        tf
          .sum(tf.cast(tf.equal(tf.argMax(predictions as tf.Tensor, -1), tf.cast(y, 'int32')), 'float32'))
          .dataSync()[0] as number,
    );
    trainAccuracy.update(correct / rows, rows);
    tf.dispose([value, ...grads, predictions as tf.Tensor]);
  };

  for (let epoch = 0; epoch < (opts.epochs ?? 3); epoch++) {
    for (let start = 0; start < n; start += batchSize) {
      const rows = Math.min(batchSize, n - start);
      const x = tf.tensor(train.x.subarray(start * 784, (start + rows) * 784), [rows, 784]);
      const y = tf.tensor(train.y.subarray(start, start + rows), [rows]);
      step(x, y);
      tf.dispose([x, y]);
    }
    (opts.log ?? console.log)(
      `Epoch ${epoch + 1}, Loss: ${trainLoss.result().toFixed(4)}, Accuracy: ${trainAccuracy.result().toFixed(4)}`,
    );
    out.push([trainLoss.result(), trainAccuracy.result()]);
    trainLoss.resetStates();
    trainAccuracy.resetStates();
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { values } = parseArgs({
    options: {
      epochs: { type: 'string', default: '3' },
      samples: { type: 'string', default: '10000' },
      backend: { type: 'string', default: 'auto' },
    },
  });
  await selectBackend(values.backend as BackendRequest);
  await customLoop({ epochs: Number(values.epochs), samples: Number(values.samples) });
}
