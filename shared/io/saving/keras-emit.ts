/**
 * tfjs model configs rewritten for Python Keras: the Keras-2 dialect that legacy `.h5` files carry
 * (Keras 3 still loads it), and the Keras 3 dialect of `.keras` archives (module, registered_name,
 * batch_shape, DTypePolicy, dict-shaped inbound nodes).
 */
import type * as tf from '@tensorflow/tfjs';
import { isObject, type Json } from './config-values.ts';

/** Something to tell the user about a save; never changes what is written. */
export type Warn = (message: string) => void;

// tfjs spelling -> Keras 3 spelling, where they differ.
const KERAS3_INITIALIZER: Record<string, string> = { LeCunNormal: 'LecunNormal', LeCunUniform: 'LecunUniform' };
const RNN_CLASSES = new Set(['LSTM', 'GRU', 'SimpleRNN']);

function cleanLayerConfig(cls: string, config: Json, warn: Warn): Json {
  const out: Json = { ...config };
  for (const [key, v] of Object.entries(out)) {
    // tfjs writes "normal" where Keras means truncated normal (Keras 2 accepted both, Keras 3 rejects "normal").
    if (
      key.endsWith('_initializer') &&
      isObject(v) &&
      v.class_name === 'VarianceScaling' &&
      isObject(v.config) &&
      v.config.distribution === 'normal'
    ) {
      out[key] = { ...v, config: { ...v.config, distribution: 'truncated_normal' } };
    }
    if ((key === 'activation' || key === 'recurrent_activation') && v === 'hard_sigmoid') {
      const option = key === 'activation' ? 'activation' : 'recurrentActivation';
      warn(
        `layer ${JSON.stringify(config.name)}: ${key} hard_sigmoid is 0.2x+0.5 in tfjs and Keras 2 ` +
          'but relu6(x+3)/6 in Keras 3; Python Keras 3 will predict differently. ' +
          "Build the layer with tensorfleet's layers (import { layers } from 'tensorfleet'; Keras 3 defaults) " +
          `or pass ${option}: 'sigmoid'.`,
      );
    }
    if (key === 'layer' && isObject(v)) out[key] = cleanEntry(v, warn);
  }
  if (RNN_CLASSES.has(cls)) {
    if (out.unit_forget_bias === null) out.unit_forget_bias = true;
    if (out.implementation === null) delete out.implementation;
  }
  return out;
}

function cleanEntry(entry: Json, warn: Warn): Json {
  const cls = String(entry.class_name);
  if (cls === 'Sequential' || cls === 'Model' || cls === 'Functional') return { ...entry, ...cleanModel(entry, warn) };
  return { ...entry, config: cleanLayerConfig(cls, isObject(entry.config) ? entry.config : {}, warn) };
}

function cleanModel(topology: Json, warn: Warn): Json {
  const config = topology.config as Json;
  const layers = (config.layers as Json[]).map((l) => cleanEntry(l, warn));
  const first = layers[0];
  // Keras 3 turns batch_input_shape on a non-input layer into a wrong input_shape: give Sequential an InputLayer.
  if (
    topology.class_name === 'Sequential' &&
    first &&
    first.class_name !== 'InputLayer' &&
    isObject(first.config) &&
    Array.isArray(first.config.batch_input_shape)
  ) {
    const { batch_input_shape, ...rest } = first.config;
    layers[0] = { ...first, config: rest };
    layers.unshift({
      class_name: 'InputLayer',
      config: { batch_input_shape, dtype: rest.dtype ?? 'float32', sparse: false, name: `${String(rest.name)}_input` },
    });
  }
  return { class_name: topology.class_name, config: { ...config, layers } };
}

/** The model's config in the Keras 2 dialect (`{class_name, config}`), loadable by tf.keras 2 and Keras 3. */
export function legacyTopology(model: tf.LayersModel, warn: Warn = () => undefined): Json {
  const topo = model.toJSON(null, false) as unknown as Json;
  return cleanModel(topo, warn);
}

function policy(dtype: unknown): Json {
  return {
    module: 'keras',
    class_name: 'DTypePolicy',
    config: { name: typeof dtype === 'string' ? dtype : 'float32' },
    registered_name: null,
  };
}

function keras3Object(module: string, v: unknown, rename: Record<string, string> = {}): unknown {
  if (!isObject(v) || typeof v.class_name !== 'string') return v;
  return { module, class_name: rename[v.class_name] ?? v.class_name, config: v.config ?? {}, registered_name: null };
}

function keras3LayerConfig(cls: string, config: Json): Json {
  const out: Json = {};
  for (const [key, v] of Object.entries(config)) {
    if (key === 'batch_input_shape') {
      if (cls === 'InputLayer') out.batch_shape = v;
    } else if (key === 'dtype') {
      out.dtype = cls === 'InputLayer' ? v : policy(v);
    } else if (key.endsWith('_initializer')) {
      out[key] = keras3Object('keras.initializers', v, KERAS3_INITIALIZER);
    } else if (key.endsWith('_regularizer')) {
      out[key] = keras3Object('keras.regularizers', v);
    } else if (key.endsWith('_constraint')) {
      out[key] = keras3Object('keras.constraints', v);
    } else if (key === 'layer' && isObject(v)) {
      out[key] = keras3Entry(v, undefined);
    } else {
      out[key] = v;
    }
  }
  if (!('dtype' in out) && cls !== 'InputLayer') out.dtype = policy('float32');
  return out;
}

function tensorShape(model: tf.LayersModel | undefined, name: string, node: number, index: number): unknown {
  try {
    return model?.getLayer(name).inboundNodes[node]?.outputTensors[index]?.shape ?? null;
  } catch {
    return null;
  }
}

// Keras 2 node [[name, node, tensor, kwargs], ...] -> Keras 3 { args, kwargs } with __keras_tensor__ refs.
function keras3Nodes(nodes: unknown, model: tf.LayersModel | undefined): unknown {
  if (!Array.isArray(nodes)) return [];
  return nodes.map((node) => {
    const refs = (node as unknown[][]).map((ref) => {
      const [name, n, t] = ref as [string, number, number];
      return {
        class_name: '__keras_tensor__',
        config: { shape: tensorShape(model, name, n, t), dtype: 'float32', keras_history: [name, n, t] },
      };
    });
    return { args: refs.length === 1 ? refs : [refs], kwargs: {} };
  });
}

function keras3Entry(entry: Json, model: tf.LayersModel | undefined): Json {
  const cls = String(entry.class_name);
  if (cls === 'Sequential' || cls === 'Model' || cls === 'Functional')
    return { ...keras3Model(entry, model), ...nodesOf(entry, model) };
  const config = keras3LayerConfig(cls, isObject(entry.config) ? entry.config : {});
  const out: Json = { module: 'keras.layers', class_name: cls, config, registered_name: null };
  const layerName = typeof config.name === 'string' ? config.name : undefined;
  if (cls !== 'InputLayer' && model && layerName) {
    try {
      const input = model.getLayer(layerName).input;
      const shape = Array.isArray(input) ? input.map((t) => t.shape) : input.shape;
      out.build_config = { input_shape: shape };
    } catch {
      // Layers called on several inputs or nodes have no single input shape; Keras rebuilds them from the graph.
    }
  }
  return { ...out, ...nodesOf(entry, model) };
}

function nodesOf(entry: Json, model: tf.LayersModel | undefined): Json {
  const out: Json = {};
  if ('name' in entry) out.name = entry.name;
  if ('inbound_nodes' in entry) out.inbound_nodes = keras3Nodes(entry.inbound_nodes, model);
  return out;
}

function keras3Model(topology: Json, model: tf.LayersModel | undefined): Json {
  const config = topology.config as Json;
  const layers = (config.layers as Json[]).map((l) => keras3Entry(l, model));
  const name = config.name;
  if (topology.class_name === 'Sequential') {
    const input =
      layers[0]?.class_name === 'InputLayer' && isObject(layers[0].config) ? layers[0].config.batch_shape : undefined;
    return {
      module: 'keras',
      class_name: 'Sequential',
      registered_name: null,
      config: {
        name,
        trainable: true,
        dtype: policy('float32'),
        layers,
        ...(input !== undefined && { build_input_shape: input }),
      },
      ...(input !== undefined && { build_config: { input_shape: input } }),
    };
  }
  return {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    registered_name: 'Functional',
    config: { name, trainable: true, layers, input_layers: config.input_layers, output_layers: config.output_layers },
    build_config: { input_shape: null },
  };
}

/** The model's config in the Keras 3 dialect, as `config.json` of a `.keras` archive holds it. */
export function keras3Topology(model: tf.LayersModel, warn: Warn = () => undefined): Json {
  return keras3Model(legacyTopology(model, warn), model);
}
