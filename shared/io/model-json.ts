/**
 * A model's Keras JSON as the coordinator sends it and as a worker rebuilds it. Two fixes over plain
 * `model.toJSON()` / `tf.models.modelFromJSON()`:
 *  - the frozen state survives: tfjs writes no `trainable` flag for a nested model, so the guide's
 *    `base.trainable = false` was lost on the workers (all of VGG16 trainable there, weights in
 *    another order); the flag is written into every nested model's config (as Keras 3 does) and
 *    applied again after rebuilding;
 *  - a custom class registered on the coordinator only fails with an error that says how to fix it.
 */
import * as tf from '@tensorflow/tfjs';
import { AUGMENTATION_CLASSES } from '../model/augment/config.ts';
import { fleetError } from '../runtime/catalogue/index.ts';

/** One layer entry of a Keras model JSON (Sequential or Functional). */
interface LayerEntry {
  class_name?: string;
  name?: string;
  config?: { name?: string; trainable?: boolean; layers?: LayerEntry[] };
}

/** A nested model (Sequential or Functional): it has layers and getLayer. */
function asContainer(layer: tf.layers.Layer): tf.LayersModel | undefined {
  return layer instanceof tf.LayersModel ? layer : undefined;
}

/** Calls visit(layer, entry) for every layer entry, recursing into nested models; entries are matched by name. */
function walk(
  container: tf.LayersModel,
  entries: readonly LayerEntry[],
  visit: (layer: tf.layers.Layer, entry: LayerEntry) => void,
): void {
  for (const entry of entries) {
    const name = entry.config?.name ?? entry.name;
    const layer = container.layers.find((l) => l.name === name);
    if (!layer) continue;
    visit(layer, entry);
    const inner = asContainer(layer);
    if (inner && entry.config?.layers) walk(inner, entry.config.layers, visit);
  }
}

/**
 * `model.toJSON(null, false)` with the trainable flag of every nested model (and of the model itself)
 * written into its config, so that `modelFromKerasJson` rebuilds the same frozen layers.
 */
export function modelToKerasJson(model: tf.LayersModel): Record<string, unknown> {
  const json = model.toJSON(null, false) as unknown as { config?: LayerEntry['config'] } & Record<string, unknown>;
  if (json.config) {
    json.config.trainable = model.trainable;
    walk(model, json.config.layers ?? [], (layer, entry) => {
      if (asContainer(layer) && entry.config) entry.config.trainable = layer.trainable;
    });
  }
  return json;
}

/** Applies `trainable: false` from the JSON to the rebuilt layers (tfjs ignores it for nested models). */
function applyTrainable(model: tf.LayersModel, json: { config?: LayerEntry['config'] }): void {
  if (json.config?.trainable === false) model.trainable = false;
  walk(model, json.config?.layers ?? [], (layer, entry) => {
    if (entry.config?.trainable === false) layer.trainable = false;
  });
}

/** tfjs's deserialiser says "Unknown layer: X. This may be due to ..." (or initializer, regularizer, ...). */
const UNKNOWN_CLASS = /Unknown ([a-z]+): ([A-Za-z_$][\w$.]*?)\.?(?:\s|$)/;

/** The fix for an unregistered class, for the error message. */
function howToRegister(kind: string, name: string): string {
  if ((AUGMENTATION_CLASSES as readonly string[]).includes(name)) {
    return (
      `${name} is one of tensorfleet's augmentation layers: import shared/model/layers/index.ts ` +
      '(or a module that re-exports it) in this process, e.g. at the top of the job module'
    );
  }
  return (
    `call tf.serialization.registerClass(${name}) at the top level of the job module, ` +
    'which the coordinator and every worker import, not inside model() or another function only the coordinator calls'
  );
}

/**
 * `tf.models.modelFromJSON` for a Keras model config (`modelToKerasJson(model)` or
 * `model.toJSON(null, false)`, parsed), with the frozen layers frozen again. A class the config names
 * but this process never registered fails with FLEET_ERR_JOB_INVALID naming the class and how to
 * register it; other errors pass through unchanged.
 */
export async function modelFromKerasJson(config: unknown): Promise<tf.LayersModel> {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw fleetError('MODEL_JSON_NOT_CONFIG', { config });
  }
  let model: tf.LayersModel;
  try {
    model = await tf.models.modelFromJSON({
      modelTopology: config as Parameters<typeof tf.models.modelFromJSON>[0]['modelTopology'],
    });
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    const m = UNKNOWN_CLASS.exec(message);
    if (!m) throw err;
    const [, kind = 'layer', name = '?'] = m;
    const fix = howToRegister(kind, name);
    throw fleetError(
      'MODEL_JSON_UNREGISTERED_CLASS',
      { kind, name, fix, received: message.split('\n')[0] },
      { className: name },
    );
  }
  applyTrainable(model, config as { config?: LayerEntry['config'] });
  return model;
}
