/** Error message templates raised by shared/runtime/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const RUNTIME_MESSAGES = {
} as const satisfies Record<string, MessageSpec>;
