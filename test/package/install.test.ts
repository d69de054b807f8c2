/**
 * The published package as a user gets it: `npm run build` (what `prepack` runs), `npm pack`, then `npm install`
 * of the tarball into fresh projects under os.tmpdir(), one ESM ("type": "module") and one CommonJS (no type).
 * From there: plain `node` imports it and fits on 2 workers, `npx tensorfleet local` trains the user's own .ts
 * and .js jobs, `--help`, `inspect` and `plot` run, the public types check under `tsc --noEmit`, and every
 * import in the tarball's dist/ resolves to a file the tarball ships or to a declared dependency.
 *
 * Offline and fast: each project starts from a hard-linked copy of this checkout's node_modules (a copy of
 * links, so npm's pruning never touches the checkout), and npm adds only the tarball.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Seconds for the pack and both installs; the build alone takes ~20 s on 2 cores. */
const SETUP_TIMEOUT_MS = 300_000;
/** Seconds for one command in a test: a 2-worker run of a tiny job takes ~10 s. */
const TEST_TIMEOUT_MS = 180_000;

interface Result {
  status: number | null;
  out: string;
}

/** The environment of a user's shell: without the npm_* variables `npm test` sets for its own package. */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
}

/** Runs a command to the end without blocking vitest's event loop; output is stdout and stderr interleaved. */
function exec(cmd: string, args: readonly string[], cwd: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, out }));
  });
}

/** `exec` that fails the test with the command's output when it exits non-zero. */
async function ok(cmd: string, args: readonly string[], cwd: string): Promise<string> {
  const r = await exec(cmd, args, cwd);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.out.slice(-4000)}`);
  }
  return r.out;
}

/** `npx tensorfleet ARGS` in `cwd`, as a user runs it (`--no`: never fetch a package of that name). */
function tensorfleet(args: readonly string[], cwd: string): Promise<string> {
  return ok('npx', ['--no', '--', 'tensorfleet', ...args], cwd);
}

/** Flags of every training run here: cpu backend, free metrics ports. */
const RUN = ['--backend', 'cpu', '--metrics-port', '0'];

/** A tiny job in the job-file format: 256 synthetic rows, a 2-layer model, 1 epoch. */
const JOB_BODY = `
const N = 256;
const x = new Float32Array(N * 4).map((_, i) => ((i * 7) % 17) / 17 - 0.5);
const y = new Float32Array(N).map((_, i) => (x[i * 4] > 0 ? 1 : 0));
const job = defineJob({
  name: 'user-job',
  model: () => tf.sequential({ layers: [
    tf.layers.dense({ units: 8, activation: 'relu', inputShape: [4] }),
    tf.layers.dense({ units: 2, activation: 'softmax' }),
  ] }),
  compile: { optimizer: 'sgd', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
  data: () => ({ train: { x, xShape: [N, 4], y, yShape: [N] } }),
  fit: { epochs: 1, batchSize: 32, verbose: 2 },
});
`;
const ESM_IMPORTS = `import * as tf from '@tensorflow/tfjs';\nimport { defineJob } from 'tensorfleet';\n`;
const TS_JOB = `${ESM_IMPORTS}${JOB_BODY.replace('(x[i * 4] > 0', '((x[i * 4] ?? 0) > 0')}export default job;\n`;
const CJS_IMPORTS = `const tf = require('@tensorflow/tfjs');\nconst { defineJob } = require('tensorfleet');\n`;
const CJS_JOB = `${CJS_IMPORTS}${JOB_BODY}module.exports = job;\n`;

/** Plain node, no loader: the programmatic API fits a 2-layer model on 2 local workers. */
const FIT_MJS = `import * as tf from '@tensorflow/tfjs';
import { local } from 'tensorfleet';
const cluster = await local({ workers: 2, backend: 'cpu' });
const model = tf.sequential({ layers: [
  tf.layers.dense({ units: 8, activation: 'relu', inputShape: [4] }),
  tf.layers.dense({ units: 1 }),
] });
model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
const x = tf.randomNormal([128, 4], 0, 1, 'float32', 7);
const history = await cluster.fit(model, x, x.sum(1, true), { epochs: 2, batchSize: 32, verbose: 0 });
console.log('LOSS ' + JSON.stringify(history.history.loss));
await cluster.close();
`;

/** A user's TypeScript file on the public types; the @ts-expect-error lines fail if the types went missing. */
const USE_TS = `import * as tf from '@tensorflow/tfjs';
import { EarlyStopping, FleetError, defineJob, local } from 'tensorfleet';
import type { History, Job, LocalClusterOptions } from 'tensorfleet';
const options: LocalClusterOptions = { workers: 2, backend: 'cpu' };
export const job: Job = defineJob({
  model: () => tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] }),
  compile: { optimizer: 'sgd', loss: 'mse' },
  data: () => ({ train: { x: new Float32Array(4), xShape: [2, 2], y: new Float32Array(2), yShape: [2, 1] } }),
  fit: { epochs: 1, batchSize: 2 },
});
export async function train(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): Promise<History> {
  const cluster = await local(options);
  return cluster.fit(model, x, y, { epochs: 1, callbacks: [new EarlyStopping({ monitor: 'loss' })] });
}
export const err: FleetError = new FleetError('FLEET_ERR_CONFIG', 'Expected x. Received: y');
// @ts-expect-error workers is a number
void local({ workers: 'two' });
// @ts-expect-error not an error code
void new FleetError('FLEET_ERR_NOPE', 'x');
`;
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    types: ['node'],
  },
  include: ['use.ts', 'job.ts'],
};

let tmp = '';
let tarball = '';
/** Paths in the tarball, relative to the package root (package.json, dist/index.js, ...). */
let packed: string[] = [];
let esm = '';
let cjs = '';

/** A fresh project at `dir`: `pkg` as package.json, node_modules linked from the checkout, the tarball installed. */
async function project(dir: string, pkg: Record<string, unknown>): Promise<void> {
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  // Hard links when the temp dir shares the checkout's filesystem, else symlinks: both copy no bytes.
  const copied = await exec('cp', ['-al', path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules')], dir);
  if (copied.status !== 0) {
    rmSync(path.join(dir, 'node_modules'), { recursive: true, force: true });
    await ok('cp', ['-as', path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules')], dir);
  }
  // --ignore-scripts: the linked packages are built already, and tensorfleet has no install script.
  const flags = ['--prefer-offline', '--no-audit', '--no-fund', '--no-save', '--ignore-scripts'];
  await ok('npm', ['install', ...flags, tarball], dir);
}

beforeAll(async () => {
  const started = Date.now();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'tensorfleet-install-'));
  await ok('npm', ['run', 'build'], ROOT);
  const json = await ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT);
  const [info] = JSON.parse(json.slice(json.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error(`npm pack printed no package: ${json}`);
  tarball = path.join(tmp, info.filename);
  packed = info.files.map((f) => f.path);
  const version = (name: string) => readJson(path.join(ROOT, 'node_modules', name, 'package.json'))['version'];
  const devDependencies = { typescript: version('typescript'), '@types/node': version('@types/node') };
  esm = path.join(tmp, 'esm');
  cjs = path.join(tmp, 'cjs');
  await project(esm, { name: 'user-esm', version: '1.0.0', private: true, type: 'module', devDependencies });
  await project(cjs, { name: 'user-cjs', version: '1.0.0', private: true });
  writeFileSync(path.join(esm, 'job.ts'), TS_JOB);
  writeFileSync(path.join(cjs, 'job.ts'), TS_JOB);
  writeFileSync(path.join(cjs, 'job.js'), CJS_JOB);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`install test: build, pack and 2 installs took ${seconds} s\n`);
}, SETUP_TIMEOUT_MS);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A JSON file as an object. */
function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** Relative and bare specifiers of the static and literal dynamic imports and re-exports in a JS or .d.ts text. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const forms = [
    /\bfrom\s*["']([^"']+)["']/g, // import x from '...', export { y } from '...'
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g, // import('...')
    /^\s*import\s*["']([^"']+)["']/gm, // import '...'
  ];
  for (const re of forms) {
    for (const m of text.matchAll(re)) if (m[1] !== undefined) out.push(m[1]);
  }
  return out;
}

/** Imports the bin makes only in a source checkout (when ../index.ts exists), never from the package. */
const SOURCE_CHECKOUT_ONLY: Record<string, string[]> = { 'bin/tensorfleet.mjs': ['../cli/entry.ts'] };

/** The package name of a bare specifier ('@scope/name/sub' -> '@scope/name'). */
function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

describe('the packed tarball', () => {
  it('ships the compiled package: dist with .js and .d.ts, the bin, the README; no TypeScript sources', () => {
    expect(readJson(path.join(ROOT, 'package.json'))['scripts']).toMatchObject({ prepack: 'npm run build' });
    const needed = ['package.json', 'README.md', 'bin/tensorfleet.mjs', 'dist/index.js', 'dist/index.d.ts'];
    needed.push('dist/cli/entry.js');
    expect(packed).toEqual(expect.arrayContaining(needed));
    expect(packed.filter((f) => /\.[cm]?ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    expect(packed.filter((f) => !/^(dist\/|bin\/|package\.json$|README\.md$|LICENSE)/.test(f))).toEqual([]);
  });

  it('every import in dist resolves to a file the tarball ships, or to a package it declares', () => {
    const shipped = new Set(packed);
    const installed = path.join(esm, 'node_modules/tensorfleet');
    const pkg = readJson(path.join(installed, 'package.json'));
    const names = (field: string) => Object.keys((pkg[field] ?? {}) as Record<string, string>);
    // The package's own name counts: code it generates for users imports 'tensorfleet'.
    const declared = new Set(['tensorfleet', ...names('dependencies'), ...names('optionalDependencies')]);
    const builtins = new Set(builtinModules);
    const missing: string[] = [];
    const files = packed.filter((f) => (f.startsWith('dist/') || f.startsWith('bin/')) && /\.(m?js|d\.ts)$/.test(f));
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      const text = readFileSync(path.join(installed, file), 'utf8');
      for (const spec of specifiers(text)) {
        if (SOURCE_CHECKOUT_ONLY[file]?.includes(spec)) continue;
        if (spec.startsWith('.')) {
          // A .d.ts names its siblings with .ts (tsc keeps the source's specifiers there), meaning the .d.ts.
          const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
          const candidates = file.endsWith('.d.ts') ? [target.replace(/\.[jt]s$/, '.d.ts'), target] : [target];
          if (!candidates.some((c) => shipped.has(c))) missing.push(`${file}: ${spec}`);
        } else if (!spec.startsWith('node:') && !builtins.has(spec) && !declared.has(packageName(spec))) {
          missing.push(`${file}: ${spec} (not a dependency)`);
        }
      }
      // Modules found by path at run time (worker entry, piscina task, CLI subcommands) are written with their
      // .ts source name in a string and loaded as the .js sibling from dist: that sibling must ship.
      if (file.endsWith('.js')) {
        for (const m of text.matchAll(/["'](\.\.?\/[^"'\s]+)\.ts["']/g)) {
          const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), `${m[1]}.js`));
          if (!shipped.has(target)) missing.push(`${file}: ${m[1]}.ts (run-time path, as ${target})`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('installed into a fresh ESM project', () => {
  it(
    'plain node imports it and fits a 2-layer model on 2 workers (cpu), with no TypeScript loader',
    async () => {
      writeFileSync(path.join(esm, 'fit.mjs'), FIT_MJS);
      const out = await ok(process.execPath, ['fit.mjs'], esm);
      const loss = JSON.parse(/^LOSS (.*)$/m.exec(out)?.[1] ?? 'null') as number[] | null;
      expect(loss).toHaveLength(2);
      expect(loss?.every(Number.isFinite)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "npx tensorfleet local --workers 2 job.ts trains the user's TypeScript job",
    async () => {
      const out = await tensorfleet(['local', '--workers', '2', ...RUN, '--out', 'runs/ts', 'job.ts'], esm);
      expect(out).toMatch(/Epoch 1\/1/);
      expect(existsSync(path.join(esm, 'runs/ts/history.json'))).toBe(true);
      expect(existsSync(path.join(esm, 'runs/ts/model.keras'))).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'npx tensorfleet --help, inspect <model> and plot <history.json> run from the compiled package',
    async () => {
      expect(await tensorfleet(['--help'], esm)).toMatch(/^usage:\n {2}tensorfleet local --workers N/);
      // The model and history come from the previous test's run; train one here if it did not leave them.
      if (!existsSync(path.join(esm, 'runs/ts/model.keras'))) {
        await tensorfleet(['local', '--workers', '1', ...RUN, '--out', 'runs/ts', 'job.ts'], esm);
      }
      expect(await tensorfleet(['inspect', 'runs/ts/model.keras'], esm)).toMatch(/Dense/);
      await tensorfleet(['plot', 'runs/ts/history.json'], esm);
      expect(statSync(path.join(esm, 'runs/ts/history.png')).size).toBeGreaterThan(1000);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "tsc --noEmit checks a user file on the public types, with no error in the package's .d.ts files",
    async () => {
      writeFileSync(path.join(esm, 'use.ts'), USE_TS);
      writeFileSync(path.join(esm, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
      // skipLibCheck stays off so that our .d.ts files are checked too; tfjs's own .d.ts files have errors under
      // strict NodeNext that every tfjs user skips, so only errors outside @tensorflow count.
      const tsc = path.join(esm, 'node_modules/typescript/bin/tsc');
      const r = await exec(process.execPath, [tsc, '-p', '.'], esm);
      const ours = r.out.split('\n').filter((l) => /error TS\d+/.test(l) && !l.startsWith('node_modules/@tensorflow/'));
      expect(ours).toEqual([]);
      expect(r.out).toMatch(/error TS/); // tfjs's own: proof that the .d.ts files were checked at all
    },
    TEST_TIMEOUT_MS,
  );
});

describe('installed into a fresh CommonJS project (no "type" in package.json)', () => {
  it.each(['job.ts', 'job.js'])(
    "npx tensorfleet local --workers 2 %s trains the user's job",
    async (job) => {
      const out = await tensorfleet(['local', '--workers', '2', ...RUN, '--out', `runs/${job}`, job], cjs);
      expect(out).toMatch(/Epoch 1\/1/);
      expect(readdirSync(path.join(cjs, 'runs', job))).toContain('history.json');
    },
    TEST_TIMEOUT_MS,
  );
});
