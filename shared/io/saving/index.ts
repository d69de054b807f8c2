/**
 * Saving and loading models in every format a Keras user has, compatible with Python Keras both ways:
 *
 *   await saveModel(model, 'runs/ckpt.h5', { trainingConfig: job.compile });   // legacy Keras HDF5
 *   await saveModel(model, 'runs/ckpt.keras');                                   // Keras 3 archive
 *   await saveModel(model, 'runs/ckpt');                                         // tfjs model.json + weights.bin
 *   const { model, trainingConfig } = await loadModel('from-python.keras');
 *
 * The format to write comes from the name; the format to read from the file's magic bytes. Every write
 * is atomic (temporary file, then rename), so a failed save leaves an earlier file intact.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fleetError } from '../../runtime/catalogue/index.ts';
import { createLogger } from '../../runtime/log.ts';
import { isObject } from './config-values.ts';
import { atomicWrite, detectKind, readBytes, toPath } from './files.ts';
import { withH5 } from './h5.ts';
import { buildModel, isKeras3Config, toTfjsTopology } from './keras-config.ts';
import { keras3Topology, legacyTopology } from './keras-emit.ts';
import { readKeras3Layers } from './keras3-weights.ts';
import {
  modelLayerRefs,
  openKerasArchive,
  readKerasArchive,
  writeKeras3WeightsFile,
  writeKerasArchive,
} from './keras-zip.ts';
import { isLegacyLayout, readLegacyRoot, writeLegacyH5 } from './legacy-h5.ts';
import { fileIO } from './tfjs-format.ts';
import { fromSavedCompile, toCompileConfig, toTrainingConfig, type TrainingConfig } from './training-config.ts';
import { assignLayers, collectLayers, type SavedLayer } from './weights.ts';
import { modelFromJSON, parseModelJSON } from './json.ts';

export { modelFromJSON, modelToJSON, type JsonOptions, type KerasDialect } from './json.ts';
export { fileIO, registerFileRouters } from './tfjs-format.ts';
export type { TrainingConfig } from './training-config.ts';

/** A format tensorfleet writes: legacy Keras HDF5, Keras 3 archive, or the tfjs layers format. */
export type ModelFormat = 'h5' | 'keras' | 'tfjs';

/** Options of saveModel and saveWeights. */
export interface SaveOptions {
  /** Overrides the format chosen from the name. */
  format?: ModelFormat;
  /** The compile config, written as training_config (.h5), compile_config (.keras) or trainingConfig (tfjs). */
  trainingConfig?: TrainingConfig;
  /** Receives each warning; default: one stderr line each. */
  onWarning?: (message: string) => void;
}

/** Options of loadModel and loadWeights. */
export interface LoadOptions {
  /** Receives each warning (unknown initializers, dtype policies, ...); default: one stderr line each. */
  onWarning?: (message: string) => void;
}

/** A loaded model and what its file said about it. */
export interface LoadedModel {
  model: tf.LayersModel;
  /** The format found by magic bytes; 'json' for an architecture without weights. */
  format: ModelFormat | 'json';
  kerasVersion?: string;
  /** The saved compile config, when there was one tensorfleet can use. */
  trainingConfig?: TrainingConfig;
  warnings: string[];
}

const WRITER = `tensorfleet (tfjs-layers ${tf.version_layers})`;

function warner(opts: { onWarning?: (m: string) => void }): { warn: (m: string) => void; warnings: string[] } {
  const warnings: string[] = [];
  const sink = opts.onWarning ?? ((m: string) => createLogger('saving').warn(m));
  return {
    warnings,
    warn: (m) => {
      warnings.push(m);
      sink(m);
    },
  };
}

/** The format saveModel writes for `target`: `.h5`/`.hdf5`, `.keras`, else tfjs (`.json` or a directory). */
export function formatForPath(target: string): ModelFormat {
  const ext = path.extname(toPath(target)).toLowerCase();
  if (ext === '.h5' || ext === '.hdf5') return 'h5';
  if (ext === '.keras') return 'keras';
  if (ext === '.json' || ext === '') return 'tfjs';
  throw fleetError('SAVING_MODEL_PATH', { target: JSON.stringify(target) }, { file: target });
}

/** Saves architecture, weights and (optionally) compile config; atomic per file. */
export async function saveModel(model: tf.LayersModel, target: string, opts: SaveOptions = {}): Promise<void> {
  const { warn } = warner(opts);
  const file = toPath(target);
  const format = opts.format ?? formatForPath(file);
  switch (format) {
    case 'h5':
      return writeLegacyH5(file, model, {
        modelConfig: legacyTopology(model, warn),
        ...(opts.trainingConfig && { trainingConfig: toTrainingConfig(opts.trainingConfig, warn) }),
        writer: WRITER,
      });
    case 'keras': {
      const config = keras3Topology(model, warn);
      const compile = opts.trainingConfig && toCompileConfig(opts.trainingConfig, warn);
      if (compile) config.compile_config = compile;
      return writeKerasArchive(file, model, config);
    }
    case 'tfjs': {
      const trainingConfig =
        opts.trainingConfig && (toTrainingConfig(opts.trainingConfig, warn) as tf.io.TrainingConfig | undefined);
      await model.save(fileIO(file, trainingConfig ? { trainingConfig } : {}));
      return;
    }
  }
}

async function buildFromConfig(
  config: unknown,
  source: string,
  keras3: boolean,
  warn: (m: string) => void,
): Promise<tf.LayersModel> {
  const ctx = { source, warn };
  return buildModel(toTfjsTopology(config, ctx, keras3), ctx);
}

/** Loads a model from a .h5, .keras, tfjs directory / model.json, or a bare architecture JSON. */
export async function loadModel(source: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const { warn, warnings } = warner(opts);
  const file = toPath(source);
  const kind = await detectKind(file);
  if (kind === 'hdf5') {
    const saved = await withH5(file, 'r', (f) => {
      if (!isLegacyLayout(f)) return undefined;
      return readLegacyRoot(f, file);
    });
    if (!saved || saved.modelConfig === undefined) {
      throw fleetError('SAVING_WEIGHTS_ONLY_FILE', { file }, { file });
    }
    const keras3 = (saved.kerasVersion ?? '').startsWith('3') || isKeras3Config(saved.modelConfig);
    const model = await buildFromConfig(saved.modelConfig, file, keras3, warn);
    assignLayers(model, saved.layers, file);
    const trainingConfig = fromSavedCompile(saved.trainingConfig, warn);
    return {
      model,
      format: 'h5',
      ...(saved.kerasVersion && { kerasVersion: saved.kerasVersion }),
      ...(trainingConfig && { trainingConfig }),
      warnings,
    };
  }
  if (kind === 'zip') {
    const archive = await openKerasArchive(file);
    const model = await buildFromConfig(archive.config, file, true, warn);
    assignLayers(model, await archive.readLayers(), file);
    const trainingConfig = fromSavedCompile(archive.config.compile_config, warn);
    const kerasVersion =
      typeof archive.metadata.keras_version === 'string' ? archive.metadata.keras_version : undefined;
    return {
      model,
      format: 'keras',
      ...(kerasVersion && { kerasVersion }),
      ...(trainingConfig && { trainingConfig }),
      warnings,
    };
  }
  const json = kind === 'tfjs-dir' ? path.join(file, 'model.json') : file;
  const parsed =
    kind === 'json' ? parseModelJSON(Buffer.from(await readBytes(file)).toString('utf8'), file) : undefined;
  if (parsed && !isObject(parsed.modelTopology)) {
    warn(`${file} holds an architecture without weights; the model starts from fresh initial weights.`);
    return { model: await modelFromJSON(parsed, { source: file, onWarning: warn }), format: 'json', warnings };
  }
  const artifacts = await fileIO(json).load();
  const model = await modelFromJSON({ modelTopology: artifacts.modelTopology }, { source: json, onWarning: warn });
  const tensors = tf.io.decodeWeights(artifacts.weightData as ArrayBuffer, artifacts.weightSpecs ?? []);
  try {
    assignLayers(model, tfjsLayers(model, artifacts.weightSpecs ?? [], tensors), json);
  } finally {
    tf.dispose(Object.values(tensors));
  }
  const trainingConfig = fromSavedCompile(artifacts.trainingConfig, warn);
  return { model, format: 'tfjs', ...(trainingConfig && { trainingConfig }), warnings };
}

// A tfjs weights manifest grouped per layer by the name prefix before the first '/', in manifest order.
function tfjsLayers(
  model: tf.LayersModel,
  specs: readonly tf.io.WeightsManifestEntry[],
  tensors: tf.NamedTensorMap,
): SavedLayer[] {
  const layers = new Map<string, SavedLayer>();
  for (const s of specs) {
    const t = tensors[s.name] as tf.Tensor;
    const layerName = s.name.split('/')[0] as string;
    const layer = layers.get(layerName) ?? { name: layerName, weights: [] };
    layer.weights.push({ name: s.name, shape: [...t.shape], data: t.dataSync() as Float32Array });
    layers.set(layerName, layer);
  }
  // tfjs lists trainable weights of all layers first; put each layer's weights in its own weights order.
  for (const l of model.layers) {
    const saved = layers.get(l.name);
    if (!saved) continue;
    const order = l.weights.map((w) => w.originalName);
    saved.weights.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  }
  return [...layers.values()];
}

/** Saves the weights only: `.weights.h5` in Keras 3's layout, other `.h5`/`.hdf5` in the legacy layout. */
export async function saveWeights(model: tf.LayersModel, target: string): Promise<void> {
  const file = toPath(target);
  if (file.endsWith('.weights.h5')) return atomicWrite(file, (tmp) => writeKeras3WeightsFile(tmp, model));
  if (formatForPath(file) !== 'h5') {
    throw fleetError('SAVING_WEIGHTS_PATH', { target: JSON.stringify(target) }, { file });
  }
  return writeLegacyH5(file, model, { writer: WRITER });
}

/** Loads weights into `model` from any weights or model file: legacy .h5, .weights.h5, .keras, or tfjs. */
export async function loadWeights(model: tf.LayersModel, source: string, opts: LoadOptions = {}): Promise<void> {
  const file = toPath(source);
  const kind = await detectKind(file);
  let layers: SavedLayer[];
  if (kind === 'hdf5') {
    layers = await withH5(file, 'r', (f) =>
      isLegacyLayout(f) ? readLegacyRoot(f, file).layers : readKeras3Layers(f, modelLayerRefs(model), file),
    );
  } else if (kind === 'zip') {
    layers = (await readKerasArchive(file)).layers;
  } else {
    const loaded = await loadModel(file, opts);
    layers = collectLayers(loaded.model);
    loaded.model.dispose();
  }
  assignLayers(model, layers, file);
}
