import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/runtime/config.ts';
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
    expect(c).toMatchObject({ workers: 2, bind: 'tcp://0.0.0.0:5555', backend: 'auto', 'metrics-port': 9400, job: 'job.ts' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(parseConfig('worker', ['--connect', 'tcp://h:5555']).connect).toBe('tcp://h:5555');
  });

  it('rejects unknown flags, bad values and missing arguments with FLEET_ERR_CONFIG', () => {
    expect(fails(() => parseConfig('coordinator', ['--workers', '2', '--nope', 'job.ts'])).message).toMatch(/Expected flags .*Received: .*--nope/);
    expect(fails(() => parseConfig('coordinator', ['--workers', 'two', 'job.ts'])).message).toMatch(/--workers.*Received: "two"/);
    expect(fails(() => parseConfig('coordinator', ['--workers', '2', '--backend', 'tpu', 'job.ts'])).message).toMatch(/--backend.*Received: "tpu"/);
    expect(fails(() => parseConfig('coordinator', ['--workers', '2'])).message).toMatch(/<job>/);
    expect(fails(() => parseConfig('worker', ['--connect', 'localhost:5555'])).message).toMatch(/--connect.*Received: "localhost:5555"/);
    expect(fails(() => parseConfig('worker', [])).code).toBe('FLEET_ERR_CONFIG');
  });
});
