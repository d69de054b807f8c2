/** Error message templates raised by cli/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const CLI_MESSAGES = {
} as const satisfies Record<string, MessageSpec>;
