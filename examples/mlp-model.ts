/** The Keras guide's Sequential MLP, shared by the examples. */
import * as tf from '@tensorflow/tfjs';

/** 784-128 relu, Dropout 0.2, 64 relu, Dropout 0.2, 10 softmax. */
export function guideMlp(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 128, activation: 'relu', inputShape: [784] }),
      tf.layers.dropout({ rate: 0.2 }),
      tf.layers.dense({ units: 64, activation: 'relu' }),
      tf.layers.dropout({ rate: 0.2 }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}
