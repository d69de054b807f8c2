/** shared/runtime/module-path: the sibling of a module keeps its extension, from the sources and from dist/. */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isTypeScriptFile, packageRoot, siblingModule, siblingPath } from '../../../shared/runtime/module-path.ts';
import { isFleetError } from '../../../shared/runtime/errors.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const url = (rel: string) => pathToFileURL(path.join(ROOT, rel)).href;

describe('module-path', () => {
  it('a source module gets the .ts sibling, a compiled one the .js sibling', () => {
    expect(siblingPath('../cli/entry.ts', url('api/launcher.ts'))).toBe(path.join(ROOT, 'cli/entry.ts'));
    expect(siblingPath('../cli/entry.ts', url('dist/api/launcher.js'))).toBe(path.join(ROOT, 'dist/cli/entry.js'));
    expect(siblingModule('./batch-task.ts', url('dist/worker/batch-pool.js')).href).toBe(
      url('dist/worker/batch-task.js'),
    );
  });

  it('refuses a path not written with .ts, saying what it expected', () => {
    let err: unknown;
    try {
      siblingModule('./batch-task.js', url('worker/batch-pool.ts'));
    } catch (e) {
      err = e;
    }
    expect(isFleetError(err, 'FLEET_ERR_CONFIG')).toBe(true);
    expect(String(err)).toMatch(/Expected a relative module path ending in \.ts\. Received: "\.\/batch-task\.js"/);
  });

  it('tells TypeScript from JavaScript by extension, for URLs and paths', () => {
    expect([url('a.ts'), url('a.mts'), url('a.cts'), '/x/job.ts'].map(isTypeScriptFile)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect([url('a.js'), url('a.mjs'), '/x/job.cjs', '/x/ts'].map(isTypeScriptFile)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('finds the package root from a source module and from a dist/ module', () => {
    expect(packageRoot(url('cli/native/spec.ts'))).toBe(ROOT);
    expect(packageRoot(url('dist/cli/native/spec.js'))).toBe(ROOT);
  });
});
