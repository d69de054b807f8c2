/**
 * The TensorFlow.js layers format on disk (`model.json` + `weights.bin`) without tfjs-node: an
 * IOHandler for plain paths and `file://` URLs, and opt-in `file://` routers for `model.save('file://…')`.
 * Writes are atomic per file, weights first, so `model.json` never points at a half-written weights file.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fleetError } from '../../runtime/catalogue/index.ts';
import { atomicWriteBytes, readBytes, toPath } from './files.ts';

/** Where the two files of a tfjs model live for a given target (a directory or a `.json` file). */
export function tfjsPaths(target: string): { json: string; weights: string; weightsName: string } {
  const p = toPath(target);
  if (p.endsWith('.json')) {
    const base = path.basename(p, '.json');
    const weightsName = base === 'model' ? 'weights.bin' : `${base}.weights.bin`;
    return { json: p, weights: path.join(path.dirname(p), weightsName), weightsName };
  }
  return { json: path.join(p, 'model.json'), weights: path.join(p, 'weights.bin'), weightsName: 'weights.bin' };
}

function concat(data: ArrayBuffer | ArrayBuffer[] | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const parts = Array.isArray(data) ? data : [data];
  return new Uint8Array(Buffer.concat(parts.map((b) => new Uint8Array(b))));
}

/** An IOHandler that saves to and loads from `target` (directory, `x.json`, or a `file://` URL of either). */
export function fileIO(
  target: string,
  extra: { trainingConfig?: tf.io.TrainingConfig } = {},
): Required<Pick<tf.io.IOHandler, 'save' | 'load'>> {
  const { json, weights, weightsName } = tfjsPaths(target);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw fleetError('TFJS_GRAPH_TOPOLOGY', { file: json }, { file: json });
      }
      const bin = concat(artifacts.weightData as ArrayBuffer | ArrayBuffer[] | undefined);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [weightsName], weights: artifacts.weightSpecs ?? [] }],
        ...((extra.trainingConfig ?? artifacts.trainingConfig) && {
          trainingConfig: extra.trainingConfig ?? artifacts.trainingConfig,
        }),
      };
      const text = new Uint8Array(Buffer.from(JSON.stringify(modelJson)));
      await atomicWriteBytes(weights, bin);
      await atomicWriteBytes(json, text);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: text.byteLength,
          weightDataBytes: bin.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const text = Buffer.from(await readBytes(json)).toString('utf8');
      let parsed: tf.io.ModelJSON;
      try {
        parsed = JSON.parse(text) as tf.io.ModelJSON;
      } catch (err) {
        throw fleetError('TFJS_BAD_JSON', { file: json, reason: (err as Error).message }, { file: json });
      }
      if (!parsed.modelTopology)
        throw fleetError('TFJS_NO_TOPOLOGY', { file: json, keys: JSON.stringify(Object.keys(parsed)) }, { file: json });
      const manifest = parsed.weightsManifest ?? [];
      const specs = manifest.flatMap((g) => g.weights);
      const buffers = await Promise.all(
        manifest.flatMap((g) => g.paths).map((p) => readBytes(path.join(path.dirname(json), p))),
      );
      const weightData = new Uint8Array(Buffer.concat(buffers)).buffer;
      // Only plain 4-byte dtypes have a size known from the manifest; quantized weights are left to tfjs.
      const plain = specs.every((s) => (s.dtype === 'float32' || s.dtype === 'int32') && !s.quantization);
      const expectedBytes = specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
      if (plain && weightData.byteLength !== expectedBytes) {
        throw fleetError(
          'TFJS_WEIGHT_BYTES',
          { bytes: expectedBytes, file: json, received: weightData.byteLength },
          { file: json },
        );
      }
      return {
        modelTopology: parsed.modelTopology,
        weightSpecs: specs,
        weightData,
        format: parsed.format,
        generatedBy: parsed.generatedBy,
        convertedBy: parsed.convertedBy,
        ...(parsed.trainingConfig && { trainingConfig: parsed.trainingConfig }),
      };
    },
  };
}

let routersRegistered = false;

/**
 * Registers `file://` save and load routers, so `model.save('file://dir')` and
 * `tf.loadLayersModel('file://dir/model.json')` work on any backend. Does nothing when tfjs-node (or an
 * earlier call) already routes `file://`. Never called at import time.
 */
export function registerFileRouters(): void {
  if (routersRegistered) return;
  routersRegistered = true;
  // tfjs routers answer null for URLs they do not handle, though the IORouter type does not say so.
  const route = ((url: string | string[]) =>
    typeof url === 'string' && url.startsWith('file://') ? fileIO(url) : null) as Parameters<
    typeof tf.io.registerSaveRouter
  >[0];
  if (tf.io.getSaveHandlers('file://probe').length === 0) tf.io.registerSaveRouter(route);
  if (tf.io.getLoadHandlers('file://probe').length === 0) tf.io.registerLoadRouter(route);
}

/** True when `dir` is a directory holding a model.json. */
export async function isTfjsDir(dir: string): Promise<boolean> {
  return fs.stat(path.join(dir, 'model.json')).then(
    (s) => s.isFile(),
    () => false,
  );
}
