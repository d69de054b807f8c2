/**
 * Stages a libtensorflow into the package's deps/ under the names binding.gyp links with
 * (`-ltensorflow -ltensorflow_framework` from deps/lib, headers from deps/include) and the names the
 * built addon loads at run time (each library's SONAME, found through the addon's
 * RUNPATH $ORIGIN/../../deps/lib).
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import type { LibTensorflow, SharedLib } from './libtensorflow.ts';

/** deps/ inside a tfjs-node package folder. */
export function depsDir(pkgDir: string): string {
  return path.join(pkgDir, 'deps');
}

/** Replaces deps/ with links to `lib`; libraries are hard links (copies across file systems). */
export function stageLibTensorflow(pkgDir: string, lib: LibTensorflow): void {
  const deps = depsDir(pkgDir);
  rmSync(deps, { recursive: true, force: true });
  const libDir = path.join(deps, 'lib');
  mkdirSync(libDir, { recursive: true });
  // Headers are needed only while compiling; a link is enough.
  symlinkSync(lib.includeDir, path.join(deps, 'include'), 'dir');
  placeLib(libDir, lib.capi, 'libtensorflow.so');
  placeLib(libDir, lib.framework, 'libtensorflow_framework.so');
  // A GPU wheel's libtensorflow finds CUDA through RUNPATH entries relative to itself
  // ($ORIGIN/../nvidia/...); the loader does not resolve links in $ORIGIN, so mirror the layout.
  if (lib.nvidiaDir !== undefined) symlinkSync(lib.nvidiaDir, path.join(deps, 'nvidia'), 'dir');
}

function placeLib(libDir: string, lib: SharedLib, linkName: string): void {
  const target = path.join(libDir, lib.soname);
  try {
    linkSync(lib.file, target);
  } catch {
    copyFileSync(lib.file, target);
  }
  if (lib.soname !== linkName && !existsSync(path.join(libDir, linkName)))
    symlinkSync(lib.soname, path.join(libDir, linkName));
}
