/**
 * The guide's CustomDenseLayer: a tf.layers.Layer subclass with build (addWeight), call and getConfig,
 * registered with tf.serialization.registerClass at the top level of this module. The coordinator
 * and every worker import the job module, so the class exists wherever the model is rebuilt.
 *   npx tensorfleet local --workers 2 examples/custom-layer.ts
 * A job factory: `trainCount`/`testCount` (defaults: all of MNIST) size the data.
 */
import * as tf from '@tensorflow/tfjs';
import { defineJob, loadMnist } from '../index.ts';

type ActivationName = Parameters<typeof tf.layers.activation>[0]['activation'];

/** CustomDenseLayer's arguments: the guide's units and activation. */
export interface CustomDenseArgs extends NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> {
  units: number;
  activation?: ActivationName | null;
}

/** output = activation(inputs · kernel + bias), with kernel glorot-uniform and bias zeros, as in the guide. */
export class CustomDenseLayer extends tf.layers.Layer {
  static readonly className = 'CustomDenseLayer';
  readonly units: number;
  readonly activation: ActivationName | null;
  private readonly activationFn: tf.layers.Layer | null;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: CustomDenseArgs) {
    super(args);
    this.units = args.units;
    this.activation = args.activation ?? null;
    // keras.activations.get(activation): tfjs resolves the names through its Activation layer.
    this.activationFn = this.activation ? tf.layers.activation({ activation: this.activation }) : null;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    this.kernel = this.addWeight(
      'kernel',
      [shape[shape.length - 1] as number, this.units],
      'float32',
      tf.initializers.glorotUniform({}),
      undefined,
      true,
    );
    this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros(), undefined, true);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [...shape.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
      const output = tf.add(
        tf.matMul(x, (this.kernel as tf.LayerVariable).read()),
        (this.bias as tf.LayerVariable).read(),
      );
      return this.activationFn ? (this.activationFn.apply(output) as tf.Tensor) : output;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units, activation: this.activation };
  }
}
// At the top level: every process that imports this job module (coordinator and workers) registers it.
tf.serialization.registerClass(CustomDenseLayer);

/** The guide's custom_model: CustomDenseLayer(64, relu) → (32, relu) → (10, softmax). */
export function customModel(): tf.Sequential {
  return tf.sequential({
    layers: [
      new CustomDenseLayer({ units: 64, activation: 'relu', inputShape: [784] }),
      new CustomDenseLayer({ units: 32, activation: 'relu' }),
      new CustomDenseLayer({ units: 10, activation: 'softmax' }),
    ],
  });
}

export default function job(args: { trainCount?: number; testCount?: number } = {}) {
  return defineJob({
    name: 'custom-layer',
    model: customModel,
    compile: { optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
    data: () => loadMnist({ trainCount: args.trainCount, testCount: args.testCount }),
    fit: { epochs: 5, batchSize: 64, validationSplit: 0.1, verbose: 1 },
  });
}
