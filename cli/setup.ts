/**
 * `tensorfleet setup`: one-time machine setup that needs build tools.
 *   tensorfleet setup native --from-pip              # tfjs-node against the pinned TensorFlow wheel
 *   tensorfleet setup native --from-wheel tf.whl     # ... against a wheel already on disk
 *   tensorfleet setup native --check                 # exit 0 when the native backend is set up
 * See docs/native.md.
 */
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import { setupNative } from './native/setup.ts';
import { USAGE, parseNativeArgs } from './native/spec.ts';
import { nativeSetupState } from './native/state.ts';

const TOPICS = ['native'] as const;

/** Runs `tensorfleet setup <argv>`; returns the exit code (FleetErrors reach main(), which prints them). */
export async function run(argv: readonly string[]): Promise<number> {
  const [topic, ...rest] = argv;
  if (topic === '-h' || topic === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (topic !== 'native') throw fleetError('SETUP_TOPIC', { topics: TOPICS.join(', '), topic, usage: USAGE });
  const spec = parseNativeArgs(rest);
  if (spec === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const log = (line: string) => process.stdout.write(`setup native: ${line}\n`);
  if (spec.checkOnly) {
    const state = nativeSetupState(spec.root, spec.flavour);
    const line = state.ready
      ? `ready: ${state.stamp.package} ${state.stamp.tfjsNodeVersion} ` +
        `built against TensorFlow ${state.stamp.tfVersion} (${state.stamp.origin})`
      : `not ready: ${state.reason}`;
    log(line);
    return state.ready ? 0 : 1;
  }
  await setupNative(spec, log);
  return 0;
}
