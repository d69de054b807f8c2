import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseConfig } from '../../../shared/runtime/config.ts';
import { FleetError } from '../../../shared/runtime/errors.ts';

function fails(fn: () => unknown): FleetError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FleetError) return err;
    throw err;
  }
  throw new Error('expected a FleetError');
}

describe('command-line config', () => {
  it('parses, applies documented defaults and freezes', () => {
    const c = parseConfig('coordinator', ['--workers', '2', 'job.ts']);
    expect(c).toMatchObject({
      workers: 2,
      bind: 'tcp://127.0.0.1:5555',
      'metrics-host': '127.0.0.1',
      backend: 'auto',
      'metrics-port': 9400,
      job: 'job.ts',
    });
    expect(parseConfig('worker', ['--connect', 'tcp://h:5555'])['metrics-host']).toBe('127.0.0.1');
    expect(Object.isFrozen(c)).toBe(true);
    // The API reads the same DEFAULTS (api/cluster.ts), so both agree.
    expect([c['heartbeat-interval'], c['heartbeat-timeout'], c['join-timeout']]).toEqual([
      DEFAULTS.heartbeatIntervalSeconds,
      DEFAULTS.heartbeatTimeoutSeconds,
      DEFAULTS.joinTimeoutSeconds,
    ]);
    expect(DEFAULTS).toEqual({ heartbeatIntervalSeconds: 1, heartbeatTimeoutSeconds: 10, joinTimeoutSeconds: 120 });
    expect(parseConfig('worker', ['--connect', 'tcp://h:5555']).connect).toBe('tcp://h:5555');
  });

  it('refuses a non-loopback --bind without CURVE unless --insecure', () => {
    const bind = (...flags: string[]) => parseConfig('coordinator', ['--workers', '2', ...flags, 'job.ts']);
    expect(fails(() => bind('--bind', 'tcp://0.0.0.0:5555')).message).toBe(
      'Expected --curve-secret-key FILE (see `tensorfleet keys`, docs/security.md) or --insecure ' +
        'to bind a non-loopback address. Received: --bind tcp://0.0.0.0:5555 without CURVE',
    );
    expect(fails(() => bind('--bind', 'tcp://10.1.2.3:1')).code).toBe('FLEET_ERR_CONFIG');
    expect(fails(() => bind('--bind', 'tcp://*:5555')).code).toBe('FLEET_ERR_CONFIG');
    expect(bind('--bind', 'tcp://0.0.0.0:5555', '--insecure').insecure).toBe(true);
    expect(bind('--bind', 'tcp://0.0.0.0:5555', '--curve-secret-key', 'k.key').bind).toBe('tcp://0.0.0.0:5555');
    for (const ok of ['tcp://127.0.0.1:5555', 'tcp://localhost:1', 'tcp://[::1]:5555', 'ipc:///tmp/x', 'inproc://x'])
      expect(bind('--bind', ok).bind).toBe(ok);
  });

  it('rejects unknown flags, bad values and missing arguments with FLEET_ERR_CONFIG', () => {
    expect(fails(() => parseConfig('coordinator', ['--workers', '2', '--nope', 'job.ts'])).message).toMatch(
      /Expected flags .*Received: .*--nope/,
    );
    expect(fails(() => parseConfig('coordinator', ['--workers', 'two', 'job.ts'])).message).toMatch(
      /--workers.*Received: "two"/,
    );
    expect(fails(() => parseConfig('coordinator', ['--workers', '2', '--backend', 'tpu', 'job.ts'])).message).toMatch(
      /--backend.*Received: "tpu"/,
    );
    expect(fails(() => parseConfig('coordinator', ['--workers', '2'])).message).toMatch(/<job>/);
    expect(fails(() => parseConfig('worker', ['--connect', 'localhost:5555'])).message).toMatch(
      /--connect.*Received: "localhost:5555"/,
    );
    expect(fails(() => parseConfig('worker', [])).code).toBe('FLEET_ERR_CONFIG');
  });
});
