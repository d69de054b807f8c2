/**
 * deploy/docker: both Dockerfiles pass hadolint (no finding at any level), the GPU image sits on the CUDA
 * and cuDNN versions tfjs-node-gpu 4.22 was built for, both install with `npm ci` on Node 20, and both copy
 * every folder the package ships. No Docker engine runs here: building the images is left to CI elsewhere.
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
    const r = run(hadolint, ['--no-color', '--failure-threshold', 'info', ...IMAGES.map((i) => `Dockerfile.${i}`)], { cwd: DOCKER });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the GPU image is CUDA 11.2 + cuDNN 8 (libtensorflow 2.9.1 of tfjs-node-gpu 4.22) and sets TF_FORCE_GPU_ALLOW_GROWTH', () => {
    const gpu = text('gpu');
    expect(gpu).toContain('ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04');
    expect(gpu).toMatch(/TF_FORCE_GPU_ALLOW_GROWTH=true/);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };
    expect(pkg.optionalDependencies['@tensorflow/tfjs-node-gpu']).toBe('4.22.0');
  });

  it.each(IMAGES)('%s: Node 20, npm ci from the lockfile, non-root, tini as PID 1, and every shipped folder copied', (image) => {
    const t = text(image);
    expect(t).toContain('ARG NODE_VERSION=20');
    expect(t).toMatch(/FROM node:\$\{NODE_VERSION\}-bookworm-slim/);
    expect(t).toContain('COPY package.json package-lock.json');
    expect(t).toMatch(/RUN npm ci --omit=dev/);
    expect(t).toMatch(/^USER 1000:1000$/m);
    expect(t).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "\/app\/bin\/tensorfleet.mjs"\]$/m);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    for (const entry of pkg.files) expect(t, `Dockerfile.${image} does not copy ${entry}`).toMatch(new RegExp(`^COPY (\\S+ )*${entry.replace('.', '\\.')}( |$)`, 'm'));
    expect(readFileSync(path.join(DOCKER, `Dockerfile.${image}.dockerignore`), 'utf8')).toMatch(/^\*\*\/node_modules$/m);
  });
});
