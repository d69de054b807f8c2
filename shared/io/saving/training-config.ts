/**
 * The compile config (optimizer, loss, metrics) in Keras's two saved shapes: `training_config` of a
 * legacy `.h5` and `compile_config` of a `.keras`; and back to tensorfleet's CompileSpec on load.
 */
import * as tf from '@tensorflow/tfjs';
import type { CompileSpec } from '../../model/job.ts';
import { canonicalLoss, snakeCase } from '../../model/keras/losses.ts';
import type { OptimizerSpec } from '../../model/keras/optimizers.ts';
import { isObject, type Json } from './config-values.ts';

/** What a saved model records about its compile call. */
export type TrainingConfig = CompileSpec;

const CLASS: Record<string, string> = { sgd: 'SGD', adam: 'Adam', rmsprop: 'RMSprop', adagrad: 'Adagrad' };
const DEFAULT_LR: Record<string, number> = { sgd: 0.01, adam: 0.001, rmsprop: 0.001, adagrad: 0.01 };

// A tfjs optimizer instance as the equivalent Keras spec (tfjs's Momentum is Keras's SGD with momentum).
function specOfInstance(opt: tf.Optimizer): Exclude<OptimizerSpec, string> {
  const c = opt.getConfig() as Record<string, number | boolean>;
  const n = (k: string) => (typeof c[k] === 'number' ? (c[k] as number) : undefined);
  switch (opt.getClassName()) {
    case 'Adam':
      return {
        name: 'adam',
        learningRate: n('learningRate') ?? 0.001,
        beta1: n('beta1') ?? 0.9,
        beta2: n('beta2') ?? 0.999,
        epsilon: n('epsilon') ?? 1e-7,
      };
    case 'Momentum':
      return {
        name: 'sgd',
        learningRate: n('learningRate') ?? 0.01,
        momentum: n('momentum') ?? 0,
        nesterov: c.useNesterov === true,
      };
    case 'RMSProp':
      return {
        name: 'rmsprop',
        learningRate: n('learningRate') ?? 0.001,
        rho: n('decay') ?? 0.9,
        momentum: n('momentum') ?? 0,
        epsilon: n('epsilon') ?? 1e-7,
      };
    case 'Adagrad':
      return { name: 'adagrad', learningRate: n('learningRate') ?? 0.01 };
    default:
      return { name: opt.getClassName().toLowerCase(), learningRate: n('learningRate') ?? 0.01 };
  }
}

function optimizerConfig(spec: OptimizerSpec | tf.Optimizer): { class_name: string; config: Json } {
  const o = spec instanceof tf.Optimizer ? specOfInstance(spec) : typeof spec === 'string' ? { name: spec } : spec;
  const name = o.name.toLowerCase();
  const lr = o.learningRate ?? DEFAULT_LR[name] ?? 0.001;
  const config: Json = { name, learning_rate: lr };
  if (name === 'sgd') Object.assign(config, { momentum: o.momentum ?? 0, nesterov: o.nesterov ?? false });
  if (name === 'adam')
    Object.assign(config, {
      beta_1: o.beta1 ?? 0.9,
      beta_2: o.beta2 ?? 0.999,
      epsilon: o.epsilon ?? 1e-7,
      amsgrad: false,
    });
  if (name === 'rmsprop')
    Object.assign(config, {
      rho: o.rho ?? 0.9,
      momentum: o.momentum ?? 0,
      epsilon: o.epsilon ?? 1e-7,
      centered: false,
    });
  return { class_name: CLASS[name] ?? o.name, config };
}

// A custom loss function has no name Keras could look up: such a config is not saved.
function lossOf(spec: TrainingConfig, warn: (m: string) => void): string | undefined {
  if (typeof spec.loss === 'string') return canonicalLoss(spec.loss);
  warn('the compile config has a custom loss function, which Keras cannot load by name; it is not saved.');
  return undefined;
}

/** A legacy-.h5 `training_config` (the root attribute Keras 2 and 3 read to recompile). */
export function toTrainingConfig(spec: TrainingConfig, warn: (m: string) => void): Json | undefined {
  const loss = lossOf(spec, warn);
  if (loss === undefined) return undefined;
  return {
    loss,
    metrics: spec.metrics ?? [],
    weighted_metrics: null,
    loss_weights: null,
    optimizer_config: optimizerConfig(spec.optimizer),
  };
}

/** A `.keras` `compile_config`, as Keras 3's Model.get_compile_config writes it. */
export function toCompileConfig(spec: TrainingConfig, warn: (m: string) => void): Json | undefined {
  const loss = lossOf(spec, warn);
  if (loss === undefined) return undefined;
  const { class_name, config } = optimizerConfig(spec.optimizer);
  return {
    optimizer: { module: 'keras.optimizers', class_name, config, registered_name: null },
    loss,
    loss_weights: null,
    metrics: spec.metrics ?? [],
    weighted_metrics: null,
    run_eagerly: false,
    steps_per_execution: 1,
    jit_compile: false,
  };
}

function lossName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.class_name === 'string') return snakeCase(v.class_name);
  // Keras 2 stored per-output losses as a dict or list; one output is all tensorfleet trains.
  if (isObject(v)) return lossName(Object.values(v)[0]);
  if (Array.isArray(v)) return lossName(v[0]);
  return undefined;
}

/**
 * The CompileSpec of a saved `training_config` or `compile_config`, or undefined (with a warning) when it
 * names something tensorfleet cannot compile. The optimizer keeps only what OptimizerSpec can carry.
 */
export function fromSavedCompile(saved: unknown, warn: (m: string) => void): TrainingConfig | undefined {
  if (!isObject(saved)) return undefined;
  const opt = isObject(saved.optimizer_config) ? saved.optimizer_config : saved.optimizer;
  const loss = lossName(saved.loss);
  if (loss === undefined) return undefined;
  // Keras compiles with rmsprop when no optimizer is given, and Keras 3.10 leaves it out of compile_config.
  let optimizer: OptimizerSpec = 'rmsprop';
  if (opt === undefined || opt === null)
    warn("the saved compile config names no optimizer; Keras's default, rmsprop, is assumed.");
  else if (typeof opt === 'string') optimizer = opt.toLowerCase();
  else if (isObject(opt) && typeof opt.class_name === 'string') {
    const c = isObject(opt.config) ? opt.config : {};
    const lr = c.learning_rate ?? c.lr;
    const name = opt.class_name.toLowerCase();
    optimizer = {
      name,
      ...(typeof lr === 'number' && { learningRate: lr }),
      ...(typeof c.momentum === 'number' && { momentum: c.momentum }),
      ...(typeof c.nesterov === 'boolean' && { nesterov: c.nesterov }),
      ...(typeof c.beta_1 === 'number' && { beta1: c.beta_1 }),
      ...(typeof c.beta_2 === 'number' && { beta2: c.beta_2 }),
      ...(typeof c.epsilon === 'number' && { epsilon: c.epsilon }),
      ...(typeof c.rho === 'number' && { rho: c.rho }),
    };
  }
  const rawMetrics = Array.isArray(saved.metrics) ? saved.metrics.flat(2) : [];
  const metrics = rawMetrics.filter((m): m is string => typeof m === 'string');
  if (metrics.length < rawMetrics.length)
    warn('some saved metrics are not plain names and were left out of the compile config.');
  return { optimizer, loss, ...(metrics.length > 0 && { metrics }) };
}
