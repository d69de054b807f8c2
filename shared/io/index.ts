/**
 * shared/io: files in the formats Keras users have. .h5, .keras and JSON models and weights, the model
 * JSON the workers rebuild from, and VGG16's weights. Imported by coordinator/, worker/, api/ and cli/;
 * it imports shared/runtime/ and shared/model/, never the wire.
 */
export * from './saving/index.ts';
