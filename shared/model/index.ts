/**
 * shared/model: the maths both sides must agree on. Jobs and their compile/fit specs, the
 * GradientTape-style step, Keras losses, metrics and optimizers, Keras-default and augmentation layers,
 * synchronized BatchNormalization, datasets and the callback lifecycle. Imported by coordinator/,
 * worker/, api/ and users' jobs; it imports only shared/runtime/, never the wire.
 */
export * from './job.ts';
