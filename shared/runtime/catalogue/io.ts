/** Error message templates raised by shared/io/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const IO_MESSAGES = {
  VGG16_INPUT_SHAPE: {
    code: 'FLEET_ERR_CONFIG',
    template: [
      "Expected VGG16's inputShape [height, width, channels] with height and width >= 32 (five 2x2 ",
      'poolings). Received: {inputShape:q}',
    ],
  },
  APP_NO_MODEL_JSON: {
    code: 'FLEET_ERR_FILE',
    template: 'Expected a TensorFlow.js model.json in {dir}. Received: {reason}',
  },
  APP_NO_WEIGHTS_MANIFEST: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected a weightsManifest in {file}. Received: {keys:q}',
  },
  APP_WEIGHT_MISSING: {
    code: 'FLEET_ERR_WEIGHTS_MISMATCH',
    template: 'Expected weight "{name}" in {dir}. Received: {names:q}{more}',
  },
  APP_WEIGHT_SHAPE: {
    code: 'FLEET_ERR_WEIGHTS_MISMATCH',
    template: 'Expected weight "{name}" of shape [{shape}] in {dir}. Received: [{received}]',
  },
  MODEL_JSON_NOT_CONFIG: {
    code: 'FLEET_ERR_JOB_INVALID',
    template: 'Expected a Keras model config object (model.toJSON(null, false)). Received: {config:q}',
  },
  MODEL_JSON_UNREGISTERED_CLASS: {
    code: 'FLEET_ERR_JOB_INVALID',
    template: [
      'Expected {kind} class "{name}" to be registered on this worker: the model\'s Keras JSON uses it, ',
      'but this process has no class of that name. To fix it, {fix}. Received: {received}',
    ],
  },
  KERAS_ACTIVATION: {
    code: 'FLEET_ERR_MODEL_CONFIG',
    template: [
      'Expected an activation TensorFlow.js computes the same way, one of {names}, in {where} of ',
      '{source}{hint}. Received: {received}',
    ],
  },
  FILE_ACCESS: { code: 'FLEET_ERR_FILE', template: 'Expected to {doing} {file}. Received: {reason}' },
  FILE_UNKNOWN_FORMAT: {
    code: 'FLEET_ERR_FORMAT',
    template: [
      'Expected {file} to be a Keras HDF5 file (\\x89HDF), a .keras zip (PK\\x03\\x04) or JSON. Received: ',
      'first bytes "{head}"',
    ],
  },
  H5_OPEN_READ: { code: 'FLEET_ERR_FORMAT', template: 'Expected {what} at {file}. Received: {reason}' },
  H5_OPEN_WRITE: { code: 'FLEET_ERR_FILE', template: 'Expected {what} at {file}. Received: {reason}' },
  H5_WRITE: { code: 'FLEET_ERR_FILE', template: 'Expected to write HDF5 data to {file}. Received: {reason}' },
  H5_BAD_STRUCTURE: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected a readable HDF5 structure in {file}. Received: {reason}',
  },
  H5_ATTR_NOT_STRINGS: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected attribute {name} of {path} to hold strings. Received: {dtype}',
  },
  H5_NOT_NUMERIC: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected a numeric dataset at {path}. Received: dtype {dtype}',
  },
  SAVING_MODEL_PATH: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected a model path ending in .h5, .hdf5, .keras, .json, or a directory. Received: {target}',
  },
  SAVING_WEIGHTS_ONLY_FILE: {
    code: 'FLEET_ERR_FORMAT',
    template: [
      'Expected a full Keras model (root attribute model_config) in {file}. Received: a weights-only file; ',
      'build the model, then call loadWeights(model, file)',
    ],
  },
  SAVING_WEIGHTS_PATH: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected a weights path ending in .weights.h5, .h5 or .hdf5. Received: {target}',
  },
  INSPECT_USAGE: { code: 'FLEET_ERR_CONFIG', template: 'Expected {usage}. Received: {argv}' },
  JSON_NOT_MODEL_OBJECT: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected a model JSON object from {source}. Received: {type}',
  },
  JSON_BAD_TEXT: { code: 'FLEET_ERR_FORMAT', template: 'Expected JSON text in {source}. Received: {reason}' },
  JSON_NOT_OBJECT: { code: 'FLEET_ERR_FORMAT', template: 'Expected a JSON object in {source}. Received: {head}' },
  KERAS_UNKNOWN_LAYER: {
    code: 'FLEET_ERR_MODEL_CONFIG',
    template: 'Expected layers that TensorFlow.js can build in {source}. Received: layer {name} of class "{cls}"{from}',
  },
  KERAS_GRU_RESET_AFTER: {
    code: 'FLEET_ERR_MODEL_CONFIG',
    template: [
      'Expected GRU layers with reset_after=false in {source} (tfjs has no reset_after=True GRU). ',
      'Received: {where} with reset_after=true',
    ],
  },
  KERAS_CONV_GROUPS: {
    code: 'FLEET_ERR_MODEL_CONFIG',
    template: 'Expected convolutions with groups=1 in {source}. Received: {where} with groups={groups}',
  },
  KERAS_NO_CLASS_NAME: {
    code: 'FLEET_ERR_MODEL_CONFIG',
    template: 'Expected every layer in {source} to have a class_name. Received: {entry}',
  },
  KERAS_NO_LAYERS: {
    code: 'FLEET_ERR_MODEL_CONFIG',
    template: [
      'Expected a {cls} config with a "layers" list in {source} (subclassed models keep no layer graph). ',
      'Received: {config}',
    ],
  },
  KERAS_LAYER_NOT_OBJECT: {
    code: 'FLEET_ERR_MODEL_CONFIG',
    template: 'Expected layer entries to be objects in {source}. Received: {entry}',
  },
  KERAS_NOT_MODEL_CONFIG: {
    code: 'FLEET_ERR_MODEL_CONFIG',
    template: 'Expected a Keras model config {form} in {source}. Received: {received}',
  },
  KERAS_NOT_SEQUENTIAL: {
    code: 'FLEET_ERR_MODEL_CONFIG',
    template: [
      'Expected a Sequential or Functional model in {source}. Received: class "{cls}"{module} (subclassed ',
      'and custom models have no portable config)',
    ],
  },
  KERAS_CANNOT_BUILD: {
    code: 'FLEET_ERR_MODEL_CONFIG',
    template: 'Expected a model config TensorFlow.js can build from {source}. Received: {reason}',
  },
  KERAS_ZIP_NO_MEMBER: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected member {name} in the .keras archive {file}. Received: members {members}',
  },
  KERAS_ZIP_NOT_JSON: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected {name} in {file} to be a JSON object. Received: {head}',
  },
  KERAS_ZIP_UNREADABLE: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected a readable zip in {file}. Received: {reason} (truncated or corrupt?)',
  },
  KERAS_ZIP_NO_WEIGHTS: {
    code: 'FLEET_ERR_FORMAT',
    template:
      'Expected model.weights.h5 in {file}. Received: members {members} (sharded or npz weights are not supported)',
  },
  KERAS3_NO_LAYER_GROUP: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected group /{path} for layer "{name}" in {file}. Received: members of /layers {members}',
  },
  H5_ATTR_NOT_JSON: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected attribute {name} of {file} to hold JSON. Received: {head}',
  },
  H5_NO_LAYER_GROUP: {
    code: 'FLEET_ERR_FORMAT',
    template:
      'Expected a group for layer "{layer}" (listed in layer_names) in {file}. Received: no such group under {path}',
  },
  H5_NO_WEIGHT_DATASET: {
    code: 'FLEET_ERR_FORMAT',
    template:
      'Expected dataset "{name}" of layer "{layer}" in {file}. Received: it is missing (truncated or edited file?)',
  },
  H5_NO_LAYER_NAMES: {
    code: 'FLEET_ERR_FORMAT',
    template: [
      'Expected a Keras HDF5 file with layer_names (at / or /model_weights) in {file}. Received: root ',
      'members {members}, attributes {attrs}',
    ],
  },
  TFJS_GRAPH_TOPOLOGY: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected a layers-model topology to save to {file}. Received: a binary graph-model topology',
  },
  TFJS_BAD_JSON: { code: 'FLEET_ERR_FORMAT', template: 'Expected JSON in {file}. Received: {reason}' },
  TFJS_NO_TOPOLOGY: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected a tfjs model.json with modelTopology in {file}. Received: keys {keys}',
  },
  TFJS_WEIGHT_BYTES: {
    code: 'FLEET_ERR_FORMAT',
    template:
      'Expected {bytes} bytes of weights for {file}. Received: {received} bytes (truncated, or from another model?)',
  },
  WEIGHTS_NOT_FLOAT32: {
    code: 'FLEET_ERR_FORMAT',
    template: 'Expected float32 weights to save. Received: {name} of dtype {dtype}',
  },
  WEIGHTS_LAYER_COUNT: {
    code: 'FLEET_ERR_WEIGHTS_MISMATCH',
    template: [
      'Expected weights for {count} layers ({names}) in {file}. Received: {received} layers with weights ',
      '({receivedNames}); is it a file for another architecture?',
    ],
  },
  WEIGHTS_COUNT: {
    code: 'FLEET_ERR_WEIGHTS_MISMATCH',
    template: 'Expected {count} weights for layer "{layer}" in {file}. Received: {received} ({names})',
  },
  WEIGHTS_SHAPE: {
    code: 'FLEET_ERR_WEIGHTS_MISMATCH',
    template: [
      'Expected {name} of layer "{layer}" to have shape [{shape}] in {file}. Received: "{received}" of ',
      'shape [{receivedShape}]',
    ],
  },
} as const satisfies Record<string, MessageSpec>;
