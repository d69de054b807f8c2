/** Keras optimizer names and configs mapped onto tfjs optimizers, with Keras's default learning rates. */
import * as tf from '@tensorflow/tfjs';
import { fleetError } from '../../runtime/catalogue/index.ts';
import { KerasAdam } from './keras-adam.ts';

/** An optimizer as a name ('adam') or as a config object ({ name: 'sgd', learningRate: 0.1, momentum: 0.9 }). */
export type OptimizerSpec =
  | string
  | {
      name: string;
      learningRate?: number;
      momentum?: number;
      nesterov?: boolean;
      beta1?: number;
      beta2?: number;
      epsilon?: number;
      rho?: number;
    };

// Keras defaults. 'adam' is Keras 3's update rule (keras-adam.ts); 'tfjs_adam' is tfjs's, where ε sits elsewhere.
const DEFAULT_LR: Record<string, number> = { sgd: 0.01, adam: 0.001, tfjs_adam: 0.001, rmsprop: 0.001, adagrad: 0.01 };

/** Builds a tfjs optimizer from a Keras-style spec; throws FLEET_ERR_OPTIMIZER for unknown names or bad values. */
export function makeOptimizer(spec: OptimizerSpec | tf.Optimizer): tf.Optimizer {
  if (spec instanceof tf.Optimizer) return spec;
  const cfg = typeof spec === 'string' ? { name: spec } : spec;
  const name = String(cfg.name).toLowerCase();
  if (!(name in DEFAULT_LR)) throw fleetError('OPTIMIZER_UNKNOWN', { names: Object.keys(DEFAULT_LR).join(', '), spec });
  const lr = cfg.learningRate ?? (DEFAULT_LR[name] as number);
  if (!(lr > 0) || !Number.isFinite(lr))
    throw fleetError('OPTIMIZER_LEARNING_RATE', { learningRate: cfg.learningRate });
  const c = cfg as Exclude<OptimizerSpec, string>;
  switch (name) {
    case 'sgd':
      return (c.momentum ?? 0) > 0
        ? tf.train.momentum(lr, c.momentum as number, c.nesterov ?? false)
        : tf.train.sgd(lr);
    case 'adam':
      return new KerasAdam(lr, c.beta1 ?? 0.9, c.beta2 ?? 0.999, c.epsilon ?? 1e-7);
    case 'tfjs_adam':
      return tf.train.adam(lr, c.beta1 ?? 0.9, c.beta2 ?? 0.999, c.epsilon ?? 1e-7);
    case 'rmsprop':
      return tf.train.rmsprop(lr, c.rho ?? 0.9, c.momentum ?? 0, c.epsilon ?? 1e-7);
    case 'adagrad':
      return tf.train.adagrad(lr, 0.1);
    default:
      throw fleetError('OPTIMIZER_NOT_BUILT', { spec });
  }
}
