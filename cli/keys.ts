/**
 * `tensorfleet keys`: CURVE key pairs and join tokens for a secured cluster.
 *   tensorfleet keys --name coordinator --out keys/   # keys/coordinator.key (0600), keys/coordinator.pub
 *   tensorfleet keys --name worker-1 --out keys/      # copy worker-1.pub into the coordinator's --allow-keys folder
 *   tensorfleet keys --token --out keys/              # keys/join.token (0600), for --join-token-file
 * Prints the public key (or the token file's path) on stdout, what it wrote on stderr. Never replaces an
 * existing file unless --force.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as zmq from 'zeromq';
import { fleetError } from '../shared/runtime/catalogue/index.ts';
import { KEY_NAME, writeKeyPair, writePrivate } from '../shared/wire/security/keys.ts';

const USAGE = `usage: tensorfleet keys [--out DIR] [--name coordinator|worker|NAME] [--force]
       tensorfleet keys --token [--out DIR] [--name join] [--force]
  writes DIR/NAME.key (private, mode 0600) and DIR/NAME.pub, or DIR/NAME.token (mode 0600) with --token
  --out DIR   folder for the files (default: the current folder; created with mode 0700)
  --name N    file name without extension (default: this host's name; "join" with --token)
  --force     replace existing files`;

interface KeysArgs {
  readonly out: string;
  readonly name: string;
  readonly force: boolean;
  readonly token: boolean;
}

function parse(argv: readonly string[]): KeysArgs | 'help' {
  let values: { out?: string; name?: string; force?: boolean; token?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        out: { type: 'string' },
        name: { type: 'string' },
        force: { type: 'boolean' },
        token: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw fleetError('KEYS_FLAGS', { reason: (err as Error).message, usage: USAGE });
  }
  if (values.help) return 'help';
  const token = values.token ?? false;
  const name = values.name ?? (token ? 'join' : (os.hostname().split('.')[0] ?? 'worker'));
  if (!KEY_NAME.test(name)) throw fleetError('KEYS_BAD_NAME_FLAG', { name: JSON.stringify(name) });
  return Object.freeze({ out: values.out ?? '.', name, force: values.force ?? false, token });
}

/** Generates a key pair (or a join token) into files; returns the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const args = parse(argv);
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.token) {
    const file = path.join(args.out, `${args.name}.token`);
    if (existsSync(file) && !args.force) throw fleetError('KEYS_TOKEN_EXISTS', { file });
    mkdirSync(args.out, { recursive: true, mode: 0o700 });
    // 32 random bytes as base64url: 43 characters, 256 bits.
    writePrivate(file, `${randomBytes(32).toString('base64url')}\n`, 0o600);
    process.stderr.write(
      `wrote ${file} (mode 0600): pass it to the coordinator and every worker with --join-token-file\n`,
    );
    process.stdout.write(`${file}\n`);
    return 0;
  }
  const pair = zmq.curveKeyPair();
  const { keyFile, pubFile } = writeKeyPair(args.out, args.name, pair, { force: args.force });
  process.stderr.write(`wrote ${keyFile} (mode 0600, keep private) and ${pubFile} (share it)\n`);
  process.stdout.write(`${pair.publicKey}\n`);
  return 0;
}
