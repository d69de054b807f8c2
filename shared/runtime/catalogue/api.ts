/** Error message templates raised by api/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const API_MESSAGES = {
} as const satisfies Record<string, MessageSpec>;
