/** Event files from SummaryWriter: TF's record framing, and real Python tensorboard reads the scalars back. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetError } from '../../shared/runtime/errors.ts';
import {
  FILE_VERSION,
  SummaryWriter,
  decodeRecords,
  encodeRecord,
  maskedCrc32c,
  readEventFile,
} from '../../coordinator/tensorboard/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
// The project's venv, made by .ci/steps/20-python.sh; the test fails (not skips) without it.
const PYTHON = path.join(ROOT, '.venv/bin/python');
const READ_TB = path.join(ROOT, 'test/python/read_tb.py');

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-tb-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function onlyEventFile(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.includes('tfevents'));
  expect(files).toHaveLength(1);
  return path.join(dir, files[0] as string);
}

describe('record framing', () => {
  it('masks CRC32C like TensorFlow', () => {
    // crc32c("123456789") = 0xE3069283 is the standard check value; rotr15 + 0xa282ead8 gives 0xc78ab0e5.
    expect(maskedCrc32c(Buffer.from('123456789'))).toBe(0xc78ab0e5);
  });

  it('frames length, length CRC, data, data CRC and detects corruption', () => {
    const data = Buffer.from('hello event');
    const rec = encodeRecord(data);
    expect(rec.byteLength).toBe(8 + 4 + data.byteLength + 4);
    expect(rec.readBigUInt64LE(0)).toBe(BigInt(data.byteLength));
    expect(rec.readUInt32LE(8)).toBe(maskedCrc32c(rec.subarray(0, 8)));
    expect(rec.subarray(12, 12 + data.byteLength).equals(data)).toBe(true);
    expect(rec.readUInt32LE(12 + data.byteLength)).toBe(maskedCrc32c(data));
    const two = Buffer.concat([rec, encodeRecord(Buffer.from('x'))]);
    expect(decodeRecords(two).map((r) => Buffer.from(r).toString())).toEqual(['hello event', 'x']);

    const flipped = Buffer.from(rec);
    flipped.writeUInt8((flipped[14] as number) ^ 1, 14);
    expect(() => decodeRecords(flipped, 'f')).toThrow(/Expected a matching data CRC at byte 0 of f/);
    expect(() => decodeRecords(rec.subarray(0, rec.byteLength - 1), 'f')).toThrow(
      /Expected 11 data bytes and a CRC at byte 0 of f\. Received: "14 bytes left"/,
    );
  });
});

describe('SummaryWriter', () => {
  it('names the file like TF and writes brain.Event:2 first, then the scalars', () => {
    const dir = path.join(tempDir(), 'nested/train');
    const w = new SummaryWriter(dir, { now: () => 1_700_000_000_250 });
    w.scalar('epoch_loss', 0.5, 0);
    w.scalar('epoch_loss', 0.25, 1);
    w.close();
    w.close();
    expect(path.basename(w.path)).toBe(`events.out.tfevents.1700000000.${os.hostname()}.${process.pid}.v2`);
    expect(onlyEventFile(dir)).toBe(w.path);
    const events = readEventFile(w.path);
    expect(events[0]).toEqual({ wallTime: 1_700_000_000.25, step: 0, fileVersion: FILE_VERSION });
    expect(events.slice(1)).toEqual([
      { wallTime: 1_700_000_000.25, step: 0, summary: { value: [{ tag: 'epoch_loss', simpleValue: 0.5 }] } },
      { wallTime: 1_700_000_000.25, step: 1, summary: { value: [{ tag: 'epoch_loss', simpleValue: 0.25 }] } },
    ]);
  });

  it('queues records until flush or a full queue, and refuses writes after close', () => {
    const dir = tempDir();
    const w = new SummaryWriter(dir, { maxQueue: 3 });
    const header = statSync(w.path).size;
    w.scalar('a', 1, 0);
    w.scalar('a', 2, 1);
    expect(statSync(w.path).size).toBe(header);
    w.flush();
    expect(readEventFile(w.path)).toHaveLength(3);
    w.scalar('a', 3, 2);
    w.scalar('a', 4, 3);
    w.scalar('a', 5, 4);
    expect(readEventFile(w.path)).toHaveLength(6);
    w.close();
    expect(() => w.scalar('a', 6, 5)).toThrow(FleetError);
    expect(() => w.scalar('a', 6, 5)).toThrow(/Expected an open SummaryWriter/);
    const other = new SummaryWriter(dir);
    expect(() => other.scalar('a', 1, 0.5)).toThrow(/Expected an integer step for scalar "a"\. Received: 0\.5/);
    expect(() => other.scalar('', 1, 0)).toThrow(/Expected a non-empty scalar tag/);
    other.close();
  });

  it('gives a second writer in the same second its own file', () => {
    const dir = tempDir();
    const now = () => 1_700_000_000_000;
    const a = new SummaryWriter(dir, { now });
    const b = new SummaryWriter(dir, { now });
    a.close();
    b.close();
    expect(b.path).not.toBe(a.path);
    expect(path.basename(b.path)).toMatch(/\.1\.v2$/);
  });

  it('is read by Python tensorboard EventAccumulator with exact steps and float32 values', () => {
    if (!existsSync(PYTHON))
      throw new Error(
        `Expected the project venv at ${PYTHON} (made by .ci/steps/20-python.sh). Received: no such file`,
      );
    const logdir = tempDir();
    const runs = {
      train: {
        epoch_loss: [0.9, 0.5, 0.31],
        epoch_accuracy: [0.61, 0.83, 0.9],
        epoch_learning_rate: [0.001, 0.001, 0.0005],
      },
      validation: { epoch_loss: [0.7, 0.45, 0.4], epoch_accuracy: [0.7, 0.85, 0.875] },
    };
    for (const [run, tags] of Object.entries(runs)) {
      const w = new SummaryWriter(path.join(logdir, run));
      for (let step = 0; step < 3; step++)
        for (const [tag, values] of Object.entries(tags)) w.scalar(tag, values[step] as number, step);
      w.close();
    }
    // A stray non-event file must not confuse either side.
    writeFileSync(path.join(logdir, 'train', 'notes.txt'), 'not an event file');

    const out = execFileSync(PYTHON, [READ_TB, logdir], { cwd: ROOT, encoding: 'utf8' });
    const read = JSON.parse(out) as Record<string, Record<string, [number, number][]>>;
    expect(Object.keys(read).sort()).toEqual(['train', 'validation']);
    for (const [run, tags] of Object.entries(runs)) {
      expect(Object.keys(read[run] ?? {}).sort()).toEqual(Object.keys(tags).sort());
      for (const [tag, values] of Object.entries(tags)) {
        const got = read[run]?.[tag] ?? [];
        expect(got.map(([step]) => step)).toEqual([0, 1, 2]);
        // simple_value is a float32: TensorBoard returns exactly the float32 nearest our double.
        expect(got.map(([, v]) => v)).toEqual(values.map((v) => Math.fround(v)));
      }
    }
  });
});
