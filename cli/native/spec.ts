/** `tensorfleet setup native` flags, parsed once into a frozen spec. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';
import { packageRoot } from '../../shared/runtime/module-path.ts';
import type { Flavour } from './pins.ts';
import type { ToolchainHints } from './toolchain.ts';

export const USAGE =
  'usage: tensorfleet setup native [--from-pip | --from-wheel PATH | --from-tarball PATH] [--gpu] [--force] ' +
  `[--check] [--root DIR]
  --from-pip          install the pinned TensorFlow wheel into .venv-native/ and link against it (default)
  --from-wheel PATH   link against a TensorFlow wheel already on disk (tensorflow or tensorflow-cpu, cp3x, linux x86_64)
  --from-tarball PATH link against a libtensorflow C library tarball (include/, lib/libtensorflow*.so*)
  --gpu               build @tensorflow/tfjs-node-gpu instead of @tensorflow/tfjs-node
  --force             rebuild even when an earlier build still loads
  --check             only report whether the native backend is set up (exit 0 if it is, 1 if not)
  --root DIR          project whose node_modules receives the addon (default: this checkout)`;

/** Where libtensorflow comes from. */
export type LibSource =
  | { readonly kind: 'pip' }
  | { readonly kind: 'wheel'; readonly path: string }
  | { readonly kind: 'tarball'; readonly path: string };

/** What was asked for: which package, against which libtensorflow, in which project. */
export interface NativeSetupSpec {
  /** Absolute project root; its node_modules receives the package and addon. */
  readonly root: string;
  readonly flavour: Flavour;
  readonly source: LibSource;
  /** False when no --from-* flag was given: then any earlier working build is kept, whatever its source. */
  readonly sourceExplicit: boolean;
  /** Rebuild even when the stamp says an earlier build matches. */
  readonly force: boolean;
  /** Report only; change nothing. */
  readonly checkOnly: boolean;
  /** $npm_config_nodedir and $npm_config_node_gyp, as npm itself honours them. */
  readonly hints: ToolchainHints;
}

/** The folder of tensorfleet's package.json: the checkout, or the installed package when run from dist/. */
export const DEFAULT_ROOT = packageRoot(import.meta.url);

/** Flags after `setup native` (and npm's environment) to a frozen spec, or 'help'; every problem is a FLEET_ERR_CONFIG. */
export function parseNativeArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): NativeSetupSpec | 'help' {
  let values: {
    'from-pip'?: boolean;
    'from-wheel'?: string;
    'from-tarball'?: string;
    gpu?: boolean;
    force?: boolean;
    check?: boolean;
    root?: string;
    help?: boolean;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        'from-pip': { type: 'boolean' },
        'from-wheel': { type: 'string' },
        'from-tarball': { type: 'string' },
        gpu: { type: 'boolean' },
        force: { type: 'boolean' },
        check: { type: 'boolean' },
        root: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw fleetError('NATIVE_FLAGS', { reason: (err as Error).message, usage: USAGE });
  }
  if (values.help) return 'help';
  if (positionals.length > 0) throw fleetError('NATIVE_POSITIONALS', { positionals, usage: USAGE });
  const chosen = [
    values['from-pip'] && '--from-pip',
    values['from-wheel'] !== undefined && '--from-wheel',
    values['from-tarball'] !== undefined && '--from-tarball',
  ].filter(Boolean);
  if (chosen.length > 1) throw fleetError('NATIVE_SOURCE_FLAGS', { chosen: chosen.join(' ') });
  const source = sourceOf(values['from-wheel'], values['from-tarball']);
  const root = path.resolve(values.root ?? DEFAULT_ROOT);
  if (!existsSync(path.join(root, 'package.json'))) throw fleetError('NATIVE_ROOT', { root });
  const hints: ToolchainHints = {
    ...(env.npm_config_nodedir && { nodeDir: env.npm_config_nodedir }),
    ...(env.npm_config_node_gyp && { nodeGyp: env.npm_config_node_gyp }),
  };
  return Object.freeze({
    root,
    flavour: values.gpu ? 'gpu' : 'cpu',
    source,
    sourceExplicit: chosen.length === 1,
    force: values.force ?? false,
    checkOnly: values.check ?? false,
    hints: Object.freeze(hints),
  });
}

function sourceOf(wheel: string | undefined, tarball: string | undefined): LibSource {
  if (wheel !== undefined) {
    const p = path.resolve(wheel);
    if (!p.endsWith('.whl') || !existsSync(p)) throw fleetError('NATIVE_WHEEL_FLAG', { wheel });
    return Object.freeze({ kind: 'wheel', path: p });
  }
  if (tarball !== undefined) {
    const p = path.resolve(tarball);
    if (!/\.(tar\.gz|tgz)$/.test(p) || !existsSync(p)) throw fleetError('NATIVE_TARBALL_FLAG', { tarball });
    return Object.freeze({ kind: 'tarball', path: p });
  }
  return Object.freeze({ kind: 'pip' });
}

/** One line naming a source, for logs and the stamp. */
export function describeSource(source: LibSource): string {
  switch (source.kind) {
    case 'pip':
      return 'pip';
    case 'wheel':
      return `wheel ${source.path}`;
    case 'tarball':
      return `tarball ${source.path}`;
    default: {
      const never: never = source;
      return String(never);
    }
  }
}
