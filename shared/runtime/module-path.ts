/**
 * Paths of tensorfleet's own modules that hold both in a source checkout (TypeScript run by tsx or
 * vitest) and in the published package (JavaScript compiled by `npm run build` into dist/). Files found
 * at run time by path (the CLI entry for worker children, piscina's task file, the inline job) are
 * written with their .ts name, and this picks the extension of the module that asks.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fleetError } from './catalogue/index.ts';

/** True when `moduleUrl` names a TypeScript source (.ts, .mts, .cts), false for compiled JavaScript. */
export function isTypeScriptFile(moduleUrl: string | URL): boolean {
  const isPath = typeof moduleUrl === 'string' && !moduleUrl.startsWith('file:');
  const p = isPath ? moduleUrl : new URL(moduleUrl).pathname;
  return /\.[cm]?ts$/.test(p);
}

/**
 * URL of the sibling module `rel` (written with .ts, e.g. `../cli/entry.ts`) resolved against `moduleUrl`
 * (the caller's import.meta.url): the .ts file from a source, the .js file tsc emitted from dist/.
 */
export function siblingModule(rel: string, moduleUrl: string): URL {
  if (!rel.endsWith('.ts')) {
    throw fleetError('MODULE_PATH_NOT_TS', { rel });
  }
  return new URL(isTypeScriptFile(moduleUrl) ? rel : `${rel.slice(0, -'.ts'.length)}.js`, moduleUrl);
}

/** Same as siblingModule, as a file path. */
export function siblingPath(rel: string, moduleUrl: string): string {
  return fileURLToPath(siblingModule(rel, moduleUrl));
}

/**
 * The folder holding tensorfleet's package.json, found by walking up from `moduleUrl`: the checkout from a
 * source, the installed package from dist/ (which has no package.json of its own).
 */
export function packageRoot(moduleUrl: string): string {
  const start = path.dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) {
      throw fleetError('MODULE_NO_PACKAGE_ROOT', { start, dir });
    }
  }
}
