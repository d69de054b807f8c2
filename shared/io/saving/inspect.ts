/**
 * What a model or weights file holds, as text: the format, the Keras version that wrote it, the
 * architecture (layers, output shapes, parameter counts) and every weight's shape. Used by
 * `tensorfleet inspect`.
 */
import type * as tf from '@tensorflow/tfjs';
import { fleetError } from '../../runtime/catalogue/index.ts';
import { detectKind, toPath } from './files.ts';
import { getDataset, getGroup, withH5, type Group } from './h5.ts';
import { isLegacyLayout, readLegacyRoot } from './legacy-h5.ts';
import { loadModel } from './index.ts';
import type { SavedLayer } from './weights.ts';

/** A file's contents in printable form. */
export interface FileReport {
  file: string;
  format: string;
  kerasVersion?: string;
  /** Architecture rows, absent for weights-only files. */
  layers?: { name: string; className: string; outputShape: string; params: number }[];
  weights: { layer: string; name: string; shape: number[] }[];
  trainingConfig?: unknown;
  warnings: string[];
}

function outputShape(layer: tf.layers.Layer): string {
  try {
    return JSON.stringify(layer.outputShape).replace(/null/g, 'None');
  } catch {
    return 'multiple';
  }
}

// Keras 3 weights files have no layer list: every dataset under a `vars` group, by path.
function keras3Datasets(g: Group, prefix = ''): { layer: string; name: string; shape: number[] }[] {
  return g
    .keys()
    .sort()
    .flatMap((k) => {
      const path = prefix ? `${prefix}/${k}` : k;
      const ds = getDataset(g, k);
      if (ds) return [{ layer: prefix.replace(/\/vars$/, ''), name: path, shape: ds.shape ?? [] }];
      const child = getGroup(g, k);
      return child ? keras3Datasets(child, path) : [];
    });
}

function weightRows(layers: readonly SavedLayer[]): FileReport['weights'] {
  return layers.flatMap((l) => l.weights.map((w) => ({ layer: l.name, name: w.name, shape: w.shape })));
}

/** Inspects a model file (any format loadModel reads) or a weights-only .h5 / .weights.h5. */
export async function inspectFile(source: string): Promise<FileReport> {
  const file = toPath(source);
  const kind = await detectKind(file);
  if (kind === 'hdf5') {
    const weightsOnly = await withH5(file, 'r', (f) => {
      if (!isLegacyLayout(f)) return { format: 'Keras 3 weights (.weights.h5)', weights: keras3Datasets(f) };
      const saved = readLegacyRoot(f, file);
      if (saved.modelConfig !== undefined) return undefined;
      return {
        format: 'legacy Keras HDF5 weights',
        ...(saved.kerasVersion && { kerasVersion: saved.kerasVersion }),
        weights: weightRows(saved.layers),
      };
    });
    if (weightsOnly) return { file, ...weightsOnly, warnings: [] };
  }
  const warnings: string[] = [];
  const loaded = await loadModel(file, { onWarning: (m) => warnings.push(m) });
  const model = loaded.model;
  const formatName = {
    h5: 'legacy Keras HDF5 model',
    keras: 'Keras 3 archive (.keras)',
    tfjs: 'TensorFlow.js layers model',
    json: 'architecture JSON (no weights)',
  }[loaded.format];
  const report: FileReport = {
    file,
    format: formatName,
    ...(loaded.kerasVersion && { kerasVersion: loaded.kerasVersion }),
    layers: model.layers.map((l) => ({
      name: l.name,
      className: l.getClassName(),
      outputShape: outputShape(l),
      params: l.countParams(),
    })),
    weights: model.layers.flatMap((l) =>
      l.weights.map((w) => ({ layer: l.name, name: w.originalName, shape: [...w.shape] as number[] })),
    ),
    ...(loaded.trainingConfig && { trainingConfig: loaded.trainingConfig }),
    warnings,
  };
  model.dispose();
  return report;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The report as the text `tensorfleet inspect` prints. */
export function formatReport(r: FileReport): string {
  const lines = [
    `File: ${r.file}`,
    `Format: ${r.format}${r.kerasVersion ? ` (written by Keras ${r.kerasVersion})` : ''}`,
  ];
  if (r.layers) {
    const total = r.layers.reduce((n, l) => n + l.params, 0);
    lines.push(
      '',
      table([
        ['Layer (type)', 'Output Shape', 'Param #'],
        ...r.layers.map((l) => [`${l.name} (${l.className})`, l.outputShape, String(l.params)]),
      ]),
    );
    lines.push(`Total params: ${total}`);
  }
  lines.push('', table([['Weight', 'Shape'], ...r.weights.map((w) => [w.name, `[${w.shape.join(', ')}]`])]));
  if (r.weights.length === 0) lines.push('(no weights)');
  if (r.trainingConfig) lines.push('', `Training config: ${JSON.stringify(r.trainingConfig)}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

/** Throws unless a command got exactly `n` positional arguments. */
export function expectArgs(argv: readonly string[], n: number, usage: string): string[] {
  const positional = argv.filter((a) => !a.startsWith('--'));
  if (positional.length !== n) throw fleetError('INSPECT_USAGE', { usage, argv: JSON.stringify(argv) });
  return positional;
}
