/**
 * One catalogue of typed errors. Every code is documented in docs/errors.md (a test checks that),
 * and every message says what was expected and what was received, in Keras's "Received: …" style.
 */

/** Every error code tensorfleet raises, with a one-line meaning used by docs and tests. */
export const ERROR_CODES = {
  FLEET_ERR_CONFIG: 'A command-line flag or config value is invalid.',
  FLEET_ERR_JOB_LOAD: 'A job module could not be loaded.',
  FLEET_ERR_JOB_INVALID: 'A job module loaded but does not define a valid job.',
  FLEET_ERR_BACKEND: 'The requested compute backend is not available.',
  FLEET_ERR_DATA: 'Training data is missing, malformed, or does not match the model.',
  FLEET_ERR_PROTOCOL_DECODE: 'A wire message could not be decoded at all (not msgpack, no header).',
  FLEET_ERR_PROTOCOL_VERSION: 'A wire message carries a protocol version this process does not speak.',
  FLEET_ERR_PROTOCOL_SCHEMA: 'A wire message header does not match the schema of its kind.',
  FLEET_ERR_TENSOR_SHAPE: 'A tensor on the wire has the wrong shape or byte length.',
  FLEET_ERR_TENSOR_DTYPE: 'A tensor on the wire has the wrong dtype.',
  FLEET_ERR_NONFINITE: 'A tensor on the wire holds NaN or Inf values.',
  FLEET_ERR_UNKNOWN_PEER: 'A message came from a peer that never completed the hello handshake.',
  FLEET_ERR_UNEXPECTED_MESSAGE: 'A valid message arrived at a time or from a role where it makes no sense.',
  FLEET_ERR_STALE_ROUND: 'A result or a reduce arrived for a round that is not in flight, or twice.',
  FLEET_ERR_WORKER_LOST: 'A worker stopped answering heartbeats or exited.',
  FLEET_ERR_REMOTE: 'The peer reported an error.',
  FLEET_ERR_COMPUTE:
    'A worker failed computing a step or an evaluation (a tfjs error, e.g. a shape the model rejects).',
  FLEET_ERR_LOSS: 'An unknown loss function was named.',
  FLEET_ERR_OPTIMIZER: 'An unknown optimizer was named or configured.',
  FLEET_ERR_METRIC: 'An unknown metric was named.',
  FLEET_ERR_CHECKPOINT:
    'No checkpoint passed its integrity check, LATEST is missing beside checkpoints, or a checkpoint could not be written.',
  FLEET_ERR_FILE: 'A model or weights file could not be read or written (missing, unreadable, no space).',
  FLEET_ERR_FORMAT: 'A file is not in a model format tensorfleet reads, or is truncated or corrupt.',
  FLEET_ERR_MODEL_CONFIG: 'A saved model config uses a layer or option TensorFlow.js cannot build.',
  FLEET_ERR_WEIGHTS_MISMATCH: 'Saved weights do not fit the model (layer count, weight count or shape).',
  FLEET_ERR_STATE_LOST: 'Every worker holding the newest committed steps was lost before the coordinator pulled them.',
  FLEET_ERR_AUTH:
    'A peer was refused: its CURVE key is not allowed, its CURVE handshake failed, or its join token is wrong.',
} as const;

/** A documented error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The one error class tensorfleet throws on purpose; `code` is stable and documented. */
export class FleetError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'FleetError';
    this.code = code;
    this.details = Object.freeze({ ...details });
  }

  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Renders any value compactly for a "Received: …" clause. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (value instanceof Uint8Array) return `<${value.constructor.name} ${value.byteLength} bytes>`;
  try {
    const text = JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    // JSON.stringify throws on BigInt and cycles, and String() overflows the stack on deep nesting.
    try {
      const text = String(value);
      return text.length > 120 ? `${text.slice(0, 117)}...` : text;
    } catch {
      return `<unprintable ${typeof value}>`;
    }
  }
}

/** Builds a FleetError whose message follows "expected …, Received: …". */
export function expected(
  code: ErrorCode,
  what: string,
  received: unknown,
  details: Record<string, unknown> = {},
): FleetError {
  return new FleetError(code, `Expected ${what}. Received: ${describe(received)}`, details);
}

/** True for a FleetError, optionally of one code. */
export function isFleetError(err: unknown, code?: ErrorCode): err is FleetError {
  return err instanceof FleetError && (code === undefined || err.code === code);
}
