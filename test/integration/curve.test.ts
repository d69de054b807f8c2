/**
 * CURVE on the wire, seen by tcpdump on loopback. The model's initial weights (dense-sgd.ts: seeded, so a
 * known byte pattern) travel in every welcome: a capture of a plain run must contain them in clear, a
 * capture of a CURVE run must not contain a single 16-byte window of them. Keys outside the allow-list,
 * and a wrong join token, never get a worker admitted; the coordinator logs why.
 *
 * The socket-level case and the plain control run use what exists today; "a CURVE cluster…" needs the
 * coordinator/worker flags of the security patch (--curve-secret-key, --curve-server-key, --allow-keys,
 * --join-token-file, --max-message-size). tcpdump comes from .ci/steps/50-capture.sh; CI runs as root.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as zmq from 'zeromq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { loadJob } from '../../shared/model/job.ts';
import {
  clientSocketOptions,
  loadSecurity,
  reportHandshakeRefusals,
  serverSocketOptions,
  startAuthenticator,
  writeKeyPair,
  type Refusal,
} from '../../shared/wire/security/index.ts';
import { readWeights } from '../../shared/wire/weights.ts';
import { JOBS } from '../helpers/local.ts';
import { freePort, killAll, startCli, waitFor, type Proc, workerArgs, coordinatorArgs } from '../helpers/procs.ts';

const TMP = mkdtempSync(path.join(os.tmpdir(), 'tf-curve-'));
const procs: Proc[] = [];
const captures: ChildProcess[] = []; // tcpdumps still running when a test fails are stopped here
afterEach(() => {
  killAll(procs.splice(0));
  for (const c of captures.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/** A tcpdump of one loopback TCP port into a pcap file. */
async function startCapture(port: number, name: string): Promise<{ stop: () => Promise<Buffer> }> {
  const file = path.join(TMP, `${name}.pcap`);
  // -U and --immediate-mode: every packet reaches the file before SIGINT; -Z root: keep writing into our 0700 temp
  // folder; -s 0: whole packets.
  const child = spawn(
    'tcpdump',
    ['-i', 'lo', '-n', '-U', '--immediate-mode', '-s', '0', '-Z', 'root', '-w', file, `tcp port ${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  captures.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const tick = setInterval(() => {
      if (/listening on/.test(stderr)) {
        clearInterval(tick);
        resolve();
      }
    }, 20);
    child.once('error', (err) => {
      clearInterval(tick);
      reject(new Error(`tcpdump could not start (${err.message}); install it with .ci/steps/50-capture.sh`));
    });
    child.once('exit', (code) => {
      clearInterval(tick);
      reject(
        new Error(`tcpdump exited with ${code}: ${stderr}; it needs root (CAP_NET_RAW) and .ci/steps/50-capture.sh`),
      );
    });
  });
  return {
    stop: async () => {
      child.removeAllListeners('exit');
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
      return readFileSync(file);
    },
  };
}

/** TCP payloads of a pcap, concatenated per direction ("srcPort>dstPort"), in capture order. */
function tcpStreams(pcap: Buffer): Map<string, Buffer> {
  const magic = pcap.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d)
    throw new Error(`not a little-endian pcap file (magic ${magic.toString(16)})`);
  const link = pcap.readUInt32LE(20);
  const linkHeader = ({ 1: 14, 113: 16, 276: 20 } as Record<number, number>)[link];
  if (linkHeader === undefined) throw new Error(`unexpected pcap link type ${link}`);
  const parts = new Map<string, Buffer[]>();
  for (let at = 24; at + 16 <= pcap.byteLength;) {
    const caplen = pcap.readUInt32LE(at + 8);
    const pkt = pcap.subarray(at + 16, at + 16 + caplen);
    at += 16 + caplen;
    const ip = pkt.subarray(linkHeader);
    if (ip.byteLength < 20 || ip[0]! >> 4 !== 4 || ip[9] !== 6) continue; // IPv4 TCP only
    const ipLen = (ip[0]! & 0x0f) * 4;
    const tcp = ip.subarray(ipLen, ip.readUInt16BE(2));
    const payload = tcp.subarray((tcp[12]! >> 4) * 4);
    if (payload.byteLength === 0) continue;
    const key = `${tcp.readUInt16BE(0)}>${tcp.readUInt16BE(2)}`;
    parts.set(key, [...(parts.get(key) ?? []), payload]);
  }
  return new Map([...parts].map(([k, v]) => [k, Buffer.concat(v)]));
}

/** 16-byte windows of `pattern` (every 4 bytes) that occur anywhere in `haystack`. */
function windowsFound(haystack: Buffer, pattern: Buffer): number {
  let found = 0;
  for (let at = 0; at + 16 <= pattern.byteLength; at += 4)
    if (haystack.includes(pattern.subarray(at, at + 16))) found++;
  return found;
}

/** A float32 marker with a recognisable sequence: 0.123456, 0.234567, ... */
function marker(n: number): Buffer {
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = 0.123456 + 0.111111 * (i % 8) + i;
  return Buffer.from(f.buffer);
}

let weights: Buffer; // dense-sgd.ts's initial first kernel, 20x16 float32: what every welcome carries
beforeAll(async () => {
  await selectBackend('cpu');
  const job = await loadJob(path.join(JOBS, 'dense-sgd.ts'));
  const k = readWeights(job.model())[0];
  weights = Buffer.from(k!.data.buffer, k!.data.byteOffset, k!.data.byteLength);
});

/** Keys and a token for one cluster: coordinator, two allowed workers, one stranger. */
function cluster(dir: string) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = Object.fromEntries(
    ['coordinator', 'worker-0', 'worker-1', 'stranger'].map((name) => [
      name,
      writeKeyPair(dir, name, zmq.curveKeyPair(), { force: false }),
    ]),
  );
  const allow = path.join(dir, 'allowed');
  mkdirSync(allow);
  for (const w of ['worker-0', 'worker-1']) writeFileSync(path.join(allow, `${w}.pub`), readFileSync(keys[w]!.pubFile));
  const token = path.join(dir, 'join.token');
  writeFileSync(token, 'k3ep-th1s-s3cret-0123456789abcdef\n', { mode: 0o600 });
  const wrongToken = path.join(dir, 'wrong.token');
  writeFileSync(wrongToken, 'n0t-the-s3cret-0123456789abcdef\n', { mode: 0o600 });
  chmodSync(token, 0o600);
  return { keys: keys as Record<string, { keyFile: string; pubFile: string }>, allow, token, wrongToken };
}

describe('CURVE on the wire', () => {
  it('socket level: a marker crosses in clear without CURVE and only as ciphertext with it', async () => {
    const dir = path.join(TMP, 'sockets');
    const c = cluster(dir);
    const data = marker(4096);
    const run = async (secure: boolean) => {
      const sec = secure
        ? loadSecurity('coordinator', { curveSecretKey: c.keys['coordinator']!.keyFile, allowKeys: c.allow })
        : loadSecurity('coordinator', {});
      const context = new zmq.Context();
      const refusals: Refusal[] = [];
      const zap = await startAuthenticator(context, sec, (r) => refusals.push(r));
      const router = new zmq.Router({ context, linger: 0, ...serverSocketOptions(sec) });
      reportHandshakeRefusals(router, (r) => refusals.push(r));
      const port = await freePort();
      await router.bind(`tcp://127.0.0.1:${port}`);
      const capture = await startCapture(port, secure ? 'sockets-curve' : 'sockets-plain');
      const client = (flags: Parameters<typeof loadSecurity>[1]) => {
        const d = new zmq.Dealer({ linger: 0, ...clientSocketOptions(loadSecurity('worker', flags)) });
        d.connect(`tcp://127.0.0.1:${port}`);
        return d;
      };
      const good = client(
        secure ? { curveServerKey: c.keys['coordinator']!.pubFile, curveSecretKey: c.keys['worker-0']!.keyFile } : {},
      );
      const stranger = secure
        ? client({ curveServerKey: c.keys['coordinator']!.pubFile, curveSecretKey: c.keys['stranger']!.keyFile })
        : undefined;
      await good.send(data);
      if (stranger) void stranger.send(data).catch(() => {});
      const [id, got] = await router.receive();
      await router.send([id!, got!]); // echo: the marker crosses both ways
      const [echo] = await good.receive();
      await new Promise((r) => setTimeout(r, 300)); // let the stranger try, and tcpdump flush
      const pcap = await capture.stop();
      for (const s of [good, stranger, router]) s?.close();
      await zap?.close();
      return { pcap, got: Buffer.from(got!), echo: Buffer.from(echo!), refusals };
    };
    const plain = await run(false);
    const curve = await run(true);
    for (const r of [plain, curve]) expect([r.got.equals(data), r.echo.equals(data)]).toEqual([true, true]);
    const plainStreams = [...tcpStreams(plain.pcap).values()];
    expect(plainStreams.filter((s) => s.includes(data))).toHaveLength(2); // both directions, contiguous
    expect(windowsFound(curve.pcap, data)).toBe(0);
    expect([...tcpStreams(curve.pcap).values()].reduce((n, s) => n + s.byteLength, 0)).toBeGreaterThan(
      2 * data.byteLength,
    );
    expect(curve.refusals.map((r) => [r.via, r.key])).toContainEqual([
      'zap',
      loadSecurity('worker', {
        curveServerKey: c.keys['coordinator']!.pubFile,
        curveSecretKey: c.keys['stranger']!.keyFile,
      }).keys?.publicKey,
    ]);
  });

  /** Starts a coordinator for dense-sgd.ts on a fresh port, with a capture of that port running. */
  async function startCluster(name: string, coordinatorFlags: string[]) {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    const capture = await startCapture(port, name);
    const coordinator = startCli(
      coordinatorArgs(endpoint, 2, [
        '--out',
        path.join(TMP, name),
        ...coordinatorFlags,
        path.join(JOBS, 'dense-sgd.ts'),
      ]),
    );
    procs.push(coordinator);
    await waitFor(coordinator, /listening on/);
    const worker = (flags: string[]) => {
      const p = startCli(workerArgs(endpoint, ['--coordinator-timeout', '20', ...flags]));
      procs.push(p);
      return p;
    };
    return { coordinator, worker, capture };
  }

  it('control: without CURVE, a capture of a real run shows the initial weights in clear', async () => {
    const { coordinator, worker, capture } = await startCluster('plain', []);
    const workers = [worker([]), worker([])];
    expect((await coordinator.exited).code, coordinator.stderr).toBe(0);
    for (const w of workers) expect((await w.exited).code).toBe(0);
    const streams = [...tcpStreams(await capture.stop()).values()];
    expect(streams.filter((s) => s.includes(weights)).length).toBeGreaterThanOrEqual(2); // one welcome per worker
  });

  const endToEndTitle =
    'a CURVE cluster admits only allowed keys holding the token, logs each refusal, ' +
    'and never shows the weights (needs the security patch)';
  it(endToEndTitle, async () => {
    const c = cluster(path.join(TMP, 'e2e'));
    const server = ['--curve-server-key', c.keys['coordinator']!.pubFile];
    const { coordinator, worker, capture } = await startCluster('curve', [
      '--curve-secret-key',
      c.keys['coordinator']!.keyFile,
      '--allow-keys',
      c.allow,
      '--join-token-file',
      c.token,
      '--max-message-size',
      String(64 << 20),
    ]);
    expect(coordinator.stderr).toMatch(/security: CURVE on .*2 allowed worker key\(s\); join token on/);
    const stranger = worker([
      ...server,
      '--curve-secret-key',
      c.keys['stranger']!.keyFile,
      '--join-token-file',
      c.token,
    ]);
    const noToken = worker([
      ...server,
      '--curve-secret-key',
      c.keys['worker-1']!.keyFile,
      '--join-token-file',
      c.wrongToken,
    ]);
    const plain = worker(['--join-token-file', c.token]);
    // The refused ones first, so that they would take a place if they could.
    await waitFor(coordinator, /refused 127\.0\.0\.1 \(CURVE key "[^"]+"\) by the key allow-list/);
    await waitFor(coordinator, /FLEET_ERR_AUTH: Expected the coordinator's join token .* Received: a different token/);
    const good = [0, 1].map((i) =>
      worker([
        ...server,
        '--curve-secret-key',
        c.keys[`worker-${i}`]!.keyFile,
        '--join-token-file',
        c.token,
        '--max-message-size',
        String(64 << 20),
      ]),
    );
    expect((await coordinator.exited).code, coordinator.stderr).toBe(0);
    for (const w of good) expect((await w.exited).code, w.stderr).toBe(0);
    const strangerKey = loadSecurity('worker', {
      curveServerKey: c.keys['coordinator']!.pubFile,
      curveSecretKey: c.keys['stranger']!.keyFile,
    }).keys!.publicKey;
    expect(coordinator.stderr).toContain(
      `FLEET_ERR_AUTH: refused 127.0.0.1 (CURVE key "${strangerKey}") by the key allow-list: key is not in the allow-list (2 allowed keys)`,
    );
    // The plain worker: libzmq reports a mechanism mismatch or a broken pipe, depending on timing.
    expect(coordinator.stderr).toMatch(
      /FLEET_ERR_AUTH: refused a peer on tcp:\/\/127\.0\.0\.1:\d+ by the CURVE handshake: /,
    );
    // Exactly the two good workers joined.
    const joined = [...coordinator.stderr.matchAll(/worker \d+ joined: pid (\d+)/g)].map((m) => Number(m[1]));
    expect(joined.sort()).toEqual(good.map((w) => w.child.pid).sort());
    for (const refused of [stranger, noToken]) {
      expect((await refused.exited).code).toBe(1);
      expect(refused.stderr).toMatch(/FLEET_ERR_AUTH/);
    }
    plain.child.kill('SIGKILL');
    const pcap = await capture.stop();
    expect(windowsFound(pcap, weights)).toBe(0);
    const bytes = [...tcpStreams(pcap).values()].reduce((n, s) => n + s.byteLength, 0);
    expect(bytes).toBeGreaterThan(20 * weights.byteLength); // the run did go over this port
  });
});
