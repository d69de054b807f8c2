/** The repository's import graph, read from source text: who imports whom, for the dependency rules. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** One relative import: the importing file and the imported one, both relative to the root. */
export interface ImportEdge {
  from: string;
  to: string;
}

const SPEC = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.\.?\/[^'"]+)\1/g;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' ? [] : walk(p);
    return /\.(ts|mts|mjs)$/.test(name) ? [p] : [];
  });
}

/** Every static or dynamic relative import in the given top-level folders and files under `root`. */
export function importEdges(root: string, entries: readonly string[]): ImportEdge[] {
  const files = entries.flatMap((e) => {
    const p = path.join(root, e);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
  return files.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(SPEC)].map((m) => ({
      from: path.relative(root, file),
      to: path.relative(root, path.resolve(path.dirname(file), m[2] ?? '')),
    })),
  );
}

/** A rule: no file under `from` may import a file under `to` (folder prefixes, or exact files). */
export interface ImportRule {
  from: string;
  to: string;
  why: string;
}

const under = (file: string, prefix: string) => file === prefix || file.startsWith(`${prefix}/`);

/** The edges that break a rule, each with the rule it breaks. */
export function violations(edges: readonly ImportEdge[], rules: readonly ImportRule[]): string[] {
  return edges.flatMap((e) =>
    rules
      .filter((r) => under(e.from, r.from) && under(e.to, r.to) && !under(e.from, r.to))
      .map((r) => `${e.from} imports ${e.to}: ${r.why}`),
  );
}
