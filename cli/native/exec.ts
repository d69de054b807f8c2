/** Child processes for the native setup: output is collected, and a failure becomes a FleetError. */
import { spawn } from 'node:child_process';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';

/** What a finished command left behind. */
export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for one command; `env` is merged over process.env. */
export interface ExecOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Called with every chunk of output, for progress on long steps. */
  readonly onOutput?: (chunk: string) => void;
}

/** Runs `cmd args` to completion; never throws for a non-zero exit (a missing program is code 127). */
export function exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, [...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      opts.onOutput?.(d.toString());
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onOutput?.(d.toString());
    });
    child.once('error', (err) => resolve({ code: 127, stdout, stderr: `${stderr}${err.message}` }));
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** The last `n` non-empty lines of a command's output, for error messages. */
export function tail(result: ExecResult, n = 25): string {
  const lines = `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(-n).join('\n');
}

/** Runs a command and throws FLEET_ERR_BACKEND with its output's tail when it fails. */
export async function mustExec(
  what: string,
  cmd: string,
  args: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const result = await exec(cmd, args, opts);
  if (result.code !== 0) {
    const command = [cmd, ...args].join(' ');
    throw fleetError(
      'NATIVE_COMMAND_FAILED',
      { what, command, code: result.code, tail: tail(result) },
      { cmd, args, code: result.code },
    );
  }
  return result;
}
