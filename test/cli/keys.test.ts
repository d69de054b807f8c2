/**
 * `tensorfleet keys`: key pairs and tokens with private modes, no silent overwrite. The first case runs the
 * real binary; the rest call the same `main` in-process (a child process costs ~2.5 s of tsx start-up).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.ts';
import { loadKeyPair, loadPublicKey, loadSecurity } from '../../shared/wire/security/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/tensorfleet.mjs');
const TMP = mkdtempSync(path.join(os.tmpdir(), 'tf-keys-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/** `tensorfleet keys ARGS` in-process, with stdout and stderr captured. */
async function keys(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const capture = (stream: 'stdout' | 'stderr') =>
    vi.spyOn(process[stream], 'write').mockImplementation((chunk: string | Uint8Array) => {
      out[stream] += String(chunk);
      return true;
    });
  const spies = [capture('stdout'), capture('stderr')];
  try {
    return { code: await main(['keys', ...args]), ...out };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

/** The installed binary as a child process. */
function keysProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'keys', ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const mode = (f: string) => statSync(f).mode & 0o777;

describe('tensorfleet keys', () => {
  it('writes NAME.key (0600) and NAME.pub (0644) into a new 0700 folder and prints the public key', async () => {
    const out = path.join(TMP, 'new', 'keys');
    const r = await keysProcess(['--out', out, '--name', 'coordinator']);
    expect(r.code, r.stderr).toBe(0);
    const pair = loadKeyPair(path.join(out, 'coordinator.key'));
    expect(r.stdout).toBe(`${pair.publicKey}\n`);
    expect(loadPublicKey(path.join(out, 'coordinator.pub')).publicKey).toBe(pair.publicKey);
    expect([mode(out), mode(pair.file), mode(path.join(out, 'coordinator.pub'))]).toEqual([0o700, 0o600, 0o644]);
    expect(readFileSync(path.join(out, 'coordinator.pub'), 'utf8')).not.toContain(pair.secretKey);
    expect(r.stderr).toMatch(/wrote .*coordinator.key \(mode 0600, keep private\) and .*coordinator.pub/);
  });

  it('refuses to overwrite without --force, and replaces both files with it', async () => {
    const out = path.join(TMP, 'overwrite');
    expect((await keys(['--out', out, '--name', 'worker-1'])).code).toBe(0);
    const before = loadKeyPair(path.join(out, 'worker-1.key')).publicKey;
    const refused = await keys(['--out', out, '--name', 'worker-1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        /FLEET_ERR_CONFIG: Expected no existing key files \(pass --force to replace them\). /.source +
          /Received: .*worker-1.key, .*worker-1.pub already exist/.source,
      ),
    );
    expect(loadKeyPair(path.join(out, 'worker-1.key')).publicKey).toBe(before);
    const forced = await keys(['--out', out, '--name', 'worker-1', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout.trim()).not.toBe(before);
    expect(loadPublicKey(path.join(out, 'worker-1.pub')).publicKey).toBe(forced.stdout.trim());
  });

  it('writes a join token that --join-token-file accepts', async () => {
    const out = path.join(TMP, 'token');
    const r = await keys(['--token', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(out, 'join.token');
    expect(r.stdout).toBe(`${file}\n`);
    expect(mode(file)).toBe(0o600);
    expect(loadSecurity('worker', { joinTokenFile: file }).joinToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await keys(['--token', '--out', out])).stderr).toMatch(/Expected no existing token file/);
  });

  it('rejects a bad name and unknown flags with what was expected', async () => {
    const bad = await keys(['--out', TMP, '--name', '../escape']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/FLEET_ERR_CONFIG: Expected --name of letters, digits/);
    const unknown = await keys(['--bits', '4096']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Expected keys flags --out, --name, --token and --force. Received: .*--bits/);
  });
});
