/**
 * Moving an optimizer between processes: its class and config (so every worker builds the coordinator's
 * optimizer), and its state (iterations and slots, for checkpoints and for workers that join mid-run).
 * Slot names embed the variable names of the process that made them, and tfjs numbers variables per
 * process, so on the wire a slot names its variable by position (`#3/m`) and each side maps it back.
 */
import * as tf from '@tensorflow/tfjs';
import { fleetError } from '../../runtime/catalogue/index.ts';
import { trainableVariables } from '../step.ts';
import { KerasAdam } from './keras-adam.ts';

/** An optimizer's tfjs class name and config, as `welcome` carries it. */
export interface OptimizerConfig {
  readonly className: string;
  readonly config: Record<string, unknown>;
}

/** The class name and config that rebuild `optimizer` elsewhere. */
export function optimizerConfig(optimizer: tf.Optimizer): OptimizerConfig {
  return { className: optimizer.getClassName(), config: { ...optimizer.getConfig() } };
}

/** Builds the optimizer a config describes: KerasAdam, or one of tfjs's registered optimizers. */
export function optimizerFromConfig(c: OptimizerConfig): tf.Optimizer {
  if (c.className === KerasAdam.className) {
    const n = (k: string, d: number) => (typeof c.config[k] === 'number' ? (c.config[k] as number) : d);
    return new KerasAdam(n('learningRate', 0.001), n('beta1', 0.9), n('beta2', 0.999), n('epsilon', 1e-7));
  }
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[c.className];
  if (entry === undefined) throw fleetError('OPTIMIZER_UNKNOWN_CLASS', { received: c.className });
  const [cls, fromConfig] = entry;
  const built = fromConfig(cls, c.config as tf.serialization.ConfigDict);
  if (!(built instanceof tf.Optimizer)) throw fleetError('OPTIMIZER_UNKNOWN_CLASS', { received: c.className });
  return built;
}

/** One optimizer slot as it travels (structurally a float32 wire tensor; shared/model does not import the wire). */
export interface SlotTensor {
  readonly name: string;
  readonly dtype: 'float32' | 'int32';
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

/** An optimizer's state as it travels: the iteration count, and the slots named by variable position. */
export interface OptimizerState {
  readonly iterations: number;
  readonly slots: readonly SlotTensor[];
}

/** Reads `optimizer`'s state, its slot names rewritten from `model`'s variable names to positions. */
export async function readOptimizerState(model: tf.LayersModel, optimizer: tf.Optimizer): Promise<OptimizerState> {
  const [iter, ...slots] = await optimizer.getWeights();
  const names = trainableVariables(model).map((v) => v.name);
  const iterations = iter ? (iter.tensor.dataSync()[0] as number) : 0;
  return {
    iterations,
    slots: slots.map(({ name, tensor }) => ({
      name: renameSlot(name, names, (i) => `#${i}`),
      dtype: 'float32' as const,
      shape: tensor.shape,
      data: Float32Array.from(tensor.dataSync()),
    })),
  };
}

/** Writes a state read by `readOptimizerState` (in any process) into `optimizer` for `model`. */
export async function writeOptimizerState(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  state: OptimizerState,
): Promise<void> {
  const names = trainableVariables(model).map((v) => v.name);
  const positions = names.map((_, i) => `#${i}`);
  const tensors = [
    { name: 'iter', tensor: tf.scalar(state.iterations, 'int32') },
    ...state.slots.map((s) => ({
      name: renameSlot(s.name, positions, (i) => names[i] as string),
      tensor: tf.tensor(s.data, [...s.shape], 'float32'),
    })),
  ];
  try {
    await optimizer.setWeights(tensors);
  } finally {
    tf.dispose(tensors.map((t) => t.tensor));
  }
}

/** `name` with its variable prefix (one of `from`, the longest that matches) replaced by `to(i)`. */
function renameSlot(name: string, from: readonly string[], to: (i: number) => string): string {
  let best = -1;
  from.forEach((v, i) => {
    if (name.startsWith(`${v}/`) && (best < 0 || v.length > (from[best] as string).length)) best = i;
  });
  if (best < 0) throw fleetError('OPTIMIZER_SLOT_NAME', { received: name, count: from.length });
  return `${to(best)}${name.slice((from[best] as string).length)}`;
}
