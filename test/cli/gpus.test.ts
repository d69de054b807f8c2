/**
 * `tensorfleet worker --gpus`: GPU discovery parsing, spec resolution with "Expected … Received: …"
 * errors, one spawn per GPU with its own CUDA_VISIBLE_DEVICES and metrics port (recorded by a fake spawn),
 * and one real child process that prints the environment it was given.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  launchPerGpu,
  listGpus,
  parseNvidiaSmiList,
  parseProcGpus,
  resolveGpuSpec,
  runPerGpu,
  type SpawnFn,
} from '../../cli/gpus.ts';
import { ENTRY, nodeArgs } from '../../api/launcher.ts';
import { isFleetError } from '../../shared/runtime/errors.ts';

interface Call {
  command: string;
  args: readonly string[];
  options: SpawnOptions;
}

/** A spawn that records its calls and returns children that exit with `codes[i]` on the next tick. */
function fakeSpawn(codes: number[] = []): { calls: Call[]; spawnFn: SpawnFn } {
  const calls: Call[] = [];
  const spawnFn: SpawnFn = (command, args, options) => {
    const i = calls.length;
    calls.push({ command, args, options });
    const child = Object.assign(new EventEmitter(), { exitCode: null, signalCode: null, kill: () => true });
    setImmediate(() => {
      (child as { exitCode: number | null }).exitCode = codes[i] ?? 0;
      child.emit('exit', codes[i] ?? 0, null);
    });
    return child as unknown as ChildProcess;
  };
  return { calls, spawnFn };
}

const FOUR = () => ['0', '1', '2', '3'];

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isFleetError(err, 'FLEET_ERR_CONFIG')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a FLEET_ERR_CONFIG error');
}

describe('GPU discovery', () => {
  it('parses nvidia-smi -L, skipping MIG lines', () => {
    const text = [
      'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1b2c3d4e-0000-0000-0000-000000000000)',
      'GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-5f6a7b8c-0000-0000-0000-000000000000)',
      '  MIG 3g.40gb     Device  0: (UUID: MIG-00000000-0000-0000-0000-000000000000)',
      'GPU 2: NVIDIA H100 80GB HBM3 (UUID: GPU-9d0e1f2a-0000-0000-0000-000000000000)',
      '',
    ].join('\n');
    expect(parseNvidiaSmiList(text)).toEqual(['0', '1', '2']);
    expect(parseNvidiaSmiList('')).toEqual([]);
  });

  it('numbers /proc/driver/nvidia/gpus entries in PCI bus order', () => {
    expect(parseProcGpus(['0000:b1:00.0', '0000:3b:00.0', 'README'])).toEqual(['0', '1']);
  });

  it('uses an injected probe', () => {
    expect(listGpus(FOUR)).toEqual(['0', '1', '2', '3']);
    expect(listGpus(() => [' 0 ', ''])).toEqual(['0']);
  });
});

describe('resolveGpuSpec', () => {
  it('"all" is every GPU; a list picks some', () => {
    expect(resolveGpuSpec('all', FOUR())).toEqual(['0', '1', '2', '3']);
    expect(resolveGpuSpec('3,1', FOUR())).toEqual(['3', '1']);
    expect(resolveGpuSpec(' 0 , 2', FOUR())).toEqual(['0', '2']);
  });

  it('says what was expected and what was received', () => {
    expect(configError(() => resolveGpuSpec('all', []))).toBe(
      'Expected at least one GPU on this node for --gpus all. Received: none found by nvidia-smi -L or in /proc/driver/nvidia/gpus',
    );
    expect(configError(() => resolveGpuSpec('gpu0', FOUR()))).toBe(
      'Expected --gpus to be "all" or a comma-separated list of GPU indices such as 0,1. Received: "gpu0"',
    );
    expect(configError(() => resolveGpuSpec('', FOUR()))).toMatch(/^Expected --gpus to be "all".*Received: ""$/);
    expect(configError(() => resolveGpuSpec('0,,1', FOUR()))).toMatch(/Received: "0,,1"$/);
    expect(configError(() => resolveGpuSpec('1,1', FOUR()))).toBe(
      'Expected each GPU index at most once in --gpus. Received: "1,1"',
    );
    expect(configError(() => resolveGpuSpec('0,7', FOUR()))).toBe(
      'Expected --gpus indices among the GPUs of this node (0,1,2,3). Received: "0,7"',
    );
  });
});

describe('launchPerGpu', () => {
  it('--gpus all with 4 GPUs starts 4 workers on devices 0..3 with metrics ports 9401..9404', () => {
    const { calls, spawnFn } = fakeSpawn();
    const children = launchPerGpu(
      resolveGpuSpec('all', listGpus(FOUR)),
      ['--connect', 'tcp://coordinator:5555', '--backend', 'tensorflow-gpu'],
      spawnFn,
    );
    expect(children).toHaveLength(4);
    expect(calls.map((c) => c.command)).toEqual(Array(4).fill(process.execPath));
    calls.forEach((c, i) => {
      expect(c.args).toEqual(
        nodeArgs(ENTRY, [
          'worker',
          '--connect',
          'tcp://coordinator:5555',
          '--backend',
          'tensorflow-gpu',
          '--metrics-port',
          String(9401 + i),
        ]),
      );
      expect(c.options.env).toMatchObject({
        CUDA_VISIBLE_DEVICES: String(i),
        TF_FORCE_GPU_ALLOW_GROWTH: 'true',
        CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      });
      expect(c.options.env?.['PATH']).toBe(process.env['PATH']); // the rest of the environment is kept
    });
  });

  it('offsets a given --metrics-port per GPU, and keeps 0 (free ports) for all', () => {
    const a = fakeSpawn();
    launchPerGpu(['1', '3'], ['--connect', 'tcp://h:5555', '--metrics-port=9500'], a.spawnFn);
    expect(a.calls.map((c) => c.args.slice(-2))).toEqual([
      ['--metrics-port', '9500'],
      ['--metrics-port', '9501'],
    ]);
    expect(a.calls.map((c) => c.options.env?.['CUDA_VISIBLE_DEVICES'])).toEqual(['1', '3']);
    const b = fakeSpawn();
    launchPerGpu(['0', '1'], ['--metrics-port', '0', '--connect', 'tcp://h:5555'], b.spawnFn);
    expect(b.calls.map((c) => c.args.slice(-4))).toEqual(
      Array(2).fill(['--connect', 'tcp://h:5555', '--metrics-port', '0']),
    );
    expect(configError(() => launchPerGpu(['0', '1'], ['--metrics-port', '65535'], fakeSpawn().spawnFn))).toMatch(
      /Received: "65535"$/,
    );
  });

  it('passes the environment to a real child process', async () => {
    // A real spawn of a tiny node script in place of the worker, with the options launchPerGpu chose.
    const realSpawn: SpawnFn = (command, _args, options) =>
      spawn(command, ['-e', 'process.stdout.write(JSON.stringify(process.env))'], {
        ...options,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
    const [child] = launchPerGpu(['2'], ['--connect', 'tcp://h:5555'], realSpawn);
    let out = '';
    child?.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((resolve) => child?.once('exit', resolve));
    expect(code).toBe(0);
    const env = JSON.parse(out) as Record<string, string>;
    expect(env).toMatchObject({
      CUDA_VISIBLE_DEVICES: '2',
      TF_FORCE_GPU_ALLOW_GROWTH: 'true',
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      PATH: process.env['PATH'],
    });
  });
});

describe('runPerGpu', () => {
  it('strips --gpus, starts one worker per GPU and returns 0 when all exit 0', async () => {
    const { calls, spawnFn } = fakeSpawn([0, 0]);
    expect(await runPerGpu(['--gpus', '0,1', '--connect', 'tcp://h:5555'], { probe: FOUR, spawnFn })).toBe(0);
    expect(calls.map((c) => c.args.slice(-5))).toEqual([
      ['worker', '--connect', 'tcp://h:5555', '--metrics-port', '9401'],
      ['worker', '--connect', 'tcp://h:5555', '--metrics-port', '9402'],
    ]);
  });

  it('returns the first non-zero exit status', async () => {
    expect(
      await runPerGpu(['--gpus=all', '--connect', 'tcp://h:5555'], {
        probe: FOUR,
        spawnFn: fakeSpawn([0, 3, 0, 1]).spawnFn,
      }),
    ).toBe(3);
  });

  it('fails before starting anything on a bad spec', async () => {
    const { calls, spawnFn } = fakeSpawn();
    await expect(runPerGpu(['--gpus', '4'], { probe: FOUR, spawnFn })).rejects.toThrow(
      'Expected --gpus indices among the GPUs of this node (0,1,2,3). Received: "4"',
    );
    expect(calls).toHaveLength(0);
  });
});
