/**
 * Keras layers tfjs lacks, registered with tf.serialization on import so that models using them
 * rebuild from their Keras JSON in any process that imports this module (the worker must).
 */
export { RandomImageLayer, type AugmentationLayerArgs } from './random-image-layer.ts';
export { RandomFlip, randomFlip, type RandomFlipArgs } from './random-flip.ts';
export { RandomRotation, randomRotation, type RandomRotationArgs } from './random-rotation.ts';
export { RandomZoom, randomZoom, type RandomZoomArgs } from './random-zoom.ts';
export { RandomContrast, randomContrast, type RandomContrastArgs } from './random-contrast.ts';
