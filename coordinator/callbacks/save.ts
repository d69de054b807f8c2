/** How checkpoints reach the disk: the format follows the file name (see shared/saving). */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** Saves a model or only its weights at `file`; must be atomic (no half-written file on failure). */
export type Saver = (model: tf.LayersModel, file: string, opts: { weightsOnly: boolean }) => Promise<void>;

/** Writes the tfjs layers format (model.json + weights.bin) into directory `file`, atomically per file. */
export const tfjsSaver: Saver = async (model, file, { weightsOnly }) => {
  mkdirSync(file, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const weights = Buffer.from(artifacts.weightData as ArrayBuffer);
    const json = {
      ...(weightsOnly ? {} : { modelTopology: artifacts.modelTopology }),
      format: 'layers-model',
      generatedBy: 'tensorfleet',
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
    };
    atomicWrite(path.join(file, 'weights.bin'), weights);
    atomicWrite(path.join(file, 'model.json'), Buffer.from(JSON.stringify(json)));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
  }));
};

function atomicWrite(file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
