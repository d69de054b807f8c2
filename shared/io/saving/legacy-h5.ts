/**
 * The legacy Keras HDF5 layout (Keras 1 and 2, tf.keras, and Keras 3's `.h5` path), read and written.
 * Full model: root attributes model_config, training_config, keras_version, backend, and the group
 * `model_weights`. Weights only: the same tree rooted at `/`. See shared/fixtures/keras/SOURCES.md.
 */
import type * as tf from '@tensorflow/tfjs';
import { fleetError } from '../../runtime/catalogue/index.ts';
import { pythonJSON } from './config-values.ts';
import { atomicWrite } from './files.ts';
import {
  getDataset,
  getGroup,
  readFloat32,
  readString,
  readStrings,
  withH5,
  writeFloat32,
  writeStrings,
  type Group,
} from './h5.ts';
import { collectLayers, type SavedLayer } from './weights.ts';

/** What a legacy .h5 holds; configs are parsed JSON, absent in weights-only files. */
export interface LegacyH5 {
  modelConfig?: unknown;
  trainingConfig?: unknown;
  kerasVersion?: string;
  backend?: string;
  layers: SavedLayer[];
}

/** The Keras version our legacy files claim: the config dialect they use (Keras 2, as tf.keras 2.15 wrote). */
export const LEGACY_KERAS_VERSION = '2.15.0';

function parseJsonAttr(g: Group, name: string, file: string): unknown {
  const text = readString(g, name);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw fleetError('H5_ATTR_NOT_JSON', { name, file, head: JSON.stringify(text.slice(0, 60)) }, { file });
  }
}

function readLayer(g: Group, layerName: string, file: string): SavedLayer {
  const lg = getGroup(g, layerName);
  if (!lg) throw fleetError('H5_NO_LAYER_GROUP', { layer: layerName, file, path: g.path }, { file });
  const names = readStrings(lg, 'weight_names') ?? [];
  const weights = names.map((wn) => {
    // weight_names is the source of truth: "dense/kernel:0" (Keras 2), "seq/dense/kernel" (Keras 3), "dense_1_W:0" (Keras 1).
    const ds = getDataset(lg, wn);
    if (!ds) throw fleetError('H5_NO_WEIGHT_DATASET', { name: wn, layer: layerName, file }, { file });
    const { data, shape } = readFloat32(ds);
    return { name: wn, shape, data };
  });
  return { name: layerName, weights };
}

/** True when an open HDF5 root looks like a legacy Keras file (full model or weights only). */
export function isLegacyLayout(root: Group): boolean {
  return (
    root.attrs.layer_names !== undefined ||
    getGroup(root, 'model_weights') !== undefined ||
    root.attrs.model_config !== undefined
  );
}

/** Reads configs and per-layer weights, in `layer_names` order (never HDF5's alphabetical order). */
export function readLegacyRoot(root: Group, file: string): LegacyH5 {
  const weightsRoot = root.attrs.layer_names === undefined ? getGroup(root, 'model_weights') : root;
  const layerNames = weightsRoot ? readStrings(weightsRoot, 'layer_names') : undefined;
  if (!weightsRoot || !layerNames) {
    const values = { file, members: JSON.stringify(root.keys()), attrs: JSON.stringify(Object.keys(root.attrs)) };
    throw fleetError('H5_NO_LAYER_NAMES', values, { file });
  }
  const kerasVersion = readString(root, 'keras_version') ?? readString(weightsRoot, 'keras_version');
  const backend = readString(root, 'backend') ?? readString(weightsRoot, 'backend');
  return {
    modelConfig: parseJsonAttr(root, 'model_config', file),
    trainingConfig: parseJsonAttr(root, 'training_config', file),
    ...(kerasVersion !== undefined && { kerasVersion }),
    ...(backend !== undefined && { backend }),
    layers: layerNames.map((n) => readLayer(weightsRoot, n, file)),
  };
}

/** Reads a legacy .h5 file. */
export function readLegacyH5(file: string): Promise<LegacyH5> {
  return withH5(file, 'r', (f) => readLegacyRoot(f, file));
}

function uniqueWeightNames(layer: SavedLayer): string[] {
  const seen = new Set<string>();
  return layer.weights.map((w) => {
    // Keras 2 names: "<layer>/<variable>:0"; tfjs originalName already starts with the layer name.
    const base = w.name.startsWith(`${layer.name}/`) ? w.name : `${layer.name}/${w.name}`;
    let name = `${base}:0`;
    for (let i = 1; seen.has(name); i++) name = `${base}_${i}:0`;
    seen.add(name);
    return name;
  });
}

/** Writes the model_weights tree (layer_names, one group per layer, top_level_model_weights) into `g`. */
export function writeWeightsGroup(
  g: Group,
  layers: readonly SavedLayer[],
  versionAttrs: { keras_version: string; backend: string },
): void {
  writeStrings(
    g,
    'layer_names',
    layers.map((l) => l.name),
  );
  g.create_attribute('backend', versionAttrs.backend);
  g.create_attribute('keras_version', versionAttrs.keras_version);
  for (const layer of layers) {
    const lg = g.create_group(layer.name);
    const names = uniqueWeightNames(layer);
    writeStrings(lg, 'weight_names', names);
    layer.weights.forEach((w, i) => writeFloat32(lg, names[i] as string, w.data, w.shape));
  }
  // tf.keras >= 2.11 and Keras 3 write (and read, when present) the weights of the model object itself here.
  writeStrings(g.create_group('top_level_model_weights'), 'weight_names', []);
}

/** What to put in a legacy file besides the weights. */
export interface LegacyWriteOptions {
  /** Parsed `{class_name, config}`; omitted for weights-only files. */
  modelConfig?: unknown;
  trainingConfig?: unknown;
  writer: string;
}

/** Writes `model` as a legacy .h5 (full model when modelConfig is given, else weights only), atomically. */
export async function writeLegacyH5(file: string, model: tf.LayersModel, opts: LegacyWriteOptions): Promise<void> {
  await atomicWrite(file, async (tmp) => {
    // Weights are read inside the write, so a failure here (and the temp file) never reaches `file`.
    const layers = collectLayers(model);
    const versionAttrs = { keras_version: LEGACY_KERAS_VERSION, backend: 'tensorflow' };
    await withH5(tmp, 'w', (f) => {
      if (opts.modelConfig === undefined) {
        writeWeightsGroup(f, layers, versionAttrs);
      } else {
        f.create_attribute('keras_version', versionAttrs.keras_version);
        f.create_attribute('backend', versionAttrs.backend);
        f.create_attribute('model_config', pythonJSON(opts.modelConfig));
        if (opts.trainingConfig !== undefined) f.create_attribute('training_config', pythonJSON(opts.trainingConfig));
        writeWeightsGroup(f.create_group('model_weights'), layers, versionAttrs);
      }
      f.create_attribute('tensorfleet_writer', opts.writer);
    });
  });
}
