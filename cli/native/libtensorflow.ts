/**
 * Finds a libtensorflow to link against: the pinned pip wheel in a private venv, a wheel file, or a
 * libtensorflow C tarball. A wheel (2.12 and later) ships the C and eager C APIs in
 * libtensorflow_cc.so.2, beside libtensorflow_framework.so.2, with headers in tensorflow/include;
 * a tarball has include/ and lib/libtensorflow.so.X.Y.Z.
 */
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';
import { readSoname } from './elf.ts';
import { mustExec } from './exec.ts';
import { PIP_PINS, VENV_DIR, type Flavour } from './pins.ts';
import type { LibSource } from './spec.ts';

/** One shared library and the file name the dynamic loader will look for (its SONAME). */
export interface SharedLib {
  readonly file: string;
  readonly soname: string;
}

/** A libtensorflow ready to stage: headers, the C API library, the framework library. */
export interface LibTensorflow {
  /** TensorFlow release, e.g. "2.21.0". */
  readonly version: string;
  /** Where it came from, for logs and the stamp. */
  readonly origin: string;
  /** Folder holding tensorflow/c/c_api.h. */
  readonly includeDir: string;
  readonly capi: SharedLib;
  readonly framework: SharedLib;
  /** site-packages/nvidia of a GPU wheel's venv (CUDA libraries), when present. */
  readonly nvidiaDir?: string;
}

/** Resolves `source` to a LibTensorflow, installing or unpacking into <root>/.venv-native as needed. */
export async function obtainLibTensorflow(
  source: LibSource,
  root: string,
  flavour: Flavour,
  log: (line: string) => void,
): Promise<LibTensorflow> {
  switch (source.kind) {
    case 'pip':
      return fromPip(root, flavour, log);
    case 'wheel':
      return fromWheel(source.path, root, log);
    case 'tarball':
      return fromTarball(source.path, root, log);
    default: {
      const never: never = source;
      throw fleetError('NATIVE_UNKNOWN_SOURCE', { source: never });
    }
  }
}

/** .venv-native/ holds GBs of wheel contents: it ignores itself, whatever the project's .gitignore says. */
export function ensureVenvIgnored(root: string): void {
  mkdirSync(path.join(root, VENV_DIR), { recursive: true });
  const ignore = path.join(root, VENV_DIR, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '*\n');
}

/** The pinned requirement string for a flavour, e.g. "tensorflow-cpu==2.21.0". */
export function pipRequirement(flavour: Flavour): string {
  return PIP_PINS[flavour].requirement;
}

async function fromPip(root: string, flavour: Flavour, log: (line: string) => void): Promise<LibTensorflow> {
  const pin = PIP_PINS[flavour];
  const version = pin.requirement.split('==')[1] ?? '';
  const venv = path.join(root, VENV_DIR);
  const python = path.join(venv, 'bin', 'python');
  if (!existsSync(python)) {
    // `python3 -m venv` fills the existing folder and keeps the .gitignore above.
    log(`creating ${VENV_DIR}/ (python3 -m venv)`);
    await mustExec('creating the native venv', 'python3', ['-m', 'venv', venv]);
  }
  let site = sitePackages(venv);
  if (site === null || !existsSync(path.join(site, `${pin.distribution}-${version}.dist-info`))) {
    log(`pip install ${pin.withDeps ? '' : '--no-deps '}${pin.requirement} into ${VENV_DIR}/ (a few hundred MB)`);
    const t0 = Date.now();
    await mustExec(`pip install ${pin.requirement}`, python, [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--quiet',
      ...(pin.withDeps ? [] : ['--no-deps']),
      pin.requirement,
    ]);
    log(`pip install done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    site = sitePackages(venv);
  } else {
    log(`${pin.requirement} already in ${VENV_DIR}/`);
  }
  if (site === null) throw fleetError('NATIVE_NO_SITE_PACKAGES', { venv });
  const nvidia = path.join(site, 'nvidia');
  return wheelLayout(
    path.join(site, 'tensorflow'),
    version,
    `pip ${pin.requirement} (${VENV_DIR}/)`,
    existsSync(nvidia) ? nvidia : undefined,
  );
}

async function fromWheel(file: string, root: string, log: (line: string) => void): Promise<LibTensorflow> {
  const base = path.basename(file, '.whl');
  const version = base.split('-')[1];
  if (version === undefined || !/^tensorflow(_cpu|_gpu)?-/.test(base)) {
    throw fleetError('NATIVE_WHEEL_NAME', { name: path.basename(file) });
  }
  const out = path.join(root, VENV_DIR, 'wheels', base);
  const done = path.join(out, '.unpacked');
  if (!existsSync(done)) {
    log(`unpacking libraries and headers of ${path.basename(file)} into ${path.relative(root, out)}/`);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    await mustExec(`unpacking ${path.basename(file)}`, 'python3', ['-c', UNZIP_PY, file, out]);
    writeFileSync(done, `${file}\n`);
  }
  return wheelLayout(path.join(out, 'tensorflow'), version, `wheel ${file}`);
}

/** Extracts only what the build needs from a wheel: headers, the two shared libraries. */
const UNZIP_PY = `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for i in z.infolist():
        n = i.filename
        if n.startswith('tensorflow/include/') or n.startswith('tensorflow/libtensorflow'):
            z.extract(i, sys.argv[2])
`;

function wheelLayout(tfDir: string, version: string, origin: string, nvidiaDir?: string): LibTensorflow {
  const capi = path.join(tfDir, 'libtensorflow_cc.so.2');
  const framework = path.join(tfDir, 'libtensorflow_framework.so.2');
  const includeDir = path.join(tfDir, 'include');
  for (const f of [capi, framework, path.join(includeDir, 'tensorflow/c/eager/c_api.h')]) {
    if (!existsSync(f)) {
      throw fleetError('NATIVE_WHEEL_MISSING_FILE', { file: f });
    }
  }
  return Object.freeze({
    version,
    origin,
    includeDir,
    capi: sharedLib(capi),
    framework: sharedLib(framework),
    ...(nvidiaDir !== undefined && { nvidiaDir }),
  });
}

async function fromTarball(file: string, root: string, log: (line: string) => void): Promise<LibTensorflow> {
  const base = path.basename(file).replace(/\.(tar\.gz|tgz)$/, '');
  const out = path.join(root, VENV_DIR, 'tarballs', base);
  const done = path.join(out, '.unpacked');
  if (!existsSync(done)) {
    log(`unpacking ${path.basename(file)} into ${path.relative(root, out)}/`);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    await mustExec(`unpacking ${path.basename(file)}`, 'tar', ['-xzf', file, '-C', out]);
    writeFileSync(done, `${file}\n`);
  }
  const libDir = path.join(out, 'lib');
  const files = existsSync(libDir) ? readdirSync(libDir) : [];
  const full = files.map((f) => /^libtensorflow\.so\.(\d+)\.(\d+)\.(\d+)$/.exec(f)).find((m) => m !== null);
  if (!full || !existsSync(path.join(out, 'include/tensorflow/c/eager/c_api.h'))) {
    throw fleetError('NATIVE_TARBALL_LAYOUT', { files });
  }
  const [, major, minor, patch] = full;
  const version = `${major}.${minor}.${patch}`;
  const lib = (name: string): SharedLib => {
    const file = path.join(libDir, `${name}.so.${version}`);
    if (!existsSync(file)) throw fleetError('NATIVE_TARBALL_MISSING_FILE', { file, files });
    return sharedLib(realpathSync(file));
  };
  return Object.freeze({
    version,
    origin: `tarball ${file}`,
    includeDir: path.join(out, 'include'),
    capi: lib('libtensorflow'),
    framework: lib('libtensorflow_framework'),
  });
}

/** A library and its SONAME (the file name it is loaded by), falling back to its own name. */
function sharedLib(file: string): SharedLib {
  return { file, soname: readSoname(file) ?? path.basename(file) };
}

function sitePackages(venv: string): string | null {
  const lib = path.join(venv, 'lib');
  if (!existsSync(lib)) return null;
  const py = readdirSync(lib).find((d) => d.startsWith('python3'));
  const site = py === undefined ? null : path.join(lib, py, 'site-packages');
  return site !== null && existsSync(site) ? site : null;
}
