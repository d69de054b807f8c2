/** Error message templates raised by coordinator/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const COORDINATOR_MESSAGES = {
  CKPT_SHORT_WRITE: { code: 'FLEET_ERR_CHECKPOINT', template: 'Expected to write {bytes} bytes to {file}. Received: {received}' },
  CKPT_TENSOR_BYTES: { code: 'FLEET_ERR_FILE', template: 'Expected {bytes} bytes for {name} in {file}. Received: {received}' },
  CKPT_NO_LATEST: {
    code: 'FLEET_ERR_CHECKPOINT',
    template: 'Expected {latest} beside the checkpoints in {dir}. Received: {count} checkpoint folder(s) and no LATEST',
  },
  CKPT_NONE_GOOD: {
    code: 'FLEET_ERR_CHECKPOINT',
    template: 'Expected a checkpoint whose files match its manifest in {dir}. Received: none ({reasons})',
  },
  CKPT_WEIGHT_COUNT: {
    code: 'FLEET_ERR_WEIGHTS_MISMATCH',
    template: 'Expected {count} weights in checkpoint {path}. Received: {received}',
  },
} as const satisfies Record<string, MessageSpec>;
