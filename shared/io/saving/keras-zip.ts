/**
 * Keras 3 `.keras` archives: a zip of `metadata.json`, `config.json` and `model.weights.h5`, all
 * stored uncompressed as Keras writes them. The HDF5 member goes through a scratch file because
 * h5wasm's Node build works on real files.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { unzipSync, zipSync } from 'fflate';
import { fleetError } from '../../runtime/catalogue/index.ts';
import { isObject, pythonJSON, type Json } from './config-values.ts';
import { atomicWriteBytes, readBytes, withScratch } from './files.ts';
import { withH5 } from './h5.ts';
import { readKeras3Layers, writeKeras3Layers, type LayerRef } from './keras3-weights.ts';
import { collectLayers, kerasLayers, type SavedLayer } from './weights.ts';

/** The contents of a `.keras` archive. */
export interface KerasArchive {
  config: Json;
  metadata: Json;
  layers: SavedLayer[];
}

/** The Keras version our `.keras` archives claim: the Keras 3 dialect we write, checked against 3.10. */
export const KERAS3_VERSION = '3.10.0';

function parseMember(files: Record<string, Uint8Array>, name: string, file: string): Json {
  const bytes = files[name];
  if (!bytes)
    throw fleetError('KERAS_ZIP_NO_MEMBER', { name, file, members: JSON.stringify(Object.keys(files)) }, { file });
  try {
    const v: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (isObject(v)) return v;
  } catch {
    // Reported below with the same message as a non-object.
  }
  const head = JSON.stringify(Buffer.from(bytes.subarray(0, 60)).toString('utf8'));
  throw fleetError('KERAS_ZIP_NOT_JSON', { name, file, head }, { file });
}

/** The layers of a Keras 3 model config in Keras `model.layers` order (a Sequential's InputLayer left out). */
export function configLayerRefs(config: Json): LayerRef[] {
  const inner = isObject(config.config) ? config.config : {};
  const entries = Array.isArray(inner.layers) ? (inner.layers as unknown[]).filter(isObject) : [];
  const sequential = config.class_name === 'Sequential';
  return entries
    .filter((e) => !(sequential && e.class_name === 'InputLayer'))
    .map((e) => {
      const c = isObject(e.config) ? e.config : {};
      const wrapped = isObject(c.layer) ? c.layer.class_name : undefined;
      return {
        className: String(e.class_name),
        name: String(c.name ?? e.name),
        ...(typeof wrapped === 'string' && { inner: wrapped }),
      };
    });
}

/** An unzipped `.keras` archive: config and metadata parsed, weights read on demand. */
export interface OpenArchive {
  config: Json;
  metadata: Json;
  /** Reads the weights of the layers the config lists; call after checking the config. */
  readLayers(): Promise<SavedLayer[]>;
}

/** Unzips a `.keras` file and parses its config and metadata. */
export async function openKerasArchive(file: string): Promise<OpenArchive> {
  const bytes = await readBytes(file);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (err) {
    throw fleetError('KERAS_ZIP_UNREADABLE', { file, reason: (err as Error).message }, { file });
  }
  const config = parseMember(files, 'config.json', file);
  const metadata = files['metadata.json'] ? parseMember(files, 'metadata.json', file) : {};
  const weights = files['model.weights.h5'];
  if (!weights) {
    throw fleetError('KERAS_ZIP_NO_WEIGHTS', { file, members: JSON.stringify(Object.keys(files)) }, { file });
  }
  const readLayers = () =>
    withScratch(async (dir) => {
      const h5 = path.join(dir, 'model.weights.h5');
      await fs.writeFile(h5, weights);
      const label = `${file}:model.weights.h5`;
      return withH5(h5, 'r', (f) => readKeras3Layers(f, configLayerRefs(config), label), label);
    });
  return { config, metadata, readLayers };
}

/** Unzips a `.keras` file and reads its config, metadata and weights. */
export async function readKerasArchive(file: string): Promise<KerasArchive> {
  const archive = await openKerasArchive(file);
  return { config: archive.config, metadata: archive.metadata, layers: await archive.readLayers() };
}

/** The LayerRefs of a tfjs model, in its layers order. */
export function modelLayerRefs(model: tf.LayersModel): LayerRef[] {
  return kerasLayers(model).map((l) => {
    const wrapped = (l as unknown as { layer?: tf.layers.Layer }).layer;
    return { className: l.getClassName(), name: l.name, ...(wrapped && { inner: wrapped.getClassName() }) };
  });
}

/** Writes a Keras 3 weights file (`*.weights.h5` or the archive's member) for `model` at `h5`. */
export async function writeKeras3WeightsFile(h5: string, model: tf.LayersModel): Promise<void> {
  const saved = collectLayers(model);
  await withH5(h5, 'w', (f) => writeKeras3Layers(f, modelLayerRefs(model), saved, model.name));
}

/** Writes `model` as a `.keras` archive with the given Keras 3 config, atomically. */
export async function writeKerasArchive(file: string, model: tf.LayersModel, config: Json): Promise<void> {
  const weights = await withScratch(async (dir) => {
    const h5 = path.join(dir, 'model.weights.h5');
    await writeKeras3WeightsFile(h5, model);
    return new Uint8Array(await fs.readFile(h5));
  });
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  const time = `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
  const dateSaved = `${day}@${time}`;
  const metadata = { keras_version: KERAS3_VERSION, date_saved: dateSaved };
  const text = (v: unknown) => new Uint8Array(Buffer.from(pythonJSON(v)));
  // level 0: stored members, as Keras's zipfile writes them.
  const zip = zipSync(
    { 'metadata.json': text(metadata), 'config.json': text(config), 'model.weights.h5': weights },
    { level: 0 },
  );
  await atomicWriteBytes(file, zip);
}
