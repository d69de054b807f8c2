/**
 * `tensorfleet setup native`, as named steps: find the package, find a libtensorflow, stage it,
 * build the binding, verify in a fresh process, stamp. A second run with the same request finds the
 * stamp, re-verifies the addon in a fresh process, and changes nothing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';
import { addonTarget, buildAddon } from './build.ts';
import { ensureVenvIgnored, obtainLibTensorflow, pipRequirement } from './libtensorflow.ts';
import { ensurePackage } from './package.ts';
import { PACKAGES, TFJS_NODE_VERSION, VENV_DIR, type Flavour } from './pins.ts';
import type { LibSource, NativeSetupSpec } from './spec.ts';
import { stageLibTensorflow } from './stage.ts';
import { readStamp, writeStamp, type NativeStamp } from './state.ts';
import { findToolchain } from './toolchain.ts';
import { verifyNative } from './verify.ts';

/** How a setup ended: built now, or found already built. */
export interface NativeSetupResult {
  readonly changed: boolean;
  readonly stamp: NativeStamp;
}

/** Identity of a requested source, compared with the stamp's. */
export function sourceKey(source: LibSource, flavour: Flavour): string {
  switch (source.kind) {
    case 'pip':
      return `pip:${pipRequirement(flavour)}`;
    case 'wheel':
    case 'tarball':
      return `${source.kind}:${source.path}`;
    default: {
      const never: never = source;
      return String(never);
    }
  }
}

/** Runs the setup; throws FLEET_ERR_BACKEND with the failing step's evidence. */
export async function setupNative(spec: NativeSetupSpec, log: (line: string) => void): Promise<NativeSetupResult> {
  const t0 = performance.now();
  const pkg = PACKAGES[spec.flavour];
  const key = sourceKey(spec.source, spec.flavour);

  ensureVenvIgnored(spec.root);
  const previous = readStamp(spec.root, spec.flavour);
  if (
    previous !== null &&
    !spec.force &&
    (!spec.sourceExplicit || previous.sourceKey === key) &&
    existsSync(previous.addon)
  ) {
    const check = await verifyNative(spec.root, pkg);
    if (check.ok && check.tfVersion === previous.tfVersion) {
      log(
        `${pkg} ${previous.tfjsNodeVersion} is already built against TensorFlow ${previous.tfVersion} (${previous.origin}); nothing to do`,
      );
      return { changed: false, stamp: previous };
    }
    log(`the earlier build no longer loads (${check.ok ? `TF_Version ${check.tfVersion}` : check.reason}); rebuilding`);
  } else if (previous !== null && !spec.force && previous.sourceKey !== key) {
    log(`earlier build used ${previous.origin}; rebuilding against the requested source`);
  }

  const step = stepTimer(log);
  const pkgDir = await step('package', () => ensurePackage(spec.root, pkg, log));
  const tools = await step('toolchain', async () => findToolchain(spec.root, spec.hints));
  const lib = await step('libtensorflow', () => obtainLibTensorflow(spec.source, spec.root, spec.flavour, log));
  log(`linking against TensorFlow ${lib.version} from ${lib.origin}`);
  await step('stage', async () => stageLibTensorflow(pkgDir, lib));
  const target = addonTarget(pkgDir);
  const logFile = path.join(spec.root, VENV_DIR, 'logs', `build-${spec.flavour}.log`);
  await step('build', () => buildAddon(pkgDir, target, tools, logFile));
  const check = await step('verify', () => verifyNative(spec.root, pkg));
  if (!check.ok) {
    throw fleetError('NATIVE_BUILT_BACKEND_FAILS', {
      pkg,
      version: lib.version,
      origin: lib.origin,
      reason: check.reason,
    });
  }
  const stamp: NativeStamp = {
    package: pkg,
    tfjsNodeVersion: TFJS_NODE_VERSION,
    tfVersion: check.tfVersion,
    origin: lib.origin,
    sourceKey: key,
    addon: target.file,
    napiVersion: target.napiVersion,
    builtAt: new Date().toISOString(),
    buildSeconds: Math.round((performance.now() - t0) / 1000),
  };
  writeStamp(spec.root, spec.flavour, stamp);
  log(
    `${pkg} ${TFJS_NODE_VERSION} built against TensorFlow ${check.tfVersion} (${lib.origin}) in ${stamp.buildSeconds} s`,
  );
  log(`addon: ${path.relative(spec.root, target.file)}; tf.getBackend() in a fresh process: ${check.tfBackend}`);
  return { changed: true, stamp };
}

/** Wraps each step with a "[step] N s" line so slow steps are visible in CI logs. */
function stepTimer(log: (line: string) => void) {
  return async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const value = await fn();
    log(`[${name}] ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return value;
  };
}
