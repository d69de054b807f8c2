/**
 * Loads a Keras History saved as JSON (what `tensorfleet local --out DIR` writes to DIR/history.json):
 *   { "epoch": [0, 1, 2], "history": { "loss": [...], "accuracy": [...], "val_loss": [...], ... } }
 * Values may be null where training produced NaN/Inf (JSON.stringify writes those as null).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { FleetError, describe } from '../../shared/runtime/errors.ts';

/** A validated history: x positions per epoch, and each metric's per-epoch values (null = not finite). */
export interface PlotHistory {
  readonly epoch: readonly number[];
  readonly history: Readonly<Record<string, readonly (number | null)[]>>;
}

function bad(file: string, what: string, received: unknown): FleetError {
  return new FleetError('FLEET_ERR_DATA', `History ${file}: Expected ${what}. Received: ${describe(received)}`, { file });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks the shape of parsed history JSON; `file` only names the source in errors. Without `epoch`,
 * x positions are 0, 1, 2, … like plotting a Keras history list; with it, no series may be longer.
 */
export function parseHistory(value: unknown, file: string): PlotHistory {
  if (!isRecord(value)) throw bad(file, 'a JSON object like {"epoch": [...], "history": {"loss": [...]}}', value);
  const { history } = value;
  if (!isRecord(history)) throw bad(file, 'a "history" object mapping metric names to per-epoch arrays', history);
  const series: Record<string, (number | null)[]> = {};
  for (const [key, values] of Object.entries(history)) {
    if (!Array.isArray(values) || !values.every((v) => v === null || (typeof v === 'number' && Number.isFinite(v)))) {
      throw bad(file, `history.${key} to be an array of numbers (null where not finite)`, values);
    }
    series[key] = values as (number | null)[];
  }
  const longest = Math.max(0, ...Object.values(series).map((s) => s.length));
  let epoch: number[];
  if (value.epoch === undefined) {
    epoch = Array.from({ length: longest }, (_, i) => i);
  } else {
    const e = value.epoch;
    if (!Array.isArray(e) || !e.every((v) => typeof v === 'number' && Number.isFinite(v))) throw bad(file, '"epoch" to be an array of numbers', e);
    epoch = e as number[];
    for (const [key, s] of Object.entries(series)) {
      if (s.length > epoch.length) throw bad(file, `history.${key} to have at most one value per epoch (${epoch.length})`, `${s.length} values`);
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
    throw new FleetError('FLEET_ERR_DATA', `Expected a history.json file or a run directory holding one at ${target}. Received: no such file or directory`, { file: target });
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new FleetError('FLEET_ERR_DATA', `Expected a Keras history JSON file at ${file}. Received: ${why}`, { file });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // V8 quotes the start of the text: keep binary input (a PNG passed by mistake) out of the terminal.
    const why = (err as Error).message.replace(/[^\x20-\x7e]/g, '?').slice(0, 160);
    throw new FleetError('FLEET_ERR_DATA', `History ${file}: Expected valid JSON. Received: ${why}`, { file });
  }
  return parseHistory(parsed, file);
}
