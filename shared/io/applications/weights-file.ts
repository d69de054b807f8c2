/**
 * Model weights on local disk in TensorFlow.js's own format (`model.json` with a weightsManifest,
 * plus `weights.bin`), without tfjs-node: saved through `tf.io.withSaveHandler`, loaded through a
 * custom IOHandler, or read synchronously into an already built model (what `vgg16({ weights })`
 * does inside a job's synchronous `model()`).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fleetError } from '../../runtime/catalogue/index.ts';

const JSON_FILE = 'model.json';
const BIN_FILE = 'weights.bin';

interface ModelJsonFile {
  modelTopology?: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** Saves `model` (topology and weights) into folder `dir` as model.json + weights.bin. */
export async function saveModelFiles(model: tf.LayersModel, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const parts =
        artifacts.weightData === undefined
          ? []
          : Array.isArray(artifacts.weightData)
            ? artifacts.weightData
            : [artifacts.weightData];
      const bin = Buffer.concat(parts.map((b) => new Uint8Array(b)));
      writeAtomic(path.join(dir, BIN_FILE), bin); // weights first: model.json never points at a half-written file
      const json: ModelJsonFile = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${BIN_FILE}`], weights: artifacts.weightSpecs ?? [] }],
      };
      writeAtomic(path.join(dir, JSON_FILE), JSON.stringify(json));
      return {
        modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bin.byteLength },
      };
    }),
  );
}

/** Reads folder `dir`'s model.json and its weight files: the artifacts a LayersModel loads from. */
function readArtifacts(dir: string): { json: ModelJsonFile; specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } {
  const file = path.join(dir, JSON_FILE);
  let json: ModelJsonFile;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as ModelJsonFile;
  } catch (err) {
    throw fleetError('APP_NO_MODEL_JSON', { dir, reason: (err as Error).message }, { file });
  }
  if (!Array.isArray(json.weightsManifest))
    throw fleetError('APP_NO_WEIGHTS_MANIFEST', { file, keys: Object.keys(json) }, { file });
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const bytes = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(path.join(dir, p)))));
  const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return { json, specs, data };
}

/** A custom IOHandler over folder `dir`: `tf.loadLayersModel(modelFilesHandler(dir))` loads what saveModelFiles wrote. */
export function modelFilesHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const { json, specs, data } = readArtifacts(dir);
      return {
        modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        weightSpecs: specs,
        weightData: data,
        format: json.format ?? 'layers-model',
      };
    },
  };
}

/**
 * Reads the weights saved in folder `dir` into `model`, matching by weight name (`block1_conv1/kernel`):
 * every weight of the model must be present with its shape (FLEET_ERR_WEIGHTS_MISMATCH otherwise).
 */
export function loadWeightsSync(model: tf.LayersModel, dir: string): void {
  const { specs, data } = readArtifacts(dir);
  const named = tf.io.decodeWeights(data, specs);
  try {
    for (const w of model.weights) {
      const t = named[w.originalName];
      if (!t) {
        const names = Object.keys(named);
        throw fleetError('APP_WEIGHT_MISSING', {
          name: w.originalName,
          dir,
          names: names.slice(0, 8),
          more: names.length > 8 ? ' ...' : '',
        });
      }
      if (!tf.util.arraysEqual(t.shape, w.shape as number[])) {
        throw fleetError('APP_WEIGHT_SHAPE', {
          name: w.originalName,
          shape: w.shape.join(', '),
          dir,
          received: t.shape.join(', '),
        });
      }
      w.write(t);
    }
  } finally {
    tf.dispose(Object.values(named));
  }
}
