/** Where the tsx loader lives, so child processes and threads can load TypeScript too. */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

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
