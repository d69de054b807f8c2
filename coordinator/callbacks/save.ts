/** How checkpoints reach the disk: the format follows the file name (see shared/io/saving). */
import type * as tf from '@tensorflow/tfjs';
import { saveModel, saveWeights } from '../../shared/io/saving/index.ts';

/** Saves a model or only its weights at `file`; must be atomic (no half-written file on failure). */
export type Saver = (model: tf.LayersModel, file: string, opts: { weightsOnly: boolean }) => Promise<void>;

/**
 * The default saver: `.h5` → Keras legacy HDF5, `.keras` → Keras 3 archive, `.weights.h5` → Keras 3
 * weights, anything else → a tfjs folder (model.json + weights.bin). Every file opens in Python Keras.
 */
export const defaultSaver: Saver = async (model, file, { weightsOnly }) => {
  // Like Keras, weights-only saving needs an HDF5 name (.h5 or .weights.h5); saveWeights says so otherwise.
  if (weightsOnly) await saveWeights(model, file);
  else await saveModel(model, file);
};
