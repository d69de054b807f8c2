/** Monitor: Keras's mode inference from the monitored name, minDelta improvements, and reading logs. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Monitor } from '../../../coordinator/callbacks/monitor.ts';

afterEach(() => vi.restoreAllMocks());

describe('Monitor', () => {
  it.each([
    ['val_loss', 'min'],
    ['loss', 'min'],
    ['mae', 'min'],
    ['accuracy', 'max'],
    ['val_acc', 'max'],
    ['val_auc', 'max'],
    ['precision', 'max'],
    ['val_recall', 'max'],
  ] as const)('auto mode watches %s for its %s', (name, direction) => {
    const m = new Monitor(name);
    expect(m.direction).toBe(direction);
    expect(m.best).toBe(direction === 'min' ? Infinity : -Infinity);
  });

  it('an explicit mode wins over the name', () => {
    expect(new Monitor('val_accuracy', 'min').direction).toBe('min');
    expect(new Monitor('val_loss', 'max').direction).toBe('max');
  });

  it('improves only by more than minDelta, in the monitored direction; a negative minDelta counts as positive', () => {
    for (const minDelta of [0.1, -0.1]) {
      const min = new Monitor('val_loss', 'auto', minDelta);
      expect(min.improves(1e9)).toBe(true); // anything beats the initial +Infinity
      min.best = 1;
      expect(min.improves(0.95)).toBe(false);
      expect(min.improves(0.9)).toBe(false); // exactly minDelta is not more than it
      expect(min.improves(0.85)).toBe(true);
      expect(min.improves(1.5)).toBe(false);
      const max = new Monitor('val_accuracy', 'auto', minDelta);
      max.best = 0.5;
      expect(max.improves(0.55)).toBe(false);
      expect(max.improves(0.65)).toBe(true);
      expect(max.improves(0.1)).toBe(false);
    }
    const strict = new Monitor('loss');
    strict.best = 1;
    expect(strict.improves(1)).toBe(false); // equal is no improvement
    expect(strict.improves(0.999999)).toBe(true);
  });

  it('reads the monitored value quietly, and warns with the available keys when it is absent', () => {
    const writes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    const m = new Monitor('val_loss');
    expect(m.read({ loss: 1, val_loss: 0.5 }, 'EarlyStopping')).toBe(0.5);
    expect(writes).toEqual([]);
    expect(m.read({ loss: 1, accuracy: 0.5 }, 'EarlyStopping')).toBeUndefined();
    const warning =
      '[tensorfleet] warning: EarlyStopping: monitored "val_loss" is not available; ' + 'available: loss, accuracy\n';
    expect(writes).toEqual([warning]);
  });
});
