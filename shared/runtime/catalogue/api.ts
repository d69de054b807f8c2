/** Error message templates raised by api/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const API_MESSAGES = {
  API_WORKERS: { code: 'FLEET_ERR_CONFIG', template: 'Expected workers to be an integer >= 1. Received: {received:q}' },
  API_WORKER_RANGE: {
    code: 'FLEET_ERR_CONFIG',
    template: [
      'Expected minWorkers <= workers <= maxWorkers. ',
      'Received: minWorkers {min}, workers {workers}, maxWorkers {max}',
    ],
  },
  API_EXPOSED_WITHOUT_CURVE: {
    code: 'FLEET_ERR_CONFIG',
    template: [
      'Expected curveSecretKey (a key file from `tensorfleet keys`, docs/security.md) or insecure: true ',
      'to bind a non-loopback address. Received: bind {bind} without CURVE',
    ],
  },
  API_VALIDATION_SPLIT: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected validationSplit in (0, 1). Received: {received:q}',
  },
  API_NOT_TENSORS: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected {xName} and {yName} to be tf.Tensors. Received: {x:q}, {y:q}',
  },
  API_ROWS_MISMATCH: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected {xName} and {yName} to have the same number of rows. Received: {xRows} and {yRows}',
  },
  API_NO_PREDICTIONS: { code: 'FLEET_ERR_DATA', template: 'Expected predictions from the workers. Received: none' },
  API_UNCOMPILED: {
    code: 'FLEET_ERR_CONFIG',
    template: [
      'Expected a compiled model: call model.compile(...) with optimizer, loss and metrics, or pass compile. ',
      'Received: an uncompiled model',
    ],
  },
  API_LOSS_ANONYMOUS: {
    code: 'FLEET_ERR_LOSS',
    template: [
      'Expected a loss name, or a named function exported by a module in `modules` (every worker imports them). ',
      'Received: an anonymous function',
    ],
  },
  API_LOSS_NOT_EXPORTED: {
    code: 'FLEET_ERR_LOSS',
    template: [
      'Expected the custom loss function "{name}" to be exported under that name by a module in `modules` ',
      '(every worker imports them and takes that export). Received: modules {modules:q}',
    ],
  },
  API_LOSS_EXPORT_MISSING: {
    code: 'FLEET_ERR_LOSS',
    template: 'Expected module {module} to export the custom loss function "{name}". Received: {received}',
  },
  API_INLINE_ARGS: {
    code: 'FLEET_ERR_JOB_INVALID',
    template: 'Expected args.dir or args.meta for the inline job. Received: args {received:q}',
  },
  API_INLINE_ARRAY_MISSING: {
    code: 'FLEET_ERR_JOB_INVALID',
    template: 'Expected array "{name}" in the welcome\'s data group. Received: {received:q}',
  },
  API_INLINE_NO_MODEL: {
    code: 'FLEET_ERR_JOB_INVALID',
    template: [
      'Expected no model from the inline job: workers get the model from the coordinator. ',
      'Received: a call of model()',
    ],
  },
  API_CLUSTER_CLOSED: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected an open cluster for {call}. Received: a call after close()',
  },
  API_WORKER_EXITED: {
    code: 'FLEET_ERR_WORKER_LOST',
    template: [
      'Expected local worker pid {pid} to be running. ',
      'Received: it exited ({how}); close this cluster and start another',
    ],
  },
} as const satisfies Record<string, MessageSpec>;
