/** Error message templates raised by shared/model/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const MODEL_MESSAGES = {
  AUGMENT_BAD_LAYER: {
    code: 'FLEET_ERR_CONFIG',
    template:
      "Expected {where} to be one of {classes} as {form} with Keras's config keys; {issue}{at}. Received: {entry:q}",
  },
  AUGMENT_UNHANDLED: { code: 'FLEET_ERR_CONFIG', template: 'Unhandled augmentation {augmentation:q}' },
  AUGMENT_BAD_SPEC: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected augment to be {form}; {path}: {issue}. Received: {spec:q}',
  },
  AUGMENT_NOT_IMAGES: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected image data of shape [n, height, width, channels] for augment. Received: xShape [{xShape}]',
  },
  STEP_BAD_LOSS: {
    code: 'FLEET_ERR_JOB_INVALID',
    template: 'Expected trainStep to return {form} with the batch-mean loss as a rank-0 tensor. Received: {received}',
  },
  STEP_NO_PREDICTIONS: {
    code: 'FLEET_ERR_JOB_INVALID',
    template: 'Expected trainStep to return predictions as well, for compile.metrics. Received: {keys:q}',
  },
  DATA_NOT_FLOAT32: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected {name}.x and {name}.y to be Float32Arrays. Received: {x:q}, {y:q}',
  },
  DATA_COUNT_MISMATCH: {
    code: 'FLEET_ERR_DATA',
    template:
      'Expected {name} x and y to have the same number of examples. Received: xShape [{xShape}], yShape [{yShape}]',
  },
  DATA_X_SIZE: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected {name}.x to hold {count} values for shape [{shape}]. Received: {received}',
  },
  DATA_Y_SIZE: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected {name}.y to hold {count} values for shape [{shape}]. Received: {received}',
  },
  MNIST_BAD_IMAGES: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected an IDX3 image file with magic 0x803 in {file}. Received: {bytes} bytes, magic 0x{magic}',
  },
  MNIST_FILE_SIZE: { code: 'FLEET_ERR_DATA', template: 'Expected {bytes} bytes in {file}. Received: {received}' },
  MNIST_BAD_LABELS: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected an IDX1 label file with magic 0x801 in {file}. Received: {bytes} bytes',
  },
  MNIST_LABEL_COUNT: { code: 'FLEET_ERR_DATA', template: 'Expected {count} labels in {file}. Received: {received}' },
  LOSS_UNKNOWN: { code: 'FLEET_ERR_LOSS', template: 'Expected a loss among {names}. Received: "{name}"' },
  METRIC_UNKNOWN: {
    code: 'FLEET_ERR_METRIC',
    template: 'Expected a metric among accuracy, {names}. Received: "{name}"',
  },
  OPTIMIZER_UNKNOWN: {
    code: 'FLEET_ERR_OPTIMIZER',
    template: 'Expected an optimizer among {names}. Received: {spec:q}',
  },
  OPTIMIZER_LEARNING_RATE: {
    code: 'FLEET_ERR_OPTIMIZER',
    template: 'Expected learningRate > 0. Received: {learningRate:q}',
  },
  OPTIMIZER_NOT_BUILT: { code: 'FLEET_ERR_OPTIMIZER', template: 'Expected a known optimizer. Received: {spec:q}' },
  LAYER_ONE_INPUT: { code: 'FLEET_ERR_DATA', template: '{layer} expects one input tensor. Received: {count}' },
  LAYER_IMAGE_RANK: {
    code: 'FLEET_ERR_DATA',
    template: '{layer} expects images of rank 4 [batch, height, width, channels] or rank 3. Received: shape [{shape}]',
  },
  LAYER_ARGS: { code: 'FLEET_ERR_CONFIG', template: 'Expected {className} arguments as an object. Received: {args:q}' },
  OPTIMIZER_UNKNOWN_CLASS: {
    code: 'FLEET_ERR_OPTIMIZER',
    template: [
      'Expected an optimizer class workers can rebuild (a Keras name or a registered tfjs class). ',
      'Received: {received:q}',
    ],
  },
  OPTIMIZER_SLOT_NAME: {
    code: 'FLEET_ERR_OPTIMIZER',
    template:
      "Expected an optimizer slot named after one of the model's {count} trainable variables. Received: {received:q}",
  },
  OPTIMIZER_NO_LEARNING_RATE: {
    code: 'FLEET_ERR_OPTIMIZER',
    template: 'Expected an optimizer with a numeric learningRate. Received: {className}',
  },
  OPTIMIZER_SET_LEARNING_RATE: {
    code: 'FLEET_ERR_OPTIMIZER',
    template: 'Expected a learning rate > 0. Received: {lr}',
  },
  JOB_NOT_FOUND: { code: 'FLEET_ERR_JOB_LOAD', template: 'Expected a job module at {file}. Received: no such file' },
  JOB_LOAD_FAILED: { code: 'FLEET_ERR_JOB_LOAD', template: 'Job {file} failed to load: {reason}' },
  JOB_FACTORY_FAILED: { code: 'FLEET_ERR_JOB_LOAD', template: 'Job {file}: its factory failed: {reason}' },
  JOB_NOT_DEFINED: {
    code: 'FLEET_ERR_JOB_INVALID',
    template: 'Job {file}: expected a default export from defineJob({fields}); {path}: {issue}',
  },
  JOB_COMPILE_LOSS: { code: 'FLEET_ERR_LOSS', template: 'Job {file}: {reason}' },
  JOB_COMPILE_METRIC: { code: 'FLEET_ERR_METRIC', template: 'Job {file}: {reason}' },
  JOB_COMPILE_OPTIMIZER: { code: 'FLEET_ERR_OPTIMIZER', template: 'Job {file}: {reason}' },
  JOB_COMPILE_INVALID: { code: 'FLEET_ERR_JOB_INVALID', template: 'Job {file}: {reason}' },
} as const satisfies Record<string, MessageSpec>;
