/**
 * The house's import rules over the real source tree: coordinator/ and worker/ never import each other,
 * nothing in the library imports cli/ or bench/, shared/ imports only shared/, and inside shared/ the
 * wire and the model maths do not depend on each other; runtime/ depends on no other room.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importEdges, violations, type ImportRule } from '../helpers/imports.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const LIBRARY = ['api', 'coordinator', 'worker', 'shared', 'index.ts'];

const RULES: ImportRule[] = [
  { from: 'coordinator', to: 'worker', why: 'the coordinator and the worker only share shared/' },
  { from: 'worker', to: 'coordinator', why: 'the coordinator and the worker only share shared/' },
  ...LIBRARY.flatMap((from) => [
    { from, to: 'cli', why: 'library code never imports the command line' },
    { from, to: 'bench', why: 'library code never imports benchmarks' },
  ]),
  ...['api', 'coordinator', 'worker', 'index.ts'].map((to) => ({
    from: 'shared',
    to,
    why: 'shared/ is the bottom layer',
  })),
  { from: 'shared/wire', to: 'shared/model', why: 'the wire carries tensors, it knows no model maths' },
  { from: 'shared/model', to: 'shared/wire', why: 'the model maths knows no wire' },
  ...['shared/wire', 'shared/model', 'shared/io'].map((to) => ({
    from: 'shared/runtime',
    to,
    why: 'runtime (errors, log, metrics, backend) is below every other room',
  })),
  { from: 'shared/io', to: 'shared/wire', why: 'file formats know no wire' },
];

describe('dependency rules', () => {
  it('the source tree breaks none of them', () => {
    const edges = importEdges(ROOT, [...LIBRARY, 'cli', 'bench', 'bin']);
    expect(edges.length).toBeGreaterThan(200);
    expect(violations(edges, RULES)).toEqual([]);
  });

  it('catches a coordinator file that imports the worker, and a dynamic import of cli/', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'tf-rules-'));
    for (const d of ['coordinator', 'worker', 'cli', 'shared/wire', 'shared/model'])
      mkdirSync(path.join(root, d), { recursive: true });
    writeFileSync(path.join(root, 'worker/a.ts'), 'export const a = 1;\n');
    writeFileSync(path.join(root, 'cli/main.ts'), 'export const m = 1;\n');
    writeFileSync(path.join(root, 'shared/model/m.ts'), 'export const m = 1;\n');
    writeFileSync(
      path.join(root, 'coordinator/b.ts'),
      "import { a } from '../worker/a.ts';\nconst c = await import('../cli/main.ts');\n",
    );
    writeFileSync(path.join(root, 'shared/wire/w.ts'), "import type { m } from '../model/m.ts';\n");
    const found = violations(importEdges(root, ['coordinator', 'worker', 'cli', 'shared']), RULES);
    expect(found).toEqual([
      'coordinator/b.ts imports worker/a.ts: the coordinator and the worker only share shared/',
      'coordinator/b.ts imports cli/main.ts: library code never imports the command line',
      'shared/wire/w.ts imports shared/model/m.ts: the wire carries tensors, it knows no model maths',
    ]);
  });
});
