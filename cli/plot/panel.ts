/**
 * One matplotlib-like line chart as an SVG fragment: framed axes, outward ticks with labels, a title,
 * axis labels, one polyline (with markers) per series, and a legend in the least crowded corner.
 */
import { axisFor, type Axis } from './ticks.ts';

/** A line to draw; null y values break the line (NaN/Inf epochs), as matplotlib does. */
export interface Series {
  readonly label: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number | null])[];
}

/** What one panel shows; `emptyText` replaces the lines when no series has a finite value. */
export interface PanelSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly emptyText: string;
}

/** Where a panel goes in the figure, in SVG user units (px). */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

// Sizes in px at 100 dpi, from matplotlib's defaults in points (1 pt = 100/72 px).
const FONT = 14; // tick and axis labels: 10 pt
const TITLE_FONT = 17; // axes title: 12 pt
const TICK = 5; // outward tick length: 3.5 pt
const LINE = 2; // line width: 1.5 pt
const MARKER_R = 3.5;
/** Above this many points markers would merge into a thick line, so only isolated points keep one. */
const MAX_MARKERS = 60;
// Axes inset inside the panel box: room for tick labels and axis labels.
const INSET = { left: 78, right: 18, top: 40, bottom: 58 };

/** Escapes text for SVG content and attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const f = (n: number): string => n.toFixed(2);

function text(x: number, y: number, body: string, attrs = ''): string {
  return `<text x="${f(x)}" y="${f(y)}" font-size="${FONT}" ${attrs}>${esc(body)}</text>`;
}

/** Splits a series at null values into runs of pixel points. */
function runs(points: Series['points'], px: (x: number) => number, py: (y: number) => number): [number, number][][] {
  const out: [number, number][][] = [[]];
  for (const [x, y] of points) {
    if (y === null) out.push([]);
    else (out[out.length - 1] as [number, number][]).push([px(x), py(y)]);
  }
  return out.filter((r) => r.length > 0);
}

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** matplotlib's loc="best", reduced to four corners: the one covering the fewest line samples. */
function bestCorner(rects: readonly Rect[], lines: readonly [number, number][][]): Rect {
  const samples: [number, number][] = [];
  for (const run of lines) {
    run.forEach((p, i) => {
      samples.push(p);
      const next = run[i + 1];
      if (next)
        for (let t = 0.2; t < 1; t += 0.2) samples.push([p[0] + (next[0] - p[0]) * t, p[1] + (next[1] - p[1]) * t]);
    });
  }
  const covered = (r: Rect) =>
    samples.filter(([x, y]) => x >= r.x && x <= r.x + r.w && y >= r.y && y <= r.y + r.h).length;
  return rects.reduce((best, r) => (covered(r) < covered(best) ? r : best));
}

function legend(series: readonly Series[], area: Rect, lines: readonly [number, number][][]): string {
  const rowH = FONT + 6;
  // No font metrics here: 0.6 em per character is a safe over-estimate for DejaVu Sans / Arial.
  const w = 44 + Math.max(...series.map((s) => s.label.length)) * FONT * 0.6;
  const h = series.length * rowH + 8;
  const m = 8;
  const corners: Rect[] = [
    { x: area.x + area.w - w - m, y: area.y + m, w, h },
    { x: area.x + m, y: area.y + m, w, h },
    { x: area.x + m, y: area.y + area.h - h - m, w, h },
    { x: area.x + area.w - w - m, y: area.y + area.h - h - m, w, h },
  ];
  const r = bestCorner(corners, lines);
  const rows = series.map((s, i) => {
    const cy = r.y + 4 + rowH * i + rowH / 2;
    return (
      `<line x1="${f(r.x + 8)}" y1="${f(cy)}" x2="${f(r.x + 34)}" y2="${f(cy)}" stroke="${s.color}" stroke-width="${LINE}"/>` +
      (s.points.length > MAX_MARKERS
        ? ''
        : `<circle cx="${f(r.x + 21)}" cy="${f(cy)}" r="${MARKER_R}" fill="${s.color}"/>`) +
      text(r.x + 40, cy + FONT * 0.35, s.label)
    );
  });
  const frame =
    `<rect x="${f(r.x)}" y="${f(r.y)}" width="${f(w)}" height="${f(h)}" ` +
    `rx="3" fill="white" fill-opacity="0.8" stroke="#cccccc"/>`;
  return `<g class="legend">${frame}${rows.join('')}</g>`;
}

function xTicks(axis: Axis, px: (x: number) => number, bottom: number): string {
  return axis.ticks
    .map(
      (t, i) =>
        `<line x1="${f(px(t))}" y1="${f(bottom)}" x2="${f(px(t))}" y2="${f(bottom + TICK)}" stroke="black"/>` +
        text(px(t), bottom + TICK + FONT + 2, axis.labels[i] ?? '', 'text-anchor="middle"'),
    )
    .join('');
}

function yTicks(axis: Axis, py: (y: number) => number, left: number): string {
  return axis.ticks
    .map(
      (t, i) =>
        `<line x1="${f(left - TICK)}" y1="${f(py(t))}" x2="${f(left)}" y2="${f(py(t))}" stroke="black"/>` +
        text(left - TICK - 3, py(t) + FONT * 0.35, axis.labels[i] ?? '', 'text-anchor="end"'),
    )
    .join('');
}

/** The SVG fragment (a `<g>`) for one panel inside `box`. */
export function renderPanel(spec: PanelSpec, box: Box): string {
  const area: Rect = {
    x: box.x + INSET.left,
    y: box.y + INSET.top,
    w: box.width - INSET.left - INSET.right,
    h: box.height - INSET.top - INSET.bottom,
  };
  const bottom = area.y + area.h;
  const cx = area.x + area.w / 2;
  const parts = [
    `<text x="${f(cx)}" y="${f(area.y - 12)}" font-size="${TITLE_FONT}" text-anchor="middle" class="title">${esc(spec.title)}</text>`,
    text(cx, bottom + TICK + FONT * 2 + 12, spec.xLabel, 'text-anchor="middle"'),
    text(
      box.x + 18,
      area.y + area.h / 2,
      spec.yLabel,
      `text-anchor="middle" transform="rotate(-90 ${f(box.x + 18)} ${f(area.y + area.h / 2)})"`,
    ),
  ];
  const drawn = spec.series.filter((s) => s.points.some(([, y]) => y !== null));
  if (drawn.length === 0) {
    parts.push(text(cx, area.y + area.h / 2, spec.emptyText, 'text-anchor="middle" fill="#555555" class="empty"'));
  } else {
    const xs = drawn.flatMap((s) => s.points.map(([x]) => x));
    const ys = drawn.flatMap((s) => s.points.flatMap(([, y]) => (y === null ? [] : [y])));
    const xa = axisFor(xs, { integer: xs.every(Number.isInteger) });
    const ya = axisFor(ys);
    const px = (x: number) => area.x + ((x - xa.min) / (xa.max - xa.min)) * area.w;
    const py = (y: number) => bottom - ((y - ya.min) / (ya.max - ya.min)) * area.h;
    parts.push(xTicks(xa, px, bottom), yTicks(ya, py, area.x));
    const allRuns: [number, number][][] = [];
    for (const s of drawn) {
      const rs = runs(s.points, px, py);
      allRuns.push(...rs);
      const many = s.points.length > MAX_MARKERS;
      parts.push(
        `<g class="series" stroke="${s.color}" fill="${s.color}">` +
          rs
            .map(
              (r) =>
                `<polyline points="${r.map(([x, y]) => `${f(x)},${f(y)}`).join(' ')}" ` +
                `fill="none" stroke-width="${LINE}" stroke-linejoin="round"/>` +
                (many && r.length > 1
                  ? ''
                  : r.map(([x, y]) => `<circle cx="${f(x)}" cy="${f(y)}" r="${MARKER_R}" stroke="none"/>`).join('')),
            )
            .join('') +
          '</g>',
      );
    }
    parts.push(legend(drawn, area, allRuns));
  }
  // The frame goes last so lines at the edge do not cover it, as matplotlib draws spines above lines.
  parts.push(
    `<rect x="${f(area.x)}" y="${f(area.y)}" width="${f(area.w)}" height="${f(area.h)}" fill="none" stroke="black" stroke-width="1"/>`,
  );
  return `<g class="panel">${parts.join('')}</g>`;
}
