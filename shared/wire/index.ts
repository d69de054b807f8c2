/**
 * shared/wire: what the coordinator and the workers say to each other. The protocol (a version, named
 * message kinds, a msgpack header and raw tensor frames, decoded and validated in one place), weights
 * framing, the ZeroMQ transport and its security (CURVE, allow-lists, join tokens). Imported by
 * coordinator/, worker/ and api/; it imports only shared/runtime/, never the model maths.
 */
export * from './protocol.ts';
