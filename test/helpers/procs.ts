/** Real child processes of the tensorfleet CLI for integration tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { ENTRY, nodeArgs } from '../../api/launcher.ts';

/** A running CLI process with its output captured. */
export interface Proc {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `tensorfleet worker` arguments for a test: loopback, cpu backend, a free metrics port, then `extra`. */
export function workerArgs(endpoint: string, extra: readonly string[] = []): string[] {
  return [
    'worker',
    '--connect',
    endpoint,
    '--backend',
    'cpu',
    '--metrics-port',
    '0',
    '--metrics-host',
    '127.0.0.1',
    ...extra,
  ];
}

/** `tensorfleet coordinator` arguments for a test: `workers` workers, cpu backend, a free metrics port, then `extra`. */
export function coordinatorArgs(endpoint: string, workers: number, extra: readonly string[] = []): string[] {
  return [
    'coordinator',
    '--bind',
    endpoint,
    '--workers',
    String(workers),
    '--backend',
    'cpu',
    '--metrics-port',
    '0',
    '--metrics-host',
    '127.0.0.1',
    ...extra,
  ];
}

/** Starts `tensorfleet <args>` as a child process. */
export function startCli(args: readonly string[]): Proc {
  const child = spawn(process.execPath, nodeArgs(ENTRY, args), { stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: Proc = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout?.on('data', (d: Buffer) => (proc.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (proc.stderr += d.toString()));
  return proc;
}

/** Resolves once `pattern` appears in the process's stdout or stderr; rejects on exit or after `ms`. */
export function waitFor(proc: Proc, pattern: RegExp, ms = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = setInterval(() => {
      if (pattern.test(proc.stdout) || pattern.test(proc.stderr)) {
        clearInterval(tick);
        resolve();
      } else if (proc.child.exitCode !== null || Date.now() - started > ms) {
        clearInterval(tick);
        reject(new Error(`did not see ${pattern} (exit ${proc.child.exitCode}); stderr:\n${proc.stderr.slice(-2000)}`));
      }
    }, 50);
  });
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(() => r(undefined)));
  return port;
}

/** Kills every process still running (test cleanup). */
export function killAll(procs: readonly Proc[]): void {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}

/**
 * Runs a command to completion without blocking the event loop (spawnSync would stall vitest's own
 * worker RPC for as long as the child runs, and a long child then fails the whole run).
 */
export function runToEnd(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}
