/**
 * Reading and changing a tfjs optimizer's learning rate. tfjs optimizers keep it in a `learningRate`
 * field; SGD and Momentum also cache `-lr` as a tensor and expose `setLearningRate` to refresh it,
 * so that is used when present. Adam, RMSProp and Adagrad read the field on every update.
 */
import type * as tf from '@tensorflow/tfjs';
import { fleetError } from '../../runtime/catalogue/index.ts';

/** The optimizer's current learning rate. */
export function getLearningRate(optimizer: tf.Optimizer): number {
  // tf.Optimizer does not declare the field; `in` narrows to it without a cast.
  const lr = 'learningRate' in optimizer ? optimizer.learningRate : undefined;
  if (typeof lr !== 'number') throw fleetError('OPTIMIZER_NO_LEARNING_RATE', { className: optimizer.getClassName() });
  return lr;
}

/** Sets the learning rate the optimizer will use from its next update on. */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  if (!(lr > 0) || !Number.isFinite(lr)) throw fleetError('OPTIMIZER_SET_LEARNING_RATE', { lr });
  const setter = 'setLearningRate' in optimizer ? optimizer.setLearningRate : undefined;
  if (typeof setter === 'function') Reflect.apply(setter, optimizer, [lr]);
  else Reflect.set(optimizer, 'learningRate', lr);
}
