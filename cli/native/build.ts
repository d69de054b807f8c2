/**
 * Compiles tfjs-node's binding with node-gyp against what stage.ts put in deps/, into the folder the
 * package's loader looks in: node-pre-gyp's `binary.module_path` (lib/napi-v{N}) with N the highest
 * N-API version in `binary.napi_versions` that this node supports, as `binary.find` computes it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';
import { exec } from './exec.ts';
import type { Toolchain } from './toolchain.ts';

/** Where the addon goes and the N-API version it is built for. */
export interface AddonTarget {
  readonly napiVersion: number;
  readonly moduleName: string;
  /** Absolute folder, e.g. <pkg>/lib/napi-v8. */
  readonly modulePath: string;
  /** Absolute file, e.g. <pkg>/lib/napi-v8/tfjs_binding.node. */
  readonly file: string;
}

interface BinaryField {
  module_name?: string;
  module_path?: string;
  napi_versions?: number[];
}

/** Reads the package's node-pre-gyp `binary` field and picks the addon's location for this node. */
export function addonTarget(pkgDir: string): AddonTarget {
  const manifest = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { binary?: BinaryField };
  const binary = manifest.binary ?? {};
  const supported = Number(process.versions.napi);
  const napiVersion = Math.max(...(binary.napi_versions ?? []).filter((v) => v <= supported));
  if (!binary.module_name || !binary.module_path || !Number.isFinite(napiVersion)) {
    throw fleetError('NATIVE_BINARY_FIELD', { supported, pkgDir, binary });
  }
  const modulePath = path.resolve(pkgDir, binary.module_path.replace('{napi_build_version}', String(napiVersion)));
  return Object.freeze({
    napiVersion,
    moduleName: binary.module_name,
    modulePath,
    file: path.join(modulePath, `${binary.module_name}.node`),
  });
}

/** Runs `node-gyp rebuild`; the full log goes to `logFile`, and a failure quotes its compiler errors. */
export async function buildAddon(
  pkgDir: string,
  target: AddonTarget,
  tools: Toolchain,
  logFile: string,
): Promise<void> {
  const args = [
    tools.nodeGyp,
    'rebuild',
    `--nodedir=${tools.nodeDir}`,
    '--jobs=max',
    '--',
    `-Dnapi_build_version=${target.napiVersion}`,
    `-Dmodule_name=${target.moduleName}`,
    `-Dmodule_path=${target.modulePath}`,
  ];
  const result = await exec(process.execPath, args, { cwd: pkgDir });
  mkdirSync(path.dirname(logFile), { recursive: true });
  writeFileSync(logFile, `$ node ${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
  if (result.code !== 0) {
    const all = `${result.stdout}\n${result.stderr}`.split('\n');
    const errors = all
      .filter((l) => /error|undefined reference|cannot find/i.test(l) && !l.startsWith('gyp ERR! stack'))
      .slice(0, 20);
    throw fleetError(
      'NATIVE_BUILD_FAILED',
      { module: target.moduleName, code: result.code, errors: errors.join('\n'), logFile },
      { logFile },
    );
  }
}
