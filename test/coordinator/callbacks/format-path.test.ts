/** formatPath: Keras checkpoint templates with Python format specs, and typed errors for the rest. */
import { describe, expect, it } from 'vitest';
import { formatPath } from '../../../coordinator/callbacks/format-path.ts';
import { isFleetError } from '../../../shared/runtime/errors.ts';

function failure(template: string, values: Record<string, number>): Error {
  try {
    formatPath(template, values);
  } catch (err) {
    if (isFleetError(err, 'FLEET_ERR_CONFIG')) return err;
    throw err;
  }
  throw new Error(`Expected formatPath(${template}) to throw`);
}

describe('formatPath', () => {
  it.each([
    ['ckpt-{epoch:02d}-{val_loss:.2f}.h5', 'ckpt-03-0.12.h5'],
    ['model-{epoch}.keras', 'model-3.keras'],
    ['{epoch:d}', '3'],
    ['{epoch:4d}|{epoch:04d}', '   3|0003'],
    ['{loss:.3f}', '1234.568'],
    ['{loss:10.1f}|{loss:010.1f}', '    1234.6|00001234.6'],
    ['{val_loss:f}', '0.123456'],
    ['{tiny:.3e}', '1.235e-04'],
    ['{loss:.2e}', '1.23e+03'],
    ['{tiny:e}', '1.234560e-04'],
    ['{val_loss}', '0.123456'],
    ['no-fields.h5', 'no-fields.h5'],
  ])('%s -> %s', (template, want) => {
    expect(formatPath(template, { epoch: 3, val_loss: 0.123456, loss: 1234.5678, tiny: 0.000123456 })).toBe(want);
  });

  it("truncates a non-integer value under d, as Python's int() would", () => {
    expect(formatPath('{epoch:03d}', { epoch: 7.9 })).toBe('007');
  });

  it('names the missing key and the keys it had', () => {
    expect(failure('ckpt-{val_acc:.2f}.h5', { epoch: 1, val_loss: 0.5 }).message).toBe(
      'Expected "val_acc" in the logs to fill the checkpoint path ckpt-{val_acc:.2f}.h5. ' +
        'Received: keys epoch, val_loss',
    );
  });

  it('refuses a format spec it cannot honour', () => {
    const message = 'Expected a format spec like 02d, .2f or .3e in ckpt-{epoch:x}.h5. Received: x';
    expect(failure('ckpt-{epoch:x}.h5', { epoch: 1 }).message).toBe(message);
    expect(failure('{loss:.2%}', { loss: 1 }).message).toMatch(/Received: \.2%$/);
  });
});
