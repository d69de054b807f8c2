/**
 * Command-line configuration: parsed once with node:util parseArgs, checked against a zod schema,
 * frozen, and passed down typed. Nothing else in tensorfleet reads argv or the environment.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { BACKEND_REQUESTS } from './backend/select.ts';
import { fleetError } from './catalogue/index.ts';

/** The one set of timing defaults, in seconds, for the CLI's flags and the programmatic API alike. */
export const DEFAULTS = Object.freeze({
  /** Seconds between heartbeats, both ways. */
  heartbeatIntervalSeconds: 1,
  /** Seconds of silence after which a worker is declared lost. */
  heartbeatTimeoutSeconds: 10,
  /** Seconds to wait for all workers to join. */
  joinTimeoutSeconds: 120,
});

const seconds = (def: number) => z.coerce.number().positive().default(def);
const port = (def: number) => z.coerce.number().int().min(0).max(65535).default(def);

const common = {
  backend: z.enum(BACKEND_REQUESTS).default('auto'),
  /** Interface /metrics listens on: loopback unless asked (Prometheus in a pod passes 0.0.0.0). */
  'metrics-host': z.string().default('127.0.0.1'),
  quiet: z.boolean().default(false),
};

/** Flags of every role that talks ZeroMQ; shared/wire/security reads the files (loadSecurity). */
const wire = {
  /** Largest inbound ZeroMQ frame in bytes (the header, or one tensor); a bigger one drops the peer. -1: no limit. Default 1 GiB. */
  'max-message-size': z.coerce
    .number()
    .int()
    .min(-1)
    .refine((n) => n !== 0, 'a positive number of bytes, or -1 for no limit')
    .default(2 ** 30),
  /** File holding the join token, one line, mode 0600 (`tensorfleet keys --token` writes one). */
  'join-token-file': z.string().optional(),
};

/** CURVE flags: this process's key pair file, NAME.key, mode 0600 (`tensorfleet keys` writes one). */
const curve = {
  'curve-secret-key': z.string().optional(),
};

const coordinatorFlags = {
  ...common,
  ...wire,
  ...curve,
  /** Folder of NAME.pub files: only these worker keys complete the CURVE handshake (needs --curve-secret-key). */
  'allow-keys': z.string().optional(),
  /** ZeroMQ endpoint the coordinator binds: loopback by default; any other address needs CURVE or --insecure. */
  bind: z
    .string()
    .regex(/^(tcp|ipc|inproc):\/\//, 'a ZeroMQ endpoint such as tcp://0.0.0.0:5555')
    .default('tcp://127.0.0.1:5555'),
  /** Allow a non-loopback --bind without CURVE: anyone who reaches the port can join and read the weights. */
  insecure: z.boolean().default(false),
  /** Workers to wait for before training starts. */
  workers: z.coerce.number().int().min(1).max(1024),
  /** Fewest healthy workers to train with; below it training pauses (default 1: go on with whoever is left). */
  'min-workers': z.coerce.number().int().min(1).max(1024).default(1),
  /** Most workers admitted at once; more may join up to this while training runs (default: --workers). */
  'max-workers': z.coerce.number().int().min(1).max(1024).optional(),
  /** Seconds to wait, paused, for workers to come back above --min-workers before giving up. */
  'min-workers-timeout': seconds(60),
  /** Port of the coordinator's /metrics (0 picks a free port). */
  'metrics-port': port(9400),
  /** Seconds between heartbeats, both ways. */
  'heartbeat-interval': seconds(DEFAULTS.heartbeatIntervalSeconds),
  /** Seconds of silence after which a worker is declared lost. */
  'heartbeat-timeout': seconds(DEFAULTS.heartbeatTimeoutSeconds),
  /** Seconds to wait for all workers to join. */
  'join-timeout': seconds(DEFAULTS.joinTimeoutSeconds),
  /** Folder for history.json, run.json, model.keras and checkpoints/. */
  out: z.string().optional(),
  /** Seconds a round waits for its slowest worker before moving that worker's share to faster ones (0: no deadline). */
  'round-deadline': z.coerce.number().min(0).default(0),
  /** Checkpoint every N rounds as well as at every epoch end (0: epoch ends only). */
  'checkpoint-every': z.coerce.number().int().min(0).default(0),
  /** Continue from the latest checkpoint in <out>/checkpoints (starts fresh when there is none). */
  resume: z.boolean().default(false),
  /** Overrides of the job's fit options, handy for short runs. */
  epochs: z.coerce.number().int().positive().optional(),
  'batch-size': z.coerce.number().int().positive().optional(),
  verbose: z.coerce.number().int().min(0).max(2).optional(),
  job: z.string({ error: 'a job module path, e.g. examples/mnist-mlp.ts' }),
};

const workerFlags = {
  ...common,
  ...wire,
  ...curve,
  /** The coordinator's NAME.pub: turns CURVE on (with --curve-secret-key, or a throwaway key pair). */
  'curve-server-key': z.string().optional(),
  /** ZeroMQ endpoint of the coordinator. */
  connect: z
    .string({ error: 'a coordinator endpoint such as tcp://HOST:5555' })
    .regex(/^(tcp|ipc|inproc):\/\//, 'a ZeroMQ endpoint such as tcp://HOST:5555'),
  /** Port of this worker's /metrics (0 picks a free port). */
  'metrics-port': port(9401),
  /** Seconds of coordinator silence after which the worker gives up. */
  'coordinator-timeout': seconds(30),
  /** The address peers reach this worker on for the gradient exchange (a port is picked); loopback by default.
   * On several hosts give this host's address as the other workers see it (in Kubernetes, the pod IP). */
  'peer-host': z
    .string()
    .regex(/^[\w.:-]+$/, 'a host name or IP address')
    .default('127.0.0.1'),
  /** One worker process per GPU: "all" or indices as nvidia-smi -L numbers them, e.g. 0,1. Unset: this process is the worker. */
  gpus: z
    .string()
    .regex(/^(all|\d+(,\d+)*)$/, 'all, or GPU indices such as 0,1')
    .optional(),
};

const schemas = {
  coordinator: z.strictObject(coordinatorFlags),
  worker: z.strictObject(workerFlags),
  local: z
    .strictObject({
      ...coordinatorFlags,
      bind: coordinatorFlags.bind.default('tcp://127.0.0.1:*'),
      'metrics-host': common['metrics-host'].default('127.0.0.1'),
    })
    .omit({ 'curve-secret-key': true, 'allow-keys': true, insecure: true }),
} as const;

/** A subcommand that takes flags. */
export type Command = keyof typeof schemas;
/** Parsed, frozen flags of one subcommand. */
export type Config<C extends Command> = Readonly<z.infer<(typeof schemas)[C]>>;

const BOOLEAN_FLAGS = new Set(['quiet', 'resume', 'insecure']);

/** Parses argv (after the subcommand) for `command`; throws FLEET_ERR_CONFIG saying what was expected. */
export function parseConfig<C extends Command>(command: C, argv: readonly string[]): Config<C> {
  const shape = schemas[command].shape as Record<string, unknown>;
  const options = Object.fromEntries(
    Object.keys(shape)
      .filter((k) => k !== 'job')
      .map((k) => [k, { type: BOOLEAN_FLAGS.has(k) ? ('boolean' as const) : ('string' as const) }]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    const flags = Object.keys(options)
      .map((k) => `--${k}`)
      .join(', ');
    throw fleetError('CONFIG_UNKNOWN_FLAG', { command, flags, reason: (err as Error).message });
  }
  const raw: Record<string, unknown> = { ...parsed.values };
  if ('job' in shape) {
    if (parsed.positionals.length > 1) throw fleetError('CONFIG_ONE_JOB', { positionals: parsed.positionals });
    raw['job'] = parsed.positionals[0];
  } else if (parsed.positionals.length > 0) {
    throw fleetError('CONFIG_NO_POSITIONALS', { command, positionals: parsed.positionals });
  }
  const result = schemas[command].safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const flag = key === 'job' ? '<job>' : `--${key}`;
    throw fleetError('CONFIG_INVALID_FLAG', { flag, issue: issue?.message, received: raw[key] });
  }
  if (command === 'coordinator') checkExposure(result.data as Config<'coordinator'>);
  return Object.freeze(result.data) as Config<C>;
}

/** True for an endpoint only this host can reach: ipc, inproc, or tcp on a loopback address. */
export function isLoopbackEndpoint(endpoint: string): boolean {
  const m = /^tcp:\/\/(\[[^\]]*\]|[^:]*)(:.*)?$/.exec(endpoint);
  if (m === null) return !endpoint.startsWith('tcp://');
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** True when the coordinator would take peers from other hosts without CURVE (allowed only with --insecure). */
export function exposedWithoutCurve(c: Config<'coordinator'>): boolean {
  return !isLoopbackEndpoint(c.bind) && c['curve-secret-key'] === undefined;
}

/** A coordinator reachable from other hosts must authenticate them (CURVE), unless told --insecure. */
function checkExposure(c: Config<'coordinator'>): void {
  if (!exposedWithoutCurve(c) || c.insecure) return;
  throw fleetError('CONFIG_EXPOSED_WITHOUT_CURVE', { bind: c.bind });
}
