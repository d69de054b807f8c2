/**
 * Loads a Keras History saved as JSON (what `tensorfleet local --out DIR` writes to DIR/history.json):
 *   { "epoch": [0, 1, 2], "history": { "loss": [...], "accuracy": [...], "val_loss": [...], ... } }
 * Values may be null where training produced NaN/Inf (JSON.stringify writes those as null).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';

/** A validated history: x positions per epoch, and each metric's per-epoch values (null = not finite). */
export interface PlotHistory {
  readonly epoch: readonly number[];
  readonly history: Readonly<Record<string, readonly (number | null)[]>>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks the shape of parsed history JSON; `file` only names the source in errors. Without `epoch`,
 * x positions are 0, 1, 2, … like plotting a Keras history list; with it, no series may be longer.
 */
export function parseHistory(value: unknown, file: string): PlotHistory {
  if (!isRecord(value))
    throw fleetError(
      'PLOT_HISTORY_NOT_OBJECT',
      { file, example: '{"epoch": [...], "history": {"loss": [...]}}', received: value },
      { file },
    );
  const { history } = value;
  if (!isRecord(history)) throw fleetError('PLOT_HISTORY_NO_HISTORY', { file, received: history }, { file });
  const series: Record<string, (number | null)[]> = {};
  for (const [key, values] of Object.entries(history)) {
    if (!Array.isArray(values) || !values.every((v) => v === null || (typeof v === 'number' && Number.isFinite(v)))) {
      throw fleetError('PLOT_HISTORY_NOT_NUMBERS', { file, key, received: values }, { file });
    }
    series[key] = values as (number | null)[];
  }
  const longest = Math.max(0, ...Object.values(series).map((s) => s.length));
  let epoch: number[];
  if (value.epoch === undefined) {
    epoch = Array.from({ length: longest }, (_, i) => i);
  } else {
    const e = value.epoch;
    if (!Array.isArray(e) || !e.every((v) => typeof v === 'number' && Number.isFinite(v)))
      throw fleetError('PLOT_HISTORY_BAD_EPOCH', { file, received: e }, { file });
    epoch = e as number[];
    for (const [key, s] of Object.entries(series)) {
      if (s.length > epoch.length)
        throw fleetError(
          'PLOT_HISTORY_TOO_LONG',
          { file, key, epochs: epoch.length, received: `${s.length} values` },
          { file },
        );
    }
  }
  return { epoch, history: series };
}

/** Reads `<target>` or, for a run directory, `<target>/history.json`; throws FLEET_ERR_DATA naming the file. */
export function loadHistory(target: string): PlotHistory {
  let file = target;
  try {
    if (statSync(target).isDirectory()) file = path.join(target, 'history.json');
  } catch {
    throw fleetError('PLOT_HISTORY_NOT_FOUND', { target }, { file: target });
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw fleetError('PLOT_HISTORY_UNREADABLE', { file, reason: why }, { file });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // V8 quotes the start of the text: keep binary input (a PNG passed by mistake) out of the terminal.
    const why = (err as Error).message.replace(/[^\x20-\x7e]/g, '?').slice(0, 160);
    throw fleetError('PLOT_HISTORY_BAD_JSON', { file, reason: why }, { file });
  }
  return parseHistory(parsed, file);
}
