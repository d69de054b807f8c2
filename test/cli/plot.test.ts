/** `tensorfleet plot` as a real child process: a 3:1 two-panel PNG with lines in both halves, SVG, bad input. */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/tensorfleet.mjs');
const TMP = mkdtempSync(path.join(os.tmpdir(), 'tf-plot-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const HISTORY = {
  epoch: [0, 1, 2, 3, 4],
  history: {
    loss: [0.9, 0.5, 0.35, 0.28, 0.25],
    accuracy: [0.7, 0.84, 0.89, 0.91, 0.92],
    val_loss: [0.6, 0.45, 0.4, 0.38, 0.39],
    val_accuracy: [0.8, 0.86, 0.88, 0.885, 0.884],
  },
};

function cli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'plot', ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

function writeJson(name: string, value: unknown): string {
  const file = path.join(TMP, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

/** Decodes an 8-bit RGB/RGBA non-interlaced PNG (what resvg writes) to RGBA pixels. */
function decodePng(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  let at = 8;
  let width = 0,
    height = 0,
    channels = 0;
  const idat: Buffer[] = [];
  while (at < png.byteLength) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect({ depth: data[8], interlace: data[12] }).toEqual({ depth: 8, interlace: 0 });
      channels = ({ 2: 3, 6: 4 } as Record<number, number>)[data[9] as number] ?? 0;
      expect(channels, `colour type ${data[9]}`).toBeGreaterThan(0);
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x] as number;
      const a = x >= channels ? (px[y * stride + x - channels] as number) : 0;
      const b = y > 0 ? (px[(y - 1) * stride + x] as number) : 0;
      const c = x >= channels && y > 0 ? (px[(y - 1) * stride + x - channels] as number) : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][filter as number];
      if (pred === undefined) throw new Error(`Expected PNG filter 0-4. Received: ${filter}`);
      px[y * stride + x] = (v + pred) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let k = 0; k < 3; k++) rgba[i * 4 + k] = px[i * channels + k] as number;
    rgba[i * 4 + 3] = channels === 4 ? (px[i * channels + 3] as number) : 255;
  }
  return { width, height, rgba };
}

/** Pixels per half of the image: not white, tab:blue-ish (training), tab:orange-ish (validation). */
function halves(img: ReturnType<typeof decodePng>) {
  const counts = [0, 1].map(() => ({ ink: 0, blue: 0, orange: 0 }));
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      const [r, g, b] = [img.rgba[i] as number, img.rgba[i + 1] as number, img.rgba[i + 2] as number];
      const c = counts[x < img.width / 2 ? 0 : 1] as { ink: number; blue: number; orange: number };
      if (r < 200 || g < 200 || b < 200) c.ink++;
      if (b > 140 && r < 90 && g > 80 && g < 160) c.blue++;
      if (r > 220 && g > 100 && g < 160 && b < 60) c.orange++;
    }
  }
  return counts;
}

describe('tensorfleet plot', () => {
  it('writes a 1200x400 PNG with training and validation lines in both panels', async () => {
    const input = writeJson('run/history.json', HISTORY);
    const out = path.join(TMP, 'h.png');
    const r = await cli([input, '-o', out]);
    expect(r, r.out).toMatchObject({ code: 0 });
    expect(r.out).toContain(`wrote ${out}`);
    const img = decodePng(readFileSync(out));
    expect([img.width, img.height]).toEqual([1200, 400]);
    for (const half of halves(img)) {
      expect(half.ink).toBeGreaterThan(1500);
      expect(half.blue).toBeGreaterThan(150);
      expect(half.orange).toBeGreaterThan(150);
    }
  });

  it('writes SVG for -o x.svg, and for a run directory with --format svg', async () => {
    const out = path.join(TMP, 'h.svg');
    expect((await cli([writeJson('svg/history.json', HISTORY), '-o', out])).code).toBe(0);
    const svg = readFileSync(out, 'utf8');
    expect(svg).toMatch(/^<svg [^>]*width="1200" height="400"/);
    for (const text of [
      'Model Accuracy',
      'Model Loss',
      'Training Accuracy',
      'Validation Accuracy',
      'Training Loss',
      'Validation Loss',
      'Epoch',
    ])
      expect(svg).toContain(`>${text}</text>`);
    expect(svg.match(/<polyline /g)).toHaveLength(4);

    const r = await cli([path.join(TMP, 'svg'), '--format', 'svg']);
    expect(r.code, r.out).toBe(0);
    expect(readFileSync(path.join(TMP, 'svg/history.svg'), 'utf8')).toBe(svg);
  });

  it('draws what exists: loss only leaves the accuracy panel saying so', async () => {
    const input = writeJson('loss-only.json', { epoch: [0, 1, 2], history: { loss: [1, 0.6, null] } });
    const svgOut = path.join(TMP, 'loss-only.svg');
    const pngOut = path.join(TMP, 'loss-only.png');
    expect((await cli([input, '-o', svgOut])).code).toBe(0);
    const svg = readFileSync(svgOut, 'utf8');
    expect(svg).toContain('>no accuracy recorded</text>');
    expect(svg).not.toContain('Validation Loss');
    expect(svg.match(/<polyline /g)).toHaveLength(1);
    expect((await cli([input, '-o', pngOut])).code).toBe(0);
    const [left, right] = halves(decodePng(readFileSync(pngOut)));
    expect(left?.blue).toBe(0);
    expect(right?.blue).toBeGreaterThan(100);
  });

  it('rejects a missing file, invalid JSON, a wrong shape and bad flags with exit code 1', async () => {
    const missing = path.join(TMP, 'nope/history.json');
    const cases: [string[], RegExp][] = [
      [
        [missing, '-o', path.join(TMP, 'x.png')],
        /FLEET_ERR_DATA: Expected a history\.json file or a run directory holding one at .*nope\/history\.json\. Received: no such file/,
      ],
      [
        [writeJson('bad.json', '{"history": {"loss": [1, 2'), '-o', path.join(TMP, 'x.png')],
        /FLEET_ERR_DATA: History .*bad\.json: Expected valid JSON\. Received: /,
      ],
      [
        [writeJson('shape.json', { history: { loss: 'low' } }), '-o', path.join(TMP, 'x.png')],
        /FLEET_ERR_DATA: History .*shape\.json: Expected history\.loss to be an array of numbers .*Received: "low"/,
      ],
      [
        [writeJson('ok.json', HISTORY), '-o', path.join(TMP, 'x.jpg')],
        /FLEET_ERR_CONFIG: Expected an output ending in \.png or \.svg, or --format\. Received: ".*x\.jpg"/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await cli(args);
      expect(r.code, r.out).toBe(1);
      expect(r.out).toMatch(pattern);
    }
  });
});
