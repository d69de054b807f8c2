/**
 * `tensorfleet plot`: the Keras guide's accuracy/loss figure from a saved History.
 *   tensorfleet plot runs/mnist -o history.png          # reads runs/mnist/history.json
 *   tensorfleet plot runs/mnist/history.json -o history.svg
 *   tensorfleet plot runs/mnist --format svg            # writes runs/mnist/history.svg
 */
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';
import { historySvg, loadHistory, svgToPng } from './index.ts';

const USAGE = 'usage: tensorfleet plot <history.json | run dir> [-o history.png|history.svg] [--format png|svg]';
const FORMATS = ['png', 'svg'] as const;
type Format = (typeof FORMATS)[number];

interface PlotArgs {
  readonly input: string;
  readonly output: string;
  readonly format: Format;
}

function isFormat(v: string): v is Format {
  return (FORMATS as readonly string[]).includes(v);
}

/** Flags to a frozen PlotArgs; every problem is a FLEET_ERR_CONFIG that says what was expected. */
function parse(argv: readonly string[]): PlotArgs | 'help' {
  let values: { output?: string; format?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        format: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw fleetError('PLOT_FLAGS', { reason: (err as Error).message, usage: USAGE });
  }
  if (values.help) return 'help';
  const [input, ...extra] = positionals;
  if (input === undefined || extra.length > 0) throw fleetError('PLOT_INPUT', { positionals, usage: USAGE });
  if (values.format !== undefined && !isFormat(values.format))
    throw fleetError('PLOT_FORMAT', { format: values.format });
  const ext = values.output === undefined ? undefined : path.extname(values.output).slice(1).toLowerCase();
  const fromExt = ext !== undefined && isFormat(ext) ? ext : undefined;
  if (values.output !== undefined && values.format === undefined && fromExt === undefined) {
    throw fleetError('PLOT_OUTPUT_EXTENSION', { output: values.output });
  }
  if (values.format !== undefined && fromExt !== undefined && values.format !== fromExt) {
    throw fleetError('PLOT_FORMAT_MISMATCH', { ext: fromExt, format: values.format });
  }
  const format: Format = (values.format as Format | undefined) ?? fromExt ?? 'png';
  // Default output: beside the history, so `plot RUN_DIR` leaves RUN_DIR/history.png.
  const inputDir = statSync(input, { throwIfNoEntry: false })?.isDirectory() ? input : path.dirname(input);
  return Object.freeze({ input, output: values.output ?? path.join(inputDir, `history.${format}`), format });
}

/** Runs `tensorfleet plot <argv>`; returns the exit code (FleetErrors reach main(), which prints them). */
export async function run(argv: readonly string[]): Promise<number> {
  const args = parse(argv);
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const svg = historySvg(loadHistory(args.input));
  const bytes = args.format === 'svg' ? Buffer.from(svg) : svgToPng(svg);
  mkdirSync(path.dirname(path.resolve(args.output)), { recursive: true });
  // Write then rename, so an image viewer refreshing during training never sees half a file.
  const tmp = `${args.output}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, args.output);
  process.stdout.write(`wrote ${args.output}\n`);
  return 0;
}
