/** Pure-JS image augmentation with Keras's semantics: configs, transforms, seeded draws, the batch pipeline. */
export * from './config.ts';
export * from './transforms.ts';
export * from './random.ts';
export * from './pipeline.ts';
