/**
 * The Keras guide's training-history figure: plt.figure(figsize=(12, 4)) with "Model Accuracy" on the
 * left and "Model Loss" on the right, training vs validation, as SVG text or a PNG rendered by resvg.
 */
import { Resvg } from '@resvg/resvg-js';
import type { PlotHistory } from './history.ts';
import { renderPanel, type PanelSpec, type Series } from './panel.ts';

/** Figure size in px: 12 x 4 inches at matplotlib's default 100 dpi. */
export const FIGURE = Object.freeze({ width: 1200, height: 400 });

// matplotlib's first two default colours (tab:blue, tab:orange), so the figure looks like the guide's.
const TRAIN_COLOR = '#1f77b4';
const VAL_COLOR = '#ff7f0e';
const FONT_FAMILY = 'DejaVu Sans, Arial, Helvetica, sans-serif';

/** The first key present: tfjs-style histories call accuracy "acc", Keras 3 "accuracy". */
function pick(h: PlotHistory, keys: readonly string[]): readonly (number | null)[] | undefined {
  for (const k of keys) if (h.history[k]) return h.history[k];
  return undefined;
}

function panel(h: PlotHistory, metric: 'accuracy' | 'loss', aliases: readonly string[]): PanelSpec {
  const name = metric === 'loss' ? 'Loss' : 'Accuracy';
  const series: Series[] = [];
  const add = (label: string, color: string, values: readonly (number | null)[] | undefined) => {
    if (values) series.push({ label, color, points: values.map((y, i) => [h.epoch[i] ?? i, y] as const) });
  };
  add(`Training ${name}`, TRAIN_COLOR, pick(h, aliases));
  add(
    `Validation ${name}`,
    VAL_COLOR,
    pick(
      h,
      aliases.map((k) => `val_${k}`),
    ),
  );
  return { title: `Model ${name}`, xLabel: 'Epoch', yLabel: name, series, emptyText: `no ${metric} recorded` };
}

/** The two-panel history figure as a standalone SVG document of FIGURE's size. */
export function historySvg(h: PlotHistory): string {
  const { width, height } = FIGURE;
  const half = width / 2;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    renderPanel(panel(h, 'accuracy', ['accuracy', 'acc']), { x: 0, y: 0, width: half, height }),
    renderPanel(panel(h, 'loss', ['loss']), { x: half, y: 0, width: half, height }),
    '</svg>',
  ].join('\n');
}

/**
 * Rasterizes an SVG to PNG bytes at its own size. System fonts are loaded for the labels; on a machine
 * with none, resvg leaves text out but still draws the axes and lines.
 */
export function svgToPng(svg: string): Buffer {
  return new Resvg(svg, {
    font: { loadSystemFonts: true },
    fitTo: { mode: 'original' },
    background: 'white',
    logLevel: 'off',
  })
    .render()
    .asPng();
}
