/**
 * TypeScript at run time, only where it is needed. The compiled package runs without a loader; a user's
 * job (or custom-layer module) written in TypeScript registers tsx at the moment it is imported. A source
 * checkout runs under tsx or vitest already, and its child processes and threads are handed tsx explicitly.
 */
import module, { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isTypeScriptFile, siblingModule } from './module-path.ts';

/**
 * File URL of tsx's ESM loader, for `node --import`. Resolved through package.json rather than
 * import.meta.resolve, which test runners that transform modules (vitest) do not provide.
 */
export function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('tsx/package.json');
  const exportsField = (require(pkg) as { exports: Record<string, unknown> }).exports['.'];
  const rel = typeof exportsField === 'string' ? exportsField : './dist/loader.mjs';
  return pathToFileURL(path.join(path.dirname(pkg), rel)).href;
}

/** Node flags that let a process or thread started at `entry` run it: tsx for a .ts entry, none for .js. */
export function loaderArgs(entry: string): string[] {
  return isTypeScriptFile(entry) ? ['--import', tsxLoaderUrl()] : [];
}

/** True when this module is compiled JavaScript, i.e. the process has no TypeScript loader of its own. */
const compiled = !isTypeScriptFile(import.meta.url);
let registered: Promise<void> | undefined;

/**
 * Registers tsx's ESM hooks in this process, once, then ts-esm-hooks.ts in front of them, which loads a
 * user's .ts file as an ES module in a CommonJS project too (why: see that file). tsx's CommonJS hooks stay
 * off: they would recompile the library's own ESM when a user module requires it.
 */
function registerTsx(): Promise<void> {
  registered ??= (async () => {
    const { register } = await import('tsx/esm/api');
    register();
    // Hooks registered later run first: this one sees what tsx resolved and may change the format.
    module.register(siblingModule('./ts-esm-hooks.ts', import.meta.url));
  })();
  return registered;
}

/**
 * Imports a user's module (a job, or one that registers custom layers) by path: .js and .mjs as Node does,
 * .ts, .mts and .cts through tsx, registered on first use when this process runs the compiled package.
 */
export async function importUserModule(file: string): Promise<Record<string, unknown>> {
  const abs = path.resolve(file);
  if (compiled && isTypeScriptFile(abs)) await registerTsx();
  return (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
}
