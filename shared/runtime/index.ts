/**
 * shared/runtime: the process's plumbing, below every other room. Typed errors and their catalogue,
 * logging, Prometheus metrics, the config schema with its one set of defaults, backend selection with
 * the wasm kernels, the tsx loader and seeded randomness. Anything may import it; it imports no other
 * room.
 */
export * from './errors.ts';
