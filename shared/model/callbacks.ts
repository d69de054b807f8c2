/**
 * The Keras callback life cycle. Every hook is optional and async, and the coordinator awaits them in
 * order; a callback that does not override a hook costs nothing. Callbacks run on the coordinator only.
 */
import type * as tf from '@tensorflow/tfjs';

/** Logs as Keras passes them: `loss`, metric names, `val_` prefixed validation values, `lr`. */
export type Logs = Record<string, number>;

/** What a callback may read and steer while training runs. */
export interface TrainingControl {
  readonly model: tf.LayersModel;
  readonly optimizer: tf.Optimizer;
  /** Set to true to stop after the current batch (Keras's `model.stop_training`). */
  stopTraining: boolean;
  readonly params: {
    readonly epochs: number;
    readonly steps: number;
    readonly batchSize: number;
    readonly verbose: number;
  };
}

/** A Keras callback: override any hook. */
export interface Callback {
  setControl?(control: TrainingControl): void;
  /** JSON-serialisable state for coordinator checkpoints, so a resumed run continues where it was. */
  getState?(): unknown;
  /** Restores getState()'s value; called before onTrainBegin when a run resumes. */
  setState?(state: unknown): void;
  onTrainBegin?(logs: Logs): void | Promise<void>;
  onTrainEnd?(logs: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  onTrainBatchBegin?(batch: number, logs: Logs): void | Promise<void>;
  onTrainBatchEnd?(batch: number, logs: Logs): void | Promise<void>;
  onTestBegin?(logs: Logs): void | Promise<void>;
  onTestEnd?(logs: Logs): void | Promise<void>;
  onPredictBegin?(logs: Logs): void | Promise<void>;
  onPredictEnd?(logs: Logs): void | Promise<void>;
}

type Hook = Exclude<keyof Callback, 'setControl'>;

/** Callbacks the trainer adds around the user's, as Keras adds ProgbarLogger and History. */
export interface BuiltIns {
  /** Run before the user's callbacks (the progress bar, so its line precedes what they print). */
  readonly first?: readonly Callback[];
  /** Run after them (History, so it records the keys they add to the epoch logs, such as `learning_rate`). */
  readonly last?: readonly Callback[];
}

/**
 * Dispatches each hook to every callback, in order, awaiting each. Checkpointed state covers only the
 * user's `callbacks`, by position, so adding built-ins does not shift the states in older checkpoints.
 */
export class CallbackList {
  private readonly dispatch: readonly Callback[];

  constructor(
    readonly callbacks: readonly Callback[],
    builtIns: BuiltIns = {},
  ) {
    this.dispatch = [...(builtIns.first ?? []), ...callbacks, ...(builtIns.last ?? [])];
  }

  /** The same user callbacks with `builtIns` around them (Keras's CallbackList(add_history, add_progbar)). */
  withBuiltIns(builtIns: BuiltIns): CallbackList {
    return new CallbackList(this.callbacks, builtIns);
  }

  /** Hands the training control to every callback before training starts. */
  setControl(control: TrainingControl): void {
    for (const cb of this.dispatch) cb.setControl?.(control);
  }

  /** Every callback's state, by position (undefined for stateless ones). */
  getStates(): unknown[] {
    return this.callbacks.map((cb) => cb.getState?.());
  }

  /** Restores states saved by getStates(). */
  setStates(states: readonly unknown[]): void {
    this.callbacks.forEach((cb, i) => {
      if (states[i] !== undefined) cb.setState?.(states[i]);
    });
  }

  /** Calls `hook` on every callback that defines it. */
  async call<H extends Hook>(hook: H, ...args: Parameters<NonNullable<Callback[H]>>): Promise<void> {
    for (const cb of this.dispatch) {
      const fn = cb[hook] as ((...a: unknown[]) => void | Promise<void>) | undefined;
      if (fn) await fn.apply(cb, args);
    }
  }
}

/** Base class with the control stored, for callbacks that need the model or optimizer. */
export abstract class BaseCallback implements Callback {
  protected control!: TrainingControl;

  setControl(control: TrainingControl): void {
    this.control = control;
  }
}
