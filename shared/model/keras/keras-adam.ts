/**
 * Keras 3's Adam, for `'adam'`: tfjs's AdamOptimizer adds ε to the bias-corrected √v̂, Keras adds it to
 * the raw √v and folds both corrections into the step size, which moves small-gradient weights
 * differently (a gradient of 1e-6 steps 9.09e-4 in tfjs, 2.40e-4 in Keras at lr 1e-3). tfjs's own rule
 * stays available as `'tfjs_adam'`.
 */
import * as tf from '@tensorflow/tfjs';

/** A named tensor as tfjs optimizers save their state. */
type NamedTensor = { name: string; tensor: tf.Tensor };

interface Slots {
  m: tf.Variable;
  v: tf.Variable;
}

/**
 * Adam with Keras 3's update:
 * α = lr·√(1−β₂ᵗ)/(1−β₁ᵗ); m += (g−m)(1−β₁); v += (g²−v)(1−β₂); w −= α·m/(√v+ε).
 */
export class KerasAdam extends tf.Optimizer {
  /** The name tfjs serialization knows it by. */
  static get className(): string {
    return 'KerasAdam';
  }

  private readonly slots = new Map<string, Slots>();

  constructor(
    public learningRate: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-7,
  ) {
    super();
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const grads = Array.isArray(variableGradients)
      ? variableGradients
      : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const t = this.iterations + 1;
    // In float64 here, as one float32 scalar below: Keras computes it in the variable's dtype.
    const alpha = (this.learningRate * Math.sqrt(1 - this.beta2 ** t)) / (1 - this.beta1 ** t);
    tf.tidy(() => {
      for (const { name, tensor: g } of grads) {
        const variable = tf.engine().registeredVariables[name];
        if (variable === undefined || g == null) continue;
        const s = this.slotsOf(name, variable);
        s.m.assign(tf.add(s.m, tf.mul(tf.sub(g, s.m), 1 - this.beta1)));
        s.v.assign(tf.add(s.v, tf.mul(tf.sub(tf.square(g), s.v), 1 - this.beta2)));
        variable.assign(tf.sub(variable, tf.div(tf.mul(s.m, alpha), tf.add(tf.sqrt(s.v), this.epsilon))));
      }
    });
    this.incrementIterations();
  }

  private slotsOf(name: string, variable: tf.Variable): Slots {
    let s = this.slots.get(name);
    if (s === undefined) {
      s = {
        m: tf.variable(tf.zerosLike(variable), false, `${name}/m`),
        v: tf.variable(tf.zerosLike(variable), false, `${name}/v`),
      };
      this.slots.set(name, s);
    }
    return s;
  }

  override dispose(): void {
    for (const s of this.slots.values()) tf.dispose([s.m, s.v]);
    this.slots.clear();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const slots = [...this.slots.entries()].flatMap(([name, s]) => [
      { name: `${name}/m`, tensor: s.m },
      { name: `${name}/v`, tensor: s.v },
    ]);
    return [await this.saveIterations(), ...slots];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    for (const { name, tensor } of rest) {
      const cut = name.lastIndexOf('/');
      const variable = name.slice(0, cut);
      const slot = name.slice(cut + 1);
      if (slot !== 'm' && slot !== 'v') continue;
      const target = tf.engine().registeredVariables[variable];
      if (target === undefined) continue;
      this.slotsOf(variable, target)[slot].assign(tensor);
    }
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}
