/**
 * Puts tfjs-node's npm package (its binding sources, binding.gyp and dist/) into the project's
 * node_modules when `npm ci` left it out. npm drops it there because the package's install script
 * downloads libtensorflow from a host offline machines cannot reach, and a failed optional install is
 * rolled back silently. Here it is fetched from the npm registry with scripts off, and its own
 * dependencies go into a nested node_modules so nothing else in the project's tree changes.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe } from '../../shared/runtime/errors.ts';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';
import { mustExec } from './exec.ts';
import { TFJS_NODE_VERSION } from './pins.ts';

/** The package folder inside `root`'s node_modules. */
export function packageDir(root: string, pkg: string): string {
  return path.join(root, 'node_modules', ...pkg.split('/'));
}

/** Why the package in node_modules cannot be built as it is, or null when it can. */
export function packageProblem(dir: string): string | null {
  const manifest = path.join(dir, 'package.json');
  if (!existsSync(manifest)) return `${dir} is absent`;
  const version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version;
  if (version !== TFJS_NODE_VERSION) return `${dir} is version ${describe(version)}, not ${TFJS_NODE_VERSION}`;
  for (const f of ['binding.gyp', 'binding/tfjs_binding.cc', 'binding/tfjs_backend.cc', 'dist/index.js']) {
    if (!existsSync(path.join(dir, f))) return `${dir} lacks ${f}`;
  }
  const require = createRequire(path.join(dir, 'package.json'));
  for (const dep of ['@mapbox/node-pre-gyp', '@tensorflow/tfjs', 'google-protobuf']) {
    try {
      require.resolve(dep);
    } catch {
      return `${dep} does not resolve from ${dir}`;
    }
  }
  return null;
}

/** Makes sure `pkg`@TFJS_NODE_VERSION is in `root`/node_modules with its dependencies; returns its folder. */
export async function ensurePackage(root: string, pkg: string, log: (line: string) => void): Promise<string> {
  const dir = packageDir(root, pkg);
  const problem = packageProblem(dir);
  if (problem === null) return dir;
  log(`${pkg}: ${problem}; fetching ${pkg}@${TFJS_NODE_VERSION} from the npm registry (install scripts off)`);
  const staging = mkdtempSync(path.join(os.tmpdir(), 'tensorfleet-npm-'));
  try {
    await mustExec(
      `npm install of ${pkg}@${TFJS_NODE_VERSION}`,
      npmCommand(),
      [
        'install',
        '--prefix',
        staging,
        '--no-save',
        '--no-package-lock',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `${pkg}@${TFJS_NODE_VERSION}`,
      ],
      { cwd: staging },
    );
    place(path.join(staging, 'node_modules'), root, pkg);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const after = packageProblem(dir);
  if (after !== null) throw fleetError('NATIVE_PACKAGE_UNUSABLE', { pkg, reason: after });
  return dir;
}

/**
 * Moves the fetched package into the project, and each of its dependencies into its own nested
 * node_modules, except @tensorflow packages the project already has (tfjs-node must share the
 * project's @tensorflow/tfjs, so that both see one engine).
 */
function place(fetched: string, root: string, pkg: string): void {
  const target = packageDir(root, pkg);
  const tmp = `${target}.tensorfleet-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  cpSync(packageDir(path.dirname(fetched), pkg), tmp, { recursive: true });
  const nested = path.join(tmp, 'node_modules');
  for (const entry of readdirSync(fetched)) {
    if (entry.startsWith('.')) continue;
    const names = entry.startsWith('@') ? readdirSync(path.join(fetched, entry)).map((n) => `${entry}/${n}`) : [entry];
    for (const name of names) {
      if (name === pkg) continue;
      if (name.startsWith('@tensorflow/') && existsSync(packageDir(root, name))) continue;
      // Already resolvable at the same version from the project's node_modules: no copy needed.
      if (versionOf(packageDir(root, name)) === versionOf(path.join(fetched, ...name.split('/')))) continue;
      cpSync(path.join(fetched, ...name.split('/')), path.join(nested, ...name.split('/')), { recursive: true });
    }
  }
  rmSync(target, { recursive: true, force: true });
  renameSync(tmp, target);
}

function versionOf(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** npm beside this node binary when there is one, else npm on PATH. */
function npmCommand(): string {
  const beside = path.join(path.dirname(process.execPath), 'npm');
  return existsSync(beside) ? beside : 'npm';
}
