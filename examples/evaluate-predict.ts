/**
 * The guide's "Evaluation and Prediction" with the programmatic API: train on random data, then
 * evaluate and predict on 100 test rows, all distributed over a local cluster.
 *   npx tsx examples/evaluate-predict.ts [--workers 2] [--epochs 3]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { local } from '../index.ts';
import { randomData } from './guide-data.ts';
import { guideMlp } from './mlp-model.ts';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    epochs: { type: 'string', default: '3' },
    backend: { type: 'string', default: 'auto' },
  },
});
const asTensors = (d: ReturnType<typeof randomData>) =>
  [tf.tensor(d.x, [...d.xShape]), tf.tensor(d.y, [...d.yShape])] as const;

const cluster = await local({ workers: Number(values.workers), backend: values.backend as 'auto' });
const model = guideMlp();
model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
const [xTrain, yTrain] = asTensors(randomData(1000, 42));
await cluster.fit(model, xTrain, yTrain, { epochs: Number(values.epochs), batchSize: 32, verbose: 0 });

const [xTest, yTest] = asTensors(randomData(100, 44));
const [testLoss, testAccuracy] = await cluster.evaluate(model, xTest, yTest);
console.log(`Test accuracy: ${testAccuracy?.toFixed(4)}`);
console.log(`Test loss: ${testLoss?.toFixed(4)}`);

const predictions = await cluster.predict(model, xTest);
await cluster.close(); // the workers exit: a cluster keeps them across fit, evaluate and predict until then
console.log(`Predictions shape: [${predictions.shape.join(', ')}]`);
const predicted = Array.from(tf.argMax(predictions, 1).dataSync());
const truth = Array.from(yTest.dataSync());
console.log(`Predicted classes: [${predicted.slice(0, 10).join(', ')}]`);
console.log(`True labels: [${truth.slice(0, 10).join(', ')}]`);
console.log(`Accuracy: ${(predicted.filter((p, i) => p === truth[i]).length / truth.length).toFixed(4)}`);
process.exit(0);
