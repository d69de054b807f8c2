/**
 * deploy/docker: both Dockerfiles pass hadolint (no finding at any level), the GPU image sits on the CUDA
 * and cuDNN versions tfjs-node-gpu 4.22 was built for, both install with `npm ci` on Node 20, and both hold
 * everything the package ships (the compiled dist/ from a build stage) and no TypeScript sources. No Docker
 * engine runs here: building the images is left to CI elsewhere.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, requireTool, run } from './tools.ts';

const DOCKER = path.join(ROOT, 'deploy/docker');
const IMAGES = ['gpu', 'cpu'] as const;
const text = (image: string) => readFileSync(path.join(DOCKER, `Dockerfile.${image}`), 'utf8');

describe('Dockerfiles', () => {
  it('pass hadolint with no findings', () => {
    const hadolint = requireTool('hadolint', '.ci/steps/31-kube.sh');
    const r = run(hadolint, ['--no-color', '--failure-threshold', 'info', ...IMAGES.map((i) => `Dockerfile.${i}`)], {
      cwd: DOCKER,
    });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the GPU image is CUDA 11.2 + cuDNN 8 (libtensorflow 2.9.1 of tfjs-node-gpu 4.22) and sets TF_FORCE_GPU_ALLOW_GROWTH', () => {
    const gpu = text('gpu');
    expect(gpu).toContain('ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04');
    expect(gpu).toMatch(/TF_FORCE_GPU_ALLOW_GROWTH=true/);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      optionalDependencies: Record<string, string>;
    };
    expect(pkg.optionalDependencies['@tensorflow/tfjs-node-gpu']).toBe('4.22.0');
  });

  it.each(IMAGES)(
    '%s: Node 20, npm ci from the lockfile, non-root, tini as PID 1, and every shipped folder copied',
    (image) => {
      const t = text(image);
      expect(t).toContain('ARG NODE_VERSION=20');
      expect(t).toMatch(/FROM node:\$\{NODE_VERSION\}-bookworm-slim/);
      expect(t).toContain('COPY package.json package-lock.json');
      expect(t).toMatch(/RUN npm ci --omit=dev/);
      expect(t).toMatch(/^USER 1000:1000$/m);
      expect(t).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "\/app\/bin\/tensorfleet.mjs"\]$/m);
      // The final stage holds exactly what the package ships: each `files` entry, from the build context or, for
      // what `npm run build` compiles (dist/), from the build stage; and no TypeScript sources, so that the bin
      // runs the compiled dist/ as an installed package does.
      const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
      const final = t.slice(t.lastIndexOf('\nFROM '));
      for (const entry of pkg.files) {
        const e = entry.replace(/\./g, '\\.');
        const copied = new RegExp(`^COPY ((\\S+ )*${e}( |$)|--from=build /app/${e} \\./${e}$)`, 'm');
        expect(final, `Dockerfile.${image} does not copy ${entry}`).toMatch(copied);
      }
      expect(final).not.toMatch(/^COPY .*(index\.ts|tsconfig)/m);
      // The build stage compiles every folder tsconfig.build.json includes.
      const build = t.slice(t.indexOf(' AS build\n'), t.lastIndexOf('\nFROM '));
      expect(build).toContain('COPY package.json package-lock.json tsconfig.json tsconfig.build.json index.ts ./');
      const tsconfig = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
        include: string[];
      };
      for (const dir of tsconfig.include.filter((d) => !d.endsWith('.ts'))) {
        expect(build).toMatch(new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
      }
      expect(build).toMatch(
        /^RUN npm ci --ignore-scripts --omit=optional --no-audit --no-fund \\\n && npm run build$/m,
      );
      expect(readFileSync(path.join(DOCKER, `Dockerfile.${image}.dockerignore`), 'utf8')).toMatch(
        /^\*\*\/node_modules$/m,
      );
    },
  );
});
