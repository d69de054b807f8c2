/**
 * Model architecture as JSON, both ways: `modelToJSON` writes what Python Keras reads with
 * `keras.models.model_from_json`, and `modelFromJSON` reads Keras 1/2/3 `to_json()` output and tfjs
 * `model.json` topologies into an (untrained) tfjs model.
 */
import type * as tf from '@tensorflow/tfjs';
import { fleetError } from '../../runtime/catalogue/index.ts';
import { isObject, pythonJSON, type Json } from './config-values.ts';
import { buildModel, isKeras3Config, toTfjsTopology } from './keras-config.ts';
import { keras3Topology, legacyTopology, type Warn } from './keras-emit.ts';
import { LEGACY_KERAS_VERSION } from './legacy-h5.ts';

/** The Keras config dialect to write: Keras 3 (module, batch_shape, DTypePolicy) or Keras 2 (tf.keras). */
export type KerasDialect = 'keras3' | 'keras2';

/** Options shared by the JSON readers and writers. */
export interface JsonOptions {
  /** Default 'keras3', what `keras.models.model_from_json` in Keras 3 expects. */
  dialect?: KerasDialect;
  /** Receives each warning (unknown initializers, dtype policies, ...); default: ignored. */
  onWarning?: Warn;
  /** Named in errors and warnings; default "model JSON". */
  source?: string;
}

/** The model's architecture as a Keras JSON string (no weights). */
export function modelToJSON(model: tf.LayersModel, opts: JsonOptions = {}): string {
  const warn = opts.onWarning ?? (() => undefined);
  if ((opts.dialect ?? 'keras3') === 'keras3') return pythonJSON(keras3Topology(model, warn));
  return pythonJSON({ ...legacyTopology(model, warn), keras_version: LEGACY_KERAS_VERSION, backend: 'tensorflow' });
}

/** Parses Keras JSON text (or an already parsed object), with a FLEET_ERR_FORMAT naming the source when it is not JSON. */
export function parseModelJSON(json: string | object, source: string): Json {
  if (typeof json !== 'string') {
    if (isObject(json)) return json;
    throw fleetError('JSON_NOT_MODEL_OBJECT', { source, type: typeof json }, { file: source });
  }
  try {
    const v: unknown = JSON.parse(json);
    if (isObject(v)) return v;
  } catch (err) {
    throw fleetError('JSON_BAD_TEXT', { source, reason: (err as Error).message }, { file: source });
  }
  throw fleetError('JSON_NOT_OBJECT', { source, head: json.slice(0, 60) }, { file: source });
}

/**
 * Builds an untrained tfjs model from any Keras architecture JSON: Keras 1/2 `to_json`, Keras 3 `to_json`
 * or `config.json`, or a tfjs `model.json` (its modelTopology). Unknown layers are FLEET_ERR_MODEL_CONFIG.
 */
export async function modelFromJSON(json: string | object, opts: JsonOptions = {}): Promise<tf.LayersModel> {
  const source = opts.source ?? 'model JSON';
  const parsed = parseModelJSON(json, source);
  const topology = isObject(parsed.modelTopology) ? parsed.modelTopology : parsed;
  const ctx = { source, warn: opts.onWarning ?? (() => undefined) };
  const keras3 = isKeras3Config(topology) || String(topology.keras_version ?? '').startsWith('3');
  return buildModel(toTfjsTopology(topology, ctx, keras3), ctx);
}
