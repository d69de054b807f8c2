/** Error message templates raised by shared/model/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const MODEL_MESSAGES = {
} as const satisfies Record<string, MessageSpec>;
