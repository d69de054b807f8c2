/**
 * One worker process per GPU on a multi-GPU node: `tensorfleet worker --gpus all|0,1,...`.
 *
 * The spec (`--gpus`) is resolved against the GPUs this node has, then each worker child gets exactly
 * one device through CUDA_VISIBLE_DEVICES, so every child sees its GPU as device 0 and tfjs-node-gpu
 * never touches the others. Children are plain `tensorfleet worker` processes: they parse and validate
 * their own flags as usual.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import { ENTRY, nodeArgs } from '../api/launcher.ts';

/** Port of a worker's /metrics when `--metrics-port` is not given (as in shared/runtime/config.ts). */
const DEFAULT_WORKER_METRICS_PORT = 9401;
/** Seconds `nvidia-smi -L` may take before the probe gives up on it. */
const NVIDIA_SMI_TIMEOUT_MS = 10_000;
/** One directory per GPU, named by PCI bus id, where the NVIDIA kernel driver is loaded. */
const PROC_GPUS = '/proc/driver/nvidia/gpus';

/** Same shape as node's `spawn`, so tests can record calls instead of starting processes. */
export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/**
 * Device indices from `nvidia-smi -L` output ("GPU 0: NVIDIA H100 (UUID: GPU-…)"), in its order.
 * MIG instances (indented "MIG …" lines) are not listed: a whole GPU is the unit here.
 */
export function parseNvidiaSmiList(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^GPU (\d+):/.exec(line);
    if (m?.[1] !== undefined) out.push(m[1]);
  }
  return out;
}

/**
 * Device indices from the entries of /proc/driver/nvidia/gpus (PCI bus ids such as 0000:3b:00.0).
 * Sorted by bus id, which is nvidia-smi's order and CUDA's with CUDA_DEVICE_ORDER=PCI_BUS_ID.
 */
export function parseProcGpus(entries: readonly string[]): string[] {
  const busId = /^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]$/i;
  return [...entries]
    .filter((e) => busId.test(e))
    .sort()
    .map((_, i) => String(i));
}

/** The default probe: nvidia-smi when it runs, else the driver's /proc entries, else no GPU. */
function probeGpus(): string[] {
  try {
    const list = execFileSync('nvidia-smi', ['-L'], {
      encoding: 'utf8',
      timeout: NVIDIA_SMI_TIMEOUT_MS,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return parseNvidiaSmiList(list);
  } catch {
    // nvidia-smi missing (a slim image) or failing: the driver's /proc entries say the same thing.
  }
  try {
    return parseProcGpus(readdirSync(PROC_GPUS));
  } catch {
    return [];
  }
}

/** GPU device indices on this node, as strings for CUDA_VISIBLE_DEVICES ('0', '1', ...); [] when none. */
export function listGpus(probe: () => string[] = probeGpus): string[] {
  return probe()
    .map((g) => g.trim())
    .filter((g) => g !== '');
}

/**
 * The GPUs a `--gpus` spec asks for: "all" (every available GPU, at least one), or a comma-separated
 * list of distinct available indices such as "0,1,3". Throws FLEET_ERR_CONFIG saying what was expected.
 */
export function resolveGpuSpec(spec: string, available: readonly string[]): string[] {
  const where =
    available.length === 0 ? 'none found by nvidia-smi -L or in /proc/driver/nvidia/gpus' : available.join(',');
  if (spec.trim() === 'all') {
    if (available.length === 0) throw fleetError('GPUS_NONE', { where });
    return [...available];
  }
  const parts = spec.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) {
    throw fleetError('GPUS_BAD_SPEC', { spec });
  }
  const seen = new Set<string>();
  for (const p of parts) {
    const index = String(Number(p)); // "01" names GPU 1
    if (seen.has(index)) throw fleetError('GPUS_DUPLICATE', { spec });
    if (!available.includes(index)) throw fleetError('GPUS_NOT_AVAILABLE', { where, spec });
    seen.add(index);
  }
  return [...seen];
}

/** `argv` without `--name value` / `--name=value`, and the last value it gave (undefined if absent). */
function takeFlag(argv: readonly string[], name: string): { rest: string[]; value: string | undefined } {
  const rest: string[] = [];
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === `--${name}`) {
      value = argv[i + 1];
      i++;
    } else if (a.startsWith(`--${name}=`)) {
      value = a.slice(name.length + 3);
    } else {
      rest.push(a);
    }
  }
  return { rest, value };
}

/**
 * Spawns one `tensorfleet worker` per GPU: child i gets CUDA_VISIBLE_DEVICES=gpus[i],
 * TF_FORCE_GPU_ALLOW_GROWTH=true (so GPU memory is not all claimed up front), CUDA_DEVICE_ORDER=PCI_BUS_ID
 * (so indices mean what nvidia-smi shows), and `--metrics-port base+i` where base is the `--metrics-port` of
 * `workerArgv` (default 9401; 0 stays 0 for every child, picking free ports). Returns the children at once.
 */
export function launchPerGpu(
  gpus: readonly string[],
  workerArgv: readonly string[],
  spawnFn: SpawnFn = spawn,
): ChildProcess[] {
  const { rest, value } = takeFlag(workerArgv, 'metrics-port');
  const base = value === undefined ? DEFAULT_WORKER_METRICS_PORT : Number(value);
  if (!Number.isInteger(base) || base < 0 || base + gpus.length - 1 > 65535) {
    throw fleetError('GPUS_METRICS_PORT', { count: gpus.length, max: 65536 - gpus.length, received: value });
  }
  return gpus.map((gpu, i) => {
    const port = base === 0 ? 0 : base + i;
    const args = nodeArgs(ENTRY, ['worker', ...rest, '--metrics-port', String(port)]);
    const env = {
      ...process.env,
      CUDA_VISIBLE_DEVICES: gpu,
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      TF_FORCE_GPU_ALLOW_GROWTH: 'true',
    };
    return spawnFn(process.execPath, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  });
}

/** Resolves with a child's exit status: its code, or 1 when a signal ended it. */
function exitCode(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(1);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code ?? 1));
    child.once('error', () => resolve(1));
  });
}

/**
 * `tensorfleet worker --gpus SPEC ...`: resolves SPEC against this node's GPUs, starts one worker per GPU
 * with the rest of `argv` (minus `--gpus`), forwards SIGINT and SIGTERM to them, and resolves once all have
 * exited: 0 when every worker exited 0, else the first non-zero status (in GPU order).
 */
export async function runPerGpu(
  argv: readonly string[],
  opts: { probe?: () => string[]; spawnFn?: SpawnFn } = {},
): Promise<number> {
  const { rest, value } = takeFlag(argv, 'gpus');
  if (value === undefined) throw fleetError('GPUS_MISSING', { argv });
  const gpus = resolveGpuSpec(value, listGpus(opts.probe));
  const children = launchPerGpu(gpus, rest, opts.spawnFn);
  const forward = (signal: NodeJS.Signals) => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const codes = await Promise.all(children.map(exitCode));
    return codes.find((c) => c !== 0) ?? 0;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}
