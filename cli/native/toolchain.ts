/**
 * What compiling the binding needs, found without a network: node-gyp (npm bundles one), Node's
 * headers (installed beside the node binary, or node-gyp's cache), python3, make and a C++ compiler.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';

/** Paths the build uses. */
export interface Toolchain {
  /** node-gyp's bin/node-gyp.js, run with this node binary. */
  readonly nodeGyp: string;
  /** A folder with include/node/node_api.h and include/node/common.gypi, passed as --nodedir. */
  readonly nodeDir: string;
}

/** Overrides from npm's usual environment variables, read once by the command line. */
export interface ToolchainHints {
  /** $npm_config_nodedir: a folder with include/node/. */
  readonly nodeDir?: string;
  /** $npm_config_node_gyp: path to bin/node-gyp.js. */
  readonly nodeGyp?: string;
}

/** Finds the toolchain or throws FLEET_ERR_BACKEND naming what is missing and how to get it. */
export function findToolchain(root: string, hints: ToolchainHints = {}): Toolchain {
  const missing = ['python3', 'make', 'g++'].filter((t) => onPath(t) === null);
  if (missing.length > 0) {
    throw fleetError('NATIVE_NO_TOOLCHAIN', { missing: missing.join(', ') });
  }
  return Object.freeze({ nodeGyp: findNodeGyp(root, hints.nodeGyp), nodeDir: findNodeDir(hints.nodeDir) });
}

function findNodeGyp(root: string, hint: string | undefined): string {
  const candidates = [
    hint,
    path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  try {
    candidates.push(createRequire(path.join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not a project dependency; npm's bundled copy is the usual one
  }
  const found = candidates.find((c): c is string => c !== undefined && existsSync(c));
  if (found === undefined) {
    throw fleetError('NATIVE_NO_NODE_GYP', { candidates: candidates.filter(Boolean) });
  }
  return found;
}

/** Node's headers: the hint ($npm_config_nodedir), the prefix node was installed into, or node-gyp's cache. */
function findNodeDir(hint: string | undefined): string {
  const version = process.versions.node;
  const candidates = [
    hint,
    path.resolve(path.dirname(process.execPath), '..'),
    path.join(os.homedir(), '.cache', 'node-gyp', version),
  ].filter((c): c is string => c !== undefined);
  for (const dir of candidates) {
    const inc = path.join(dir, 'include', 'node');
    if (
      existsSync(path.join(inc, 'node_api.h')) &&
      existsSync(path.join(inc, 'common.gypi')) &&
      headersMajor(inc) === version.split('.')[0]
    )
      return dir;
  }
  throw fleetError('NATIVE_NO_NODE_HEADERS', { version, candidates });
}

function headersMajor(inc: string): string | null {
  try {
    return /#define NODE_MAJOR_VERSION (\d+)/.exec(readFileSync(path.join(inc, 'node_version.h'), 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** The first executable `name` on PATH, or null. */
export function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}
