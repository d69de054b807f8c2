/** Axis ranges and "nice" tick positions (1, 2, 2.5, 5 × 10^k steps), in the spirit of matplotlib's defaults. */

/** A numeric interval with its tick positions and their labels. */
export interface Axis {
  readonly min: number;
  readonly max: number;
  readonly ticks: readonly number[];
  readonly labels: readonly string[];
}

const STEPS = [1, 2, 2.5, 5, 10];

/** The smallest nice step that fits `span` in at most `maxTicks - 1` intervals. */
function niceStep(span: number, maxTicks: number, integer: boolean): number {
  const raw = span / Math.max(1, maxTicks - 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = (STEPS.find((s) => s * power >= raw - 1e-12) ?? 10) * power;
  // Epochs are whole numbers: a tick at 1.5 would name an epoch that does not exist.
  return integer ? Math.max(1, Math.ceil(step)) : step;
}

/** Decimal places needed to print multiples of `step` exactly (2.5 needs 1, 0.25 needs 2). */
function decimals(step: number): number {
  for (let d = 0; d < 12; d++) if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-6) return d;
  return 12;
}

/**
 * An axis covering `values` with a 5% margin each side (matplotlib's axes.margins), ticks inside it.
 * A single distinct value gets a fixed half-width (0.5 for integers, so the only tick is that value;
 * else 5% of it or 0.05), so the point sits mid-axis instead of on a zero-width range.
 */
export function axisFor(values: readonly number[], opts: { integer?: boolean; maxTicks?: number } = {}): Axis {
  const integer = opts.integer ?? false;
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi - lo < 1e-12) {
    const half = integer ? 0.5 : Math.max(Math.abs(lo) * 0.05, 0.05);
    [lo, hi] = [lo - half, hi + half];
  } else {
    const pad = (hi - lo) * 0.05;
    [lo, hi] = [lo - pad, hi + pad];
  }
  const step = niceStep(hi - lo, opts.maxTicks ?? 7, integer);
  const d = decimals(step);
  const ticks: number[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + 1e-9 * step; i++) ticks.push(i * step);
  // toFixed(-0) prints "-0": add 0 to turn -0 into 0.
  return { min: lo, max: hi, ticks, labels: ticks.map((t) => (t + 0).toFixed(d).replace(/^-(0\.?0*)$/, '$1')) };
}
