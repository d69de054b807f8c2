#!/usr/bin/env node
// The `tensorfleet` binary. The published package has no sources next to bin/: it runs the JavaScript that
// `npm run build` compiled into dist/, with no TypeScript loader (a user's .ts job registers tsx when it is
// loaded: shared/runtime/tsx.ts). A source checkout (index.ts beside bin/) registers tsx and runs the
// sources, even when a dist/ is there, so an edit takes effect without a rebuild.
import { existsSync } from 'node:fs';

if (existsSync(new URL('../index.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/entry.ts');
} else {
  await import('../dist/cli/entry.js');
}
