/**
 * The one catalogue of error messages, as fastify's lib/errors.js keeps its own: every message a
 * FleetError carries is a template here, keyed by a message id and tied to its documented code. Call
 * sites pass values (`fleetError('CKPT_SHORT_WRITE', { bytes, file, received })`), so wording lives in
 * one place and a test can check every template. The table is split by room only to keep files small.
 *
 * Placeholders: `{name}` renders the value with String(); `{name:q}` renders it with `describe()`
 * (strings quoted, objects as compact JSON), for values that came from outside and may be anything.
 */
import { FleetError, describe, type ErrorCode } from '../errors.ts';
import { API_MESSAGES } from './api.ts';
import { CLI_MESSAGES } from './cli.ts';
import { COORDINATOR_MESSAGES } from './coordinator.ts';
import { IO_MESSAGES } from './io.ts';
import { MODEL_MESSAGES } from './model.ts';
import { RUNTIME_MESSAGES } from './runtime.ts';
import { WIRE_MESSAGES } from './wire.ts';
import { WORKER_MESSAGES } from './worker.ts';

/** One catalogue entry: the documented code and the message template (lines too long for one string
 * literal are given as parts, joined without a separator). */
export interface MessageSpec {
  readonly code: ErrorCode;
  readonly template: string | readonly string[];
}

/** Every message template, by id. */
export const MESSAGES = {
  ...API_MESSAGES,
  ...CLI_MESSAGES,
  ...COORDINATOR_MESSAGES,
  ...IO_MESSAGES,
  ...MODEL_MESSAGES,
  ...RUNTIME_MESSAGES,
  ...WIRE_MESSAGES,
  ...WORKER_MESSAGES,
} as const satisfies Record<string, MessageSpec>;

/** A message id of the catalogue. */
export type MessageId = keyof typeof MESSAGES;

type Name<P extends string> = P extends `${infer N}:q` ? N : P;
/** The placeholder names of a template (a string, or its parts), as a union. */
export type Params<T> = T extends readonly [infer H, ...infer R]
  ? Params<H> | Params<R>
  : T extends `${string}{${infer P}}${infer Rest}`
    ? Name<P> | Params<Rest>
    : never;
/** The values a message id needs: one per placeholder. */
export type ValuesOf<K extends MessageId> = { readonly [P in Params<(typeof MESSAGES)[K]['template']>]: unknown };

type Args<K extends MessageId> = [Params<(typeof MESSAGES)[K]['template']>] extends [never]
  ? [values?: Record<string, never>, details?: Record<string, unknown>]
  : [values: ValuesOf<K>, details?: Record<string, unknown>];

/** Fills a template: `{name}` with String(value), `{name:q}` with describe(value). */
export function render(template: string | readonly string[], values: Readonly<Record<string, unknown>>): string {
  const text = typeof template === 'string' ? template : template.join('');
  return text.replace(/\{(\w+)(:q)?\}/g, (_, name: string, quote?: string) => {
    const v = values[name];
    return quote ? describe(v) : String(v);
  });
}

/** Builds the FleetError of catalogue entry `id`, filled with `values`. */
export function fleetError<K extends MessageId>(id: K, ...[values, details]: Args<K>): FleetError {
  const spec: MessageSpec = MESSAGES[id];
  return new FleetError(spec.code, render(spec.template, values ?? {}), { ...details, messageId: id });
}
