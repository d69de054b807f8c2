/** Error message templates raised by worker/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const WORKER_MESSAGES = {
} as const satisfies Record<string, MessageSpec>;
