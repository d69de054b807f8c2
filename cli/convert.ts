/**
 * `tensorfleet convert <in> <out>`: converts a model between formats. The input format comes from the
 * file's magic bytes, the output format from its name (.h5, .keras, .json or a directory for tfjs).
 * The compile config travels along when the input has one.
 *   node bin/tensorfleet.mjs convert model.keras model.h5
 *   node bin/tensorfleet.mjs convert model.h5 tfjs-model/
 */
import * as tf from '@tensorflow/tfjs';
import { expectArgs } from '../shared/io/saving/inspect.ts';
import { loadModel, saveModel } from '../shared/io/saving/index.ts';

/** Runs the command; returns the exit code (FleetErrors propagate to cli/main.ts, which prints them). */
export async function run(argv: readonly string[]): Promise<number> {
  const [input, output] = expectArgs(
    argv,
    2,
    'tensorfleet convert <in: .h5|.keras|model.json|dir> <out: .h5|.keras|.json|dir>',
  ) as [string, string];
  // PROD silences tfjs's "install tfjs-node" banner, which would clutter the command's output.
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  const loaded = await loadModel(input);
  await saveModel(loaded.model, output, { ...(loaded.trainingConfig && { trainingConfig: loaded.trainingConfig }) });
  process.stdout.write(
    `converted ${input} (${loaded.format}${loaded.kerasVersion ? `, Keras ${loaded.kerasVersion}` : ''}) -> ${output}\n`,
  );
  return 0;
}
