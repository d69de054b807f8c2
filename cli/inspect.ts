/**
 * `tensorfleet inspect <file>`: prints what a model or weights file holds (format, Keras version,
 * layers with output shapes and parameter counts, every weight's shape), like Keras's model.summary().
 *   node bin/tensorfleet.mjs inspect model.h5
 */
import * as tf from '@tensorflow/tfjs';
import { expectArgs, formatReport, inspectFile } from '../shared/io/saving/inspect.ts';

/** Runs the command; returns the exit code (FleetErrors propagate to cli/main.ts, which prints them). */
export async function run(argv: readonly string[]): Promise<number> {
  const [file] = expectArgs(argv, 1, 'tensorfleet inspect <model.h5|model.keras|weights.h5|model.json|dir>') as [
    string,
  ];
  // Inspection is tiny: the plain JS backend avoids loading wasm or native code.
  // PROD silences tfjs's "install tfjs-node" banner, which would clutter the command's output.
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  process.stdout.write(formatReport(await inspectFile(file)));
  return 0;
}
