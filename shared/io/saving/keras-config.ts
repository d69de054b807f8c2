/**
 * Keras model configs (Keras 1-2 `to_json`, Keras 3 `config.json`, the `model_config` of an .h5) turned
 * into the Keras-2-style topology tfjs-layers deserialises: Keras 3's `batch_shape`, DTypePolicy objects,
 * module/registered_name, `__tensor__` values and dict-shaped inbound nodes are rewritten; layers tfjs
 * does not have are FLEET_ERR_MODEL_CONFIG naming the file.
 */
import * as tf from '@tensorflow/tfjs';
import { FleetError } from '../../runtime/errors.ts';
import { fleetError } from '../../runtime/catalogue/index.ts';
import {
  convertActivation,
  convertConstraint,
  convertDtype,
  convertInitializer,
  convertRegularizer,
  isObject,
  unwrapTensor,
  type ConvertContext,
  type Json,
} from './config-values.ts';

export type { ConvertContext, Json };

const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);
// Keras 3 InputLayer keys with no tfjs meaning.
const DROP_INPUT_KEYS = ['ragged', 'optional', 'batch_shape', 'input_tensor'];

/** True when a config is in the Keras 3 dialect (module keys, batch_shape or DTypePolicy anywhere). */
export function isKeras3Config(config: unknown): boolean {
  const text = JSON.stringify(config);
  return /"module":|"batch_shape":|"DTypePolicy"|"__keras_tensor__"/.test(text);
}

function tfjsKnows(className: string): boolean {
  return className in tf.serialization.SerializationMap.getMap().classNameMap;
}

function unknownLayer(entry: Json, ctx: ConvertContext): FleetError {
  const cls = String(entry.class_name);
  const module = typeof entry.module === 'string' ? entry.module : undefined;
  const custom = module !== undefined && !module.startsWith('keras');
  const from = custom
    ? ` from custom module "${module}" (register a tfjs class with that name first)`
    : ' (a Keras layer TensorFlow.js does not implement)';
  const name = isObject(entry.config) ? entry.config.name : undefined;
  return fleetError(
    'KERAS_UNKNOWN_LAYER',
    { source: ctx.source, name: JSON.stringify(name), cls, from },
    { file: ctx.source, className: cls, ...(module !== undefined && { module }) },
  );
}

function convertLayerConfig(cls: string, raw: Json, ctx: ConvertContext, keras3: boolean): Json {
  const where = `layer ${JSON.stringify(raw.name)} (${cls})`;
  const out: Json = {};
  for (const [key, value] of Object.entries(raw)) {
    if (DROP_INPUT_KEYS.includes(key) && cls === 'InputLayer') continue;
    const v = unwrapTensor(value);
    if (key === 'dtype') {
      const d = convertDtype(v, ctx, where);
      if (d !== undefined) out.dtype = d;
    } else if (key.endsWith('_initializer')) {
      const init = convertInitializer(v, ctx, `${where} ${key}`);
      if (init !== undefined) out[key] = init;
    } else if (key.endsWith('_regularizer')) {
      const reg = convertRegularizer(v, ctx, `${where} ${key}`);
      if (reg !== undefined) out[key] = reg;
    } else if (key.endsWith('_constraint')) {
      const c = convertConstraint(v, ctx, `${where} ${key}`);
      if (c !== undefined) out[key] = c;
    } else if (key === 'activation' || key === 'recurrent_activation') {
      out[key] = convertActivation(v, ctx, `${where} ${key}`, keras3);
    } else if (key === 'layer' || key === 'cell' || (key === 'backward_layer' && isObject(v))) {
      // Wrappers (TimeDistributed, Bidirectional, RNN) nest whole layer entries.
      out[key] = isObject(v) ? convertLayerEntry(v, ctx, keras3) : v;
    } else {
      out[key] = v;
    }
  }
  if (cls === 'InputLayer') {
    const shape = raw.batch_shape ?? raw.batch_input_shape;
    if (shape !== undefined) out.batch_input_shape = shape;
  }
  if (cls === 'BatchNormalization' && Array.isArray(out.axis) && out.axis.length === 1) out.axis = out.axis[0];
  if (cls === 'GRU' && out.reset_after === true) {
    throw fleetError('KERAS_GRU_RESET_AFTER', { source: ctx.source, where }, { file: ctx.source });
  }
  if (typeof out.groups === 'number' && out.groups !== 1) {
    throw fleetError('KERAS_CONV_GROUPS', { source: ctx.source, where, groups: out.groups }, { file: ctx.source });
  }
  return out;
}

// Keras 3 node: { args: [kerasTensor | [kerasTensor...]], kwargs } -> Keras 2 node: [[name, node, tensor, kwargs], ...].
function convertInboundNodes(nodes: unknown, ctx: ConvertContext, layer: string): unknown {
  if (!Array.isArray(nodes)) return [];
  return nodes.map((node) => {
    if (!isObject(node)) return node;
    const tensors: unknown[][] = [];
    const visit = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(visit);
      else if (
        isObject(v) &&
        v.class_name === '__keras_tensor__' &&
        isObject(v.config) &&
        Array.isArray(v.config.keras_history)
      ) {
        const [name, nodeIndex, tensorIndex] = v.config.keras_history as [string, number, number];
        tensors.push([name, nodeIndex, tensorIndex, {}]);
      } else if (v !== null && v !== undefined && !isObject(v)) {
        ctx.warn(
          `${ctx.source}: layer ${JSON.stringify(layer)} is called with a non-tensor argument ${JSON.stringify(v)} that tfjs ignores.`,
        );
      }
    };
    visit(node.args);
    return tensors;
  });
}

function convertLayerEntry(entry: Json, ctx: ConvertContext, keras3: boolean): Json {
  const cls = entry.class_name;
  if (typeof cls !== 'string') {
    throw fleetError(
      'KERAS_NO_CLASS_NAME',
      { source: ctx.source, entry: JSON.stringify(entry).slice(0, 120) },
      { file: ctx.source },
    );
  }
  if (MODEL_CLASSES.has(cls)) return { ...convertModelConfig(entry, ctx, keras3), ...pickNodes(entry, ctx) };
  if (!tfjsKnows(cls)) throw unknownLayer(entry, ctx);
  const out: Json = {
    class_name: cls,
    config: convertLayerConfig(cls, isObject(entry.config) ? entry.config : {}, ctx, keras3),
  };
  return { ...out, ...pickNodes(entry, ctx) };
}

function pickNodes(entry: Json, ctx: ConvertContext): Json {
  const out: Json = {};
  if (typeof entry.name === 'string') out.name = entry.name;
  if ('inbound_nodes' in entry) {
    const nodes = entry.inbound_nodes;
    const dictShaped = Array.isArray(nodes) && nodes.some(isObject);
    out.inbound_nodes = dictShaped ? convertInboundNodes(nodes, ctx, String(entry.name)) : nodes;
  }
  return out;
}

// Keras 3 writes a single input/output as ["name", 0, 0] instead of [["name", 0, 0]].
function listOfRefs(v: unknown): unknown {
  return Array.isArray(v) && typeof v[0] === 'string' ? [v] : v;
}

function convertModelConfig(model: Json, ctx: ConvertContext, keras3: boolean): Json {
  const cls = String(model.class_name);
  let config = model.config;
  // Keras <= 2.1 wrote a Sequential config as the bare list of layers.
  if (Array.isArray(config)) config = { name: 'sequential', layers: config };
  if (!isObject(config) || !Array.isArray(config.layers)) {
    throw fleetError(
      'KERAS_NO_LAYERS',
      { cls, source: ctx.source, config: JSON.stringify(config).slice(0, 120) },
      { file: ctx.source },
    );
  }
  const layers = (config.layers as unknown[]).map((l) => {
    if (!isObject(l))
      throw fleetError(
        'KERAS_LAYER_NOT_OBJECT',
        { source: ctx.source, entry: JSON.stringify(l) },
        { file: ctx.source },
      );
    return convertLayerEntry(l, ctx, keras3);
  });
  const out: Json = { name: config.name ?? 'model', layers };
  if (cls === 'Sequential') {
    // Keras 3 Sequential built with build() keeps its input shape in build_input_shape, not on a layer.
    const first = layers[0];
    const hasInput =
      first !== undefined &&
      (first.class_name === 'InputLayer' || (isObject(first.config) && 'batch_input_shape' in first.config));
    if (!hasInput && first && isObject(first.config) && Array.isArray(config.build_input_shape))
      first.config.batch_input_shape = config.build_input_shape;
  } else {
    out.input_layers = listOfRefs(config.input_layers);
    out.output_layers = listOfRefs(config.output_layers);
  }
  return { class_name: cls === 'Functional' ? 'Model' : cls, config: out };
}

/**
 * Any Keras model config (a `{class_name, config}` object, possibly wrapped with keras_version/backend)
 * as a topology tfjs-layers can deserialize. Layers it cannot build are FLEET_ERR_MODEL_CONFIG.
 */
export function toTfjsTopology(raw: unknown, ctx: ConvertContext, keras3 = isKeras3Config(raw)): Json {
  const model = isObject(raw) && isObject(raw.model_config) ? raw.model_config : raw;
  if (!isObject(model) || typeof model.class_name !== 'string') {
    const received = JSON.stringify(raw)?.slice(0, 120);
    throw fleetError(
      'KERAS_NOT_MODEL_CONFIG',
      { form: '{"class_name", "config"}', source: ctx.source, received },
      { file: ctx.source },
    );
  }
  if (!MODEL_CLASSES.has(model.class_name)) {
    const module = typeof model.module === 'string' ? ` from module "${model.module}"` : '';
    throw fleetError(
      'KERAS_NOT_SEQUENTIAL',
      { source: ctx.source, cls: model.class_name, module },
      { file: ctx.source },
    );
  }
  return convertModelConfig(model, ctx, keras3);
}

/** Builds an (untrained) tfjs model from a converted topology; tfjs failures become FLEET_ERR_MODEL_CONFIG. */
export async function buildModel(topology: Json, ctx: ConvertContext): Promise<tf.LayersModel> {
  try {
    return await tf.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
  } catch (err) {
    throw fleetError(
      'KERAS_CANNOT_BUILD',
      { source: ctx.source, reason: (err as Error).message },
      { file: ctx.source },
    );
  }
}
