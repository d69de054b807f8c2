/**
 * Keras 3's weights layout (`model.weights.h5` inside a `.keras`, and `*.weights.h5`): variables at
 * `layers/<path>/vars/<i>`. Keras names each `<path>` after the layer's class in snake case, numbered
 * per class (`dense`, `dense_1`, ...), in `model.layers` order; the `vars` group's `name` attribute holds
 * the layer's own name. RNNs keep their variables in `cell/vars`, wrappers in `layer/...` and
 * `forward_layer/...`/`backward_layer/...`.
 */
import { fleetError } from '../../runtime/catalogue/index.ts';
import { ensureGroup, getDataset, getGroup, readFloat32, writeFloat32, type Group } from './h5.ts';
import type { SavedLayer, SavedWeight } from './weights.ts';

/** A layer as the layout needs it: its class and name, and for wrappers, the wrapped layer's class. */
export interface LayerRef {
  className: string;
  name: string;
  /** For Bidirectional / TimeDistributed: the wrapped layer's class. */
  inner?: string;
}

const RNN = new Set(['LSTM', 'GRU', 'SimpleRNN', 'ConvLSTM2D']);

/** Keras's `naming.to_snake_case` of a class name. */
export function snakeClass(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** The layer paths Keras derives for `layers`, in order: class name in snake case, deduplicated `_1`, `_2`... */
export function layerPaths(layers: readonly LayerRef[]): string[] {
  const used = new Map<string, number>();
  return layers.map((l) => {
    const base = snakeClass(l.className);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    return `layers/${n === undefined ? base : `${base}_${n + 1}`}`;
  });
}

/** Where a layer's variables live, relative to its path, in tfjs `layer.weights` order; plus how many each holds. */
function varGroups(ref: LayerRef, total: number): { path: string; count: number }[] {
  const cellOf = (cls: string | undefined) => (cls !== undefined && RNN.has(cls) ? '/cell' : '');
  if (RNN.has(ref.className)) return [{ path: 'cell/vars', count: total }];
  if (ref.className === 'Bidirectional') {
    const inner = cellOf(ref.inner);
    return [
      { path: `forward_layer${inner}/vars`, count: total / 2 },
      { path: `backward_layer${inner}/vars`, count: total / 2 },
    ];
  }
  if (ref.className === 'TimeDistributed') return [{ path: `layer${cellOf(ref.inner)}/vars`, count: total }];
  return [{ path: 'vars', count: total }];
}

function readVars(g: Group | undefined): SavedWeight[] {
  if (!g) return [];
  // HDF5 lists "0, 1, 10, 11, 2": Keras's indices must be sorted as numbers.
  const keys = g
    .keys()
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b));
  return keys.map((k) => {
    const { data, shape } = readFloat32(getDataset(g, k) as NonNullable<ReturnType<typeof getDataset>>);
    return { name: `${g.path}/${k}`, shape, data };
  });
}

// Every "vars" group under `g`, depth first with `vars` itself first: the fallback for unknown wrappers.
function allVars(g: Group): SavedWeight[] {
  const own = readVars(getGroup(g, 'vars'));
  const children = g
    .keys()
    .filter((k) => k !== 'vars')
    .sort()
    .flatMap((k) => {
      const child = getGroup(g, k);
      return child ? allVars(child) : [];
    });
  return [...own, ...children];
}

/** Reads the variables of `layers` (given in Keras `model.layers` order) from a Keras 3 weights root. */
export function readKeras3Layers(root: Group, layers: readonly LayerRef[], file: string): SavedLayer[] {
  const paths = layerPaths(layers);
  return layers.map((ref, i) => {
    const path = paths[i] as string;
    const g = getGroup(root, path);
    if (!g) {
      if (ref.className === 'InputLayer') return { name: ref.name, weights: [] };
      const members = JSON.stringify(getGroup(root, 'layers')?.keys() ?? []);
      throw fleetError('KERAS3_NO_LAYER_GROUP', { path, name: ref.name, file, members }, { file });
    }
    const groups = varGroups(ref, Number.NaN).map((v) => getGroup(g, v.path));
    const weights = groups.every((x) => x !== undefined) ? groups.flatMap((x) => readVars(x)) : allVars(g);
    return { name: ref.name, weights };
  });
}

function writeVars(g: Group, path: string, name: string, weights: readonly SavedWeight[]): void {
  const vg = ensureGroup(g, path);
  vg.create_attribute('name', name);
  weights.forEach((w, i) => writeFloat32(vg, String(i), w.data, w.shape));
}

/** Writes `layers` (Keras `model.layers` order, with their weights) in the Keras 3 layout under `root`. */
export function writeKeras3Layers(
  root: Group,
  layers: readonly LayerRef[],
  saved: readonly SavedLayer[],
  modelName: string,
): void {
  const paths = layerPaths(layers);
  layers.forEach((ref, i) => {
    const weights = (saved[i] as SavedLayer).weights;
    const g = ensureGroup(root, paths[i] as string);
    let at = 0;
    for (const v of varGroups(ref, weights.length)) {
      // Keras gives every object on the way (the layer, its forward_layer, ...) its own `vars`, empty or not.
      const parts = v.path.split('/').slice(0, -1);
      for (let k = 0; k < parts.length; k++) {
        const prefix = [...parts.slice(0, k), 'vars'].join('/');
        if (!getGroup(g, prefix)) writeVars(g, prefix, k === 0 ? ref.name : (parts[k - 1] as string), []);
      }
      const name =
        v.path === 'vars'
          ? ref.name
          : v.path.includes('cell')
            ? `${snakeClass(ref.inner ?? ref.className)}_cell`
            : (parts.at(-1) as string);
      writeVars(g, v.path, name, weights.slice(at, at + v.count));
      at += v.count;
    }
  });
  writeVars(root, 'vars', modelName, []);
}
