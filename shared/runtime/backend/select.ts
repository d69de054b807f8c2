/**
 * Backend selection, done once at the edge of every process. `auto` walks
 * tensorflow-gpu → tensorflow → wasm → cpu and records why each skipped one was skipped;
 * an explicit request that cannot be met is an error, never a silent fallback.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fleetError } from '../catalogue/index.ts';
import { registerWasmKernels } from './wasm-kernels/index.ts';

/** What a user may ask for on the command line. */
export const BACKEND_REQUESTS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
/** A `--backend` value. */
export type BackendRequest = (typeof BACKEND_REQUESTS)[number];
type Concrete = Exclude<BackendRequest, 'auto'>;

/** The backend a process ended up on, and why the ones before it were skipped. */
export interface BackendChoice {
  readonly requested: BackendRequest;
  readonly taken: Concrete;
  /** tf.getBackend() after selection: 'tensorflow', 'wasm' or 'cpu'. */
  readonly tfBackend: string;
  readonly skipped: ReadonlyArray<{ backend: Concrete; reason: string }>;
  /** Kernels tensorfleet registered or replaced on this backend. */
  readonly kernels: readonly string[];
}

/** Injectable probes, so tests can pretend a GPU is visible. */
export interface BackendProbes {
  gpuVisible(): boolean;
  importModule(name: string): Promise<unknown>;
}

const defaultProbes: BackendProbes = {
  gpuVisible: () => existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl'),
  importModule: (name) => import(name),
};

const ORDER: readonly Concrete[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** Activates one backend and returns the choice; throws FLEET_ERR_BACKEND when an explicit request fails. */
export async function selectBackend(
  requested: BackendRequest,
  probes: BackendProbes = defaultProbes,
): Promise<BackendChoice> {
  const candidates = requested === 'auto' ? ORDER : [requested];
  const skipped: { backend: Concrete; reason: string }[] = [];
  for (const candidate of candidates) {
    const reason = await tryActivate(candidate, probes);
    if (reason === null) {
      silenceCpuBanner();
      const kernels = candidate === 'wasm' ? registerWasmKernels() : [];
      return Object.freeze({ requested, taken: candidate, tfBackend: tf.getBackend(), skipped, kernels });
    }
    skipped.push({ backend: candidate, reason });
  }
  const why = skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ');
  throw fleetError('BACKEND_UNAVAILABLE', { requested, why }, { skipped });
}

/** A one-paragraph log line: which backend was taken and why the others were skipped. */
export function describeChoice(choice: BackendChoice): string {
  const lines = [`backend: ${choice.taken} (tf.getBackend()=${choice.tfBackend}, requested ${choice.requested})`];
  for (const s of choice.skipped) lines.push(`  skipped ${s.backend}: ${s.reason}`);
  if (choice.kernels.length > 0) lines.push(`  tensorfleet kernels: ${choice.kernels.join(', ')}`);
  if (choice.taken === 'cpu' || choice.taken === 'wasm') {
    lines.push('  faster on this host: `tensorfleet setup native` builds the native tensorflow backend');
  }
  return lines.join('\n');
}

/**
 * tfjs's cpu backend prints an "install the node backend" banner on its first tensor, in every
 * process; the backend line above says it once, with tensorfleet's own way to get there. PROD only
 * silences tfjs's warnings, and only for this one tensor. Call it before a process's first tensor.
 */
export function consumeCpuBanner(): void {
  const prod = tf.env().getBool('PROD');
  tf.env().set('PROD', true);
  try {
    tf.tensor([0]).dispose();
  } finally {
    tf.env().set('PROD', prod);
  }
}

async function tryActivate(candidate: Concrete, probes: BackendProbes): Promise<string | null> {
  try {
    switch (candidate) {
      case 'tensorflow-gpu':
        if (!probes.gpuVisible()) return 'no GPU visible (/dev/nvidia0 absent)';
        return await activateNative('@tensorflow/tfjs-node-gpu', probes);
      case 'tensorflow':
        return await activateNative('@tensorflow/tfjs-node', probes);
      case 'wasm':
        return await activateWasm();
      case 'cpu':
        if (!(await tf.setBackend('cpu'))) return 'tf.setBackend("cpu") returned false';
        consumeCpuBanner();
        return null;
      default: {
        const never: never = candidate;
        return `unknown backend ${String(never)}`;
      }
    }
  } catch (err) {
    return firstLine(err);
  }
}

async function activateNative(pkg: string, probes: BackendProbes): Promise<string | null> {
  try {
    await probes.importModule(pkg);
  } catch (err) {
    return `${pkg} is not usable: ${firstLine(err)} (see "Native backend" in the README)`;
  }
  if (!(await tf.setBackend('tensorflow'))) return `${pkg} loaded but tf.setBackend("tensorflow") failed`;
  return null;
}

async function activateWasm(): Promise<string | null> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  const dist =
    path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasm.setWasmPaths(dist);
  return (await tf.setBackend('wasm')) ? null : 'tf.setBackend("wasm") returned false';
}

/**
 * tfjs's cpu backend prints "install our node backend" on first use in Node. We already log which
 * backend was taken and why the native one was skipped, so that banner is noise (and misleading when
 * wasm is active and cpu is only a helper).
 */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}
