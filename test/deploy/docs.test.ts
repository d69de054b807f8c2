/** docs/deploy.md: the section "From one machine to a cluster" has its three steps, and every repo path it names exists. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './tools.ts';

const doc = readFileSync(path.join(ROOT, 'docs/deploy.md'), 'utf8');

it('has the three steps from one machine to a cluster, with their commands', () => {
  const section = doc.slice(doc.indexOf('## From one machine to a cluster'));
  expect(section).toMatch(/### 1\. One machine[^\n]*\n[\s\S]*npx tensorfleet local --workers 2/);
  expect(section).toMatch(
    new RegExp(
      /### 2\. Several hosts by hand[\s\S]*/.source +
        /npx tensorfleet coordinator --bind tcp:\/\/0\.0\.0\.0:5555[\s\S]*--gpus all/.source,
    ),
  );
  expect(section).toMatch(/### 3\. Kubernetes[\s\S]*kubectl apply -k deploy\/k8s\/overlays\/gpu[\s\S]*Import/);
});

it('names only paths that exist', () => {
  const paths = [...doc.matchAll(/(?<![\w/])((?:deploy|docs|examples|test|\.ci)\/[\w./-]*[\w])/g)].map(
    (m) => m[1] as string,
  );
  expect(paths.length).toBeGreaterThan(10);
  for (const p of new Set(paths)) expect(existsSync(path.join(ROOT, p)), p).toBe(true);
});
