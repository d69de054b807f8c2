/**
 * The record a successful setup leaves in the package's deps/, which makes the next run a no-op and
 * lets tests and CI ask "was the native setup run here?" without loading TensorFlow.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageDir } from './package.ts';
import { PACKAGES, STAMP_FILE, type Flavour } from './pins.ts';

/** What was built, from what. */
export interface NativeStamp {
  readonly package: string;
  readonly tfjsNodeVersion: string;
  /** TF_Version() as the built addon reported it. */
  readonly tfVersion: string;
  /** Human-readable origin, e.g. "pip tensorflow-cpu==2.21.0 (.venv-native/)". */
  readonly origin: string;
  /** Identity of the requested source; a different one triggers a rebuild. */
  readonly sourceKey: string;
  readonly addon: string;
  readonly napiVersion: number;
  readonly builtAt: string;
  readonly buildSeconds: number;
}

/** deps/tensorfleet-native.json in the flavour's package folder. */
export function stampPath(root: string, flavour: Flavour): string {
  return path.join(packageDir(root, PACKAGES[flavour]), 'deps', STAMP_FILE);
}

/** The stamp, or null when setup never completed for this flavour in `root`. */
export function readStamp(root: string, flavour: Flavour): NativeStamp | null {
  const file = stampPath(root, flavour);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as NativeStamp;
  } catch {
    return null;
  }
}

export function writeStamp(root: string, flavour: Flavour, stamp: NativeStamp): void {
  writeFileSync(stampPath(root, flavour), `${JSON.stringify(stamp, null, 2)}\n`);
}

/** Whether `tensorfleet setup native` completed in `root` and its addon is still there (no TensorFlow load). */
export function nativeSetupState(
  root: string,
  flavour: Flavour = 'cpu',
): { ready: true; stamp: NativeStamp } | { ready: false; reason: string } {
  const stamp = readStamp(root, flavour);
  if (stamp === null) {
    const gpuFlag = flavour === 'gpu' ? ' --gpu' : '';
    return {
      ready: false,
      reason:
        `native setup has not been run (no ${path.relative(root, stampPath(root, flavour))}); ` +
        `run: node bin/tensorfleet.mjs setup native --from-pip${gpuFlag}`,
    };
  }
  if (!existsSync(stamp.addon))
    return {
      ready: false,
      reason: `the addon ${stamp.addon} recorded by the native setup is gone; run setup native again`,
    };
  return { ready: true, stamp };
}
