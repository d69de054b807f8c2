/**
 * The `tensorfleet` command line:
 *   tensorfleet local --workers 2 examples/mnist-mlp.ts
 *   tensorfleet coordinator --bind tcp://0.0.0.0:5555 --insecure --workers 2 examples/mnist-mlp.ts
 *   tensorfleet worker --connect tcp://HOST:5555 [--peer-host ADDRESS] [--gpus all|0,1,...]
 *
 * Room: cli/ is the command line (with the native build and the plot); library code never imports it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CoordinatorOptions } from '../coordinator/run.ts';
import { exposedWithoutCurve, parseConfig, type Config } from '../shared/runtime/config.ts';
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import { isFleetError } from '../shared/runtime/errors.ts';
import { siblingModule, siblingPath } from '../shared/runtime/module-path.ts';

/**
 * Commands that live in their own module under cli/, each exporting `run(argv): Promise<number>`.
 * They are imported only when used, so the training path never loads HDF5, plotting or build tooling.
 */
const EXTRA_COMMANDS: Record<string, string> = {
  plot: './plot/command.ts',
  convert: './convert.ts',
  inspect: './inspect.ts',
  setup: './setup.ts',
  keys: './keys.ts',
};

const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * SIGINT and SIGTERM stop a role the way a shell expects: `cleanup` runs (the local launcher stops its
 * workers there, so none is orphaned), one line says what happened, and the exit code is 128 + signal.
 * A second signal while cleaning up exits at once.
 */
function onStopSignal(cleanup: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.once(signal, () => process.exit(SIGNAL_EXIT[signal]));
      process.stderr.write(`tensorfleet: received ${signal}; stopping\n`);
      void cleanup()
        .catch((err: unknown) => process.stderr.write(`tensorfleet: while stopping: ${String(err)}\n`))
        .finally(() => process.exit(SIGNAL_EXIT[signal]));
    });
  }
}

const USAGE = [
  'usage:',
  '  tensorfleet local --workers N [--backend auto|tensorflow-gpu|tensorflow|wasm|cpu] <job.ts>',
  '  tensorfleet coordinator --bind tcp://0.0.0.0:5555 --insecure --workers N <job.ts>',
  '  tensorfleet worker --connect tcp://HOST:5555 [--peer-host ADDRESS] [--gpus all|0,1,...]',
  '  tensorfleet plot | convert | inspect | setup | keys   (see README)',
  'common flags: --backend, --metrics-host, --metrics-port, --quiet, --max-message-size BYTES, --join-token-file FILE',
  'security flags (docs/security.md): coordinator --curve-secret-key FILE [--allow-keys DIR]; ' +
    'worker --curve-server-key FILE [--curve-secret-key FILE]',
  'coordinator/local flags: --min-workers N, --max-workers N, --min-workers-timeout S, --checkpoint-every N, ' +
    '--resume, --round-deadline S, --heartbeat-interval S, --heartbeat-timeout S, --join-timeout S, --out DIR, ' +
    '--epochs N, --batch-size N, --verbose 0|1|2',
].join('\n');

/** The default run folder: runs/<job>-<timestamp>. */
function defaultOut(job: string): string {
  const name = path.basename(job).replace(/\.[cm]?[jt]s$/, '');
  return path.join('runs', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
}

function coordinatorOptions(c: Config<'coordinator'> | Config<'local'>): CoordinatorOptions {
  const fit = {
    ...(c.epochs !== undefined && { epochs: c.epochs }),
    ...(c['batch-size'] !== undefined && { batchSize: c['batch-size'] }),
    ...(c.verbose !== undefined && { verbose: c.verbose as 0 | 1 | 2 }),
  };
  if (c.resume && c.out === undefined) throw fleetError('CLI_RESUME_WITHOUT_OUT');
  return Object.freeze({
    bind: c.bind,
    workers: c.workers,
    job: c.job,
    backend: c.backend,
    metricsHost: c['metrics-host'],
    metricsPort: c['metrics-port'],
    checkpointEvery: c['checkpoint-every'],
    roundDeadlineMs: c['round-deadline'] * 1000,
    resume: c.resume,
    minWorkers: c['min-workers'],
    maxWorkers: c['max-workers'] ?? Math.max(c.workers, c['min-workers']),
    minWorkersTimeoutMs: c['min-workers-timeout'] * 1000,
    heartbeatIntervalMs: c['heartbeat-interval'] * 1000,
    heartbeatTimeoutMs: c['heartbeat-timeout'] * 1000,
    joinTimeoutMs: c['join-timeout'] * 1000,
    // Every run writes history.json: under --out, or runs/<job>-<timestamp> by default.
    out: c.out ?? defaultOut(c.job),
    fit,
    quiet: c.quiet,
  });
}

/** Reads the key and token files the flags name (shared/wire/security), imported only when a role runs. */
async function securityOf(
  role: 'coordinator' | 'worker',
  c: {
    'max-message-size': number;
    'join-token-file'?: string | undefined;
    'curve-secret-key'?: string | undefined;
    'allow-keys'?: string | undefined;
    'curve-server-key'?: string | undefined;
  },
) {
  const { loadSecurity } = await import('../shared/wire/security/index.ts');
  return loadSecurity(role, {
    maxMessageSize: c['max-message-size'],
    joinTokenFile: c['join-token-file'],
    curveSecretKey: c['curve-secret-key'],
    allowKeys: c['allow-keys'],
    curveServerKey: c['curve-server-key'],
  });
}

/** Runs one command line; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `tensorfleet local --help` (any role) prints the usage, as every CLI does, instead of a flag error.
  const role = command === 'local' || command === 'coordinator' || command === 'worker';
  if (role && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    switch (command) {
      // Each command imports only what it runs, so `plot` or `--help` do not load tfjs and ZeroMQ.
      case 'local': {
        const c = parseConfig('local', rest);
        onStopSignal(async () => {
          const { stopLocalWorkers } = await import('../api/launcher.ts');
          await stopLocalWorkers('SIGTERM');
        });
        const opts = coordinatorOptions(c);
        const { runLocal } = await import('../api/launcher.ts');
        const tokenFile = c['join-token-file'];
        const workerArgs = [
          '--max-message-size',
          String(c['max-message-size']),
          ...(tokenFile !== undefined ? ['--join-token-file', tokenFile] : []),
        ];
        await runLocal({ ...opts, security: await securityOf('coordinator', c), workerArgs });
        return 0;
      }
      case 'coordinator': {
        const c = parseConfig('coordinator', rest);
        onStopSignal(async () => {});
        if (exposedWithoutCurve(c)) {
          // Only reachable with --insecure: parseConfig refuses the exposure otherwise.
          const exposes =
            'takes any peer without authentication or encryption; it can join, read the weights and send gradients';
          process.stderr.write(`tensorfleet: --insecure: ${c.bind} ${exposes}\n`);
        }
        const opts = { ...coordinatorOptions(c), security: await securityOf('coordinator', c) };
        const { runCoordinator } = await import('../coordinator/run.ts');
        await runCoordinator(opts);
        return 0;
      }
      case 'worker': {
        const c = parseConfig('worker', rest);
        onStopSignal(async () => {});
        if (c.gpus !== undefined) {
          const { runPerGpu } = await import('./gpus.ts');
          return await runPerGpu(rest);
        }
        const { runWorker } = await import('../worker/worker.ts');
        const security = await securityOf('worker', c);
        return await runWorker({
          connect: c.connect,
          backend: c.backend,
          metricsHost: c['metrics-host'],
          metricsPort: c['metrics-port'],
          coordinatorTimeoutMs: c['coordinator-timeout'] * 1000,
          quiet: c.quiet,
          security,
          peerHost: c['peer-host'],
        });
      }
      case undefined:
      case '-h':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default: {
        const extra = EXTRA_COMMANDS[command];
        // Named with .ts here; from dist/ the compiled .js sibling is the one that exists.
        if (extra && existsSync(siblingPath(extra, import.meta.url))) {
          type Command = { run(argv: readonly string[]): Promise<number> };
          const mod = (await import(siblingModule(extra, import.meta.url).href)) as Command;
          return await mod.run(rest);
        }
        const extraNames = Object.keys(EXTRA_COMMANDS).join(', ');
        throw fleetError('CLI_UNKNOWN_COMMAND', { extra: extraNames, command, usage: USAGE });
      }
    }
  } catch (err) {
    if (!isFleetError(err)) throw err;
    process.stderr.write(`tensorfleet: ${err.code}: ${err.message}\n`);
    return 1;
  }
}
