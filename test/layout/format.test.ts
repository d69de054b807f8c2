/**
 * The formatter's word is final: every TypeScript file is as Prettier (.prettierrc.json, width 120) writes
 * it, and no line of the sources or tests is longer than 140 characters (Prettier cannot split strings
 * and comments). `npm run format` rewrites the files.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ROOMS = ['api', 'bench', 'bin', 'cli', 'coordinator', 'examples', 'shared', 'test', 'worker', 'index.ts'];

function files(at: string): string[] {
  if (!statSync(at).isDirectory()) return /\.(ts|mts|mjs)$/.test(at) ? [at] : [];
  return readdirSync(at).flatMap((name) => files(path.join(at, name)));
}
const all = ROOMS.flatMap((r) => files(path.join(ROOT, r)));

describe('formatting', () => {
  it('every TypeScript file is formatted by Prettier', async () => {
    expect(all.length).toBeGreaterThan(200);
    const unformatted: string[] = [];
    for (const file of all) {
      const options = await prettier.resolveConfig(file);
      if (!(await prettier.check(readFileSync(file, 'utf8'), { ...options, filepath: file }))) {
        unformatted.push(path.relative(ROOT, file));
      }
    }
    expect(unformatted, 'run `npm run format`').toEqual([]);
  }, 120_000);

  it('no line is longer than 140 characters', () => {
    const long = all.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (line.length > 140 ? [`${path.relative(ROOT, file)}:${i + 1} (${line.length})`] : [])),
    );
    expect(long).toEqual([]);
  });
});
