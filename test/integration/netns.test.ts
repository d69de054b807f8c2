/**
 * A cluster across Linux network namespaces: the coordinator in one, each worker in its own, joined by
 * veth pairs with addresses from 10.77.0.0/24 that exist only inside these namespaces (nothing is routed
 * anywhere else). The worker links get 20 ms delay and 1% loss (netem); on kernels without netem (no
 * CONFIG_NET_SCH_NETEM) they get 1% loss from an nftables rule instead, and the test says so. Mid-training
 * one worker's link goes down: it is reported lost, the survivor finishes the training, and the cut-off
 * worker gives up on its own.
 *
 * Needs root, iproute2 and nftables (.ci/steps/51-netns.sh); namespaces are removed in afterAll.
 */
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ENTRY, nodeArgs } from '../../api/launcher.ts';
import { JOBS } from '../helpers/local.ts';
import { killAll, waitFor, type Proc } from '../helpers/procs.ts';

const ID = process.pid % 100_000; // keeps names unique per test process; interface names stay under 16 characters
const NS = { coordinator: `tfc${ID}`, a: `tfw${ID}a`, b: `tfw${ID}b` } as const;
const LINKS = [
  { worker: NS.a, near: `tfc${ID}a`, far: `tfw${ID}a`, coordinatorIp: '10.77.0.1', workerIp: '10.77.0.2' },
  { worker: NS.b, near: `tfc${ID}b`, far: `tfw${ID}b`, coordinatorIp: '10.77.0.5', workerIp: '10.77.0.6' },
] as const;
const PORT = 5555;

const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function removeNamespaces(): void {
  for (const ns of Object.values(NS)) {
    try {
      ip('netns', 'del', ns); // deleting a namespace deletes the veth ends in it
    } catch {
      // not there
    }
  }
}

/** How the worker links are impaired, for the log and the test name. */
let impairment = '';

beforeAll(() => {
  removeNamespaces();
  try {
    for (const ns of Object.values(NS)) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  } catch (err) {
    throw new Error(
      'network namespaces are not available here (needs root and iproute2: .ci/steps/51-netns.sh): ' +
        `${(err as { stderr?: string }).stderr ?? err}`,
    );
  }
  for (const l of LINKS) {
    ip('link', 'add', l.near, 'netns', NS.coordinator, 'type', 'veth', 'peer', 'name', l.far, 'netns', l.worker);
    ip('-n', NS.coordinator, 'addr', 'add', `${l.coordinatorIp}/30`, 'dev', l.near);
    ip('-n', l.worker, 'addr', 'add', `${l.workerIp}/30`, 'dev', l.far);
    ip('-n', NS.coordinator, 'link', 'set', l.near, 'up');
    ip('-n', l.worker, 'link', 'set', l.far, 'up');
  }
  // The workers exchange gradients with each other: the coordinator's namespace routes between their links.
  ip('netns', 'exec', NS.coordinator, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  for (const l of LINKS) {
    for (const other of LINKS.filter((o) => o !== l)) {
      ip('-n', l.worker, 'route', 'add', `${other.workerIp}/32`, 'via', l.coordinatorIp);
    }
  }
  impairment = impair();
  console.log(`netns: coordinator in ${NS.coordinator}, workers in ${NS.a} and ${NS.b}; worker links: ${impairment}`);
});
afterAll(() => {
  killAll(procs.splice(0));
  removeNamespaces();
});

/** netem delay 20ms loss 1% on both ends of each worker link; without netem, 1% loss with nftables. */
function impair(): string {
  try {
    for (const l of LINKS) {
      execFileSync(
        'ip',
        ['netns', 'exec', l.worker, 'tc', 'qdisc', 'add', 'dev', l.far, 'root', 'netem', 'delay', '20ms', 'loss', '1%'],
        { stdio: 'pipe' },
      );
      execFileSync(
        'ip',
        [
          'netns',
          'exec',
          NS.coordinator,
          'tc',
          'qdisc',
          'add',
          'dev',
          l.near,
          'root',
          'netem',
          'delay',
          '20ms',
          'loss',
          '1%',
        ],
        { stdio: 'pipe' },
      );
    }
    return 'netem delay 20ms loss 1% each way';
  } catch (err) {
    const why = String((err as { stderr?: Buffer }).stderr ?? err).trim();
    if (!/unknown/i.test(why)) throw new Error(`tc netem failed: ${why}`);
  }
  const rules = [
    'table inet tfimpair {\n',
    '  chain out {\n',
    '    type filter hook output priority 0; policy accept;\n',
    '    numgen random mod 100 < 1 drop\n',
    '  }\n',
    '}\n',
  ].join('');
  for (const ns of [NS.a, NS.b, NS.coordinator]) {
    try {
      execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: rules, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      throw new Error(
        'this kernel has no netem, and nftables failed too (install it: .ci/steps/51-netns.sh): ' +
          String((err as { stderr?: Buffer }).stderr ?? err),
      );
    }
  }
  return 'kernel without netem (CONFIG_NET_SCH_NETEM): 1% loss each way from nftables, no added delay';
}

/** Starts `tensorfleet <args>` inside a namespace, output captured like startCli. */
function startIn(ns: string, args: readonly string[]): Proc {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...nodeArgs(ENTRY, args)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: Proc = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout?.on('data', (d: Buffer) => (proc.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (proc.stderr += d.toString()));
  procs.push(proc);
  return proc;
}

describe('a cluster across network namespaces', () => {
  it('trains over impaired links, reports a cut-off worker lost, and finishes on the survivor', async () => {
    const epochs = 30;
    const coordinator = startIn(NS.coordinator, [
      'coordinator',
      '--bind',
      `tcp://0.0.0.0:${PORT}`,
      '--insecure',
      '--workers',
      '2',
      '--min-workers',
      '1',
      '--backend',
      'cpu',
      '--metrics-host',
      '127.0.0.1',
      '--metrics-port',
      '0',
      '--heartbeat-interval',
      '0.2',
      '--heartbeat-timeout',
      '8',
      '--epochs',
      String(epochs),
      '--verbose',
      '2',
      path.join(JOBS, 'dense-sgd.ts'),
    ]);
    await waitFor(coordinator, /listening on/);
    const [a, b] = LINKS.map((l) =>
      startIn(l.worker, [
        'worker',
        '--connect',
        `tcp://${l.coordinatorIp}:${PORT}`,
        '--backend',
        'cpu',
        '--metrics-host',
        '127.0.0.1',
        '--metrics-port',
        '0',
        '--coordinator-timeout',
        '10',
        '--peer-host',
        l.workerIp,
      ]),
    ) as [Proc, Proc];
    await waitFor(coordinator, /Epoch 3\//, 120_000);
    ip('-n', NS.b, 'link', 'set', LINKS[1].far, 'down'); // worker b is cut off completely
    const cutAt = Date.now();
    await waitFor(
      coordinator,
      new RegExp(`worker \\d+ \\(pid ${b.child.pid} on .*\\) lost: no message for \\d+ ms`),
      30_000,
    );
    expect(Date.now() - cutAt).toBeLessThan(20_000);
    // b gives up after --coordinator-timeout; it cannot be told anything.
    const bExit = await b.exited;
    expect(bExit.code).toBe(1);
    expect(b.stderr).toMatch(/silent for 10000 ms; giving up/);
    // Completing after a loss is the elastic-membership work: the lost worker's round is redone on the survivor.
    const { code } = await coordinator.exited;
    expect(code, `coordinator stderr:\n${coordinator.stderr.slice(-3000)}`).toBe(0);
    expect(coordinator.stdout).toMatch(new RegExp(`Epoch ${epochs}/${epochs}`));
    expect((await a.exited).code, a.stderr.slice(-2000)).toBe(0);
    expect(coordinator.stderr).not.toMatch(new RegExp(`pid ${a.child.pid} on .*\\) lost`)); // only the cut-off worker
    console.log(`netns run (${impairment}): lost reported ${coordinator.stderr.match(/lost: [^\n]*/)?.[0]}`);
  });
});
