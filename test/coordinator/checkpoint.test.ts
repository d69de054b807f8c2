/**
 * Checkpoints on real files: a manifest of SHA-256 hashes is checked on resume; a flipped float or an
 * edited epoch falls back to the previous good checkpoint, naming the bad one; a missing LATEST beside
 * checkpoints is an error, not a fresh start; with no good checkpoint left, FLEET_ERR_CHECKPOINT.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readLatestCheckpoint, writeCheckpoint, type TrainerState } from '../../coordinator/checkpoint.ts';
import { makeOptimizer } from '../../shared/model/keras/optimizers.ts';
import { FleetError } from '../../shared/runtime/errors.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const trainer = (epoch: number): TrainerState => ({
  epoch,
  step: 0,
  accum: { lossSum: 0, metricSums: [], seen: 0 },
  seed: 1,
  history: { epoch: [], history: {} },
  roundId: epoch,
  evalId: 0,
  weightsVersion: epoch,
  sampleUses: [],
  callbacks: [],
});

/** Two checkpoints (epochs 1 and 2) of a trained Dense model with Adam state. */
async function twoCheckpoints(): Promise<{ dir: string; first: string; second: string; model: tf.LayersModel }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-ckpt-'));
  dirs.push(dir);
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] });
  const optimizer = makeOptimizer('adam');
  model.compile({ optimizer, loss: 'meanSquaredError' });
  await model.fit(tf.ones([8, 4]), tf.zeros([8, 3]), { epochs: 1, verbose: 0 });
  const first = await writeCheckpoint(dir, model, optimizer, trainer(1));
  await new Promise((r) => setTimeout(r, 5)); // distinct sequence numbers
  const second = await writeCheckpoint(dir, model, optimizer, trainer(2));
  return { dir, first, second, model };
}

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    return err instanceof FleetError ? `${err.code}: ${err.message}` : `not a FleetError: ${String(err)}`;
  }
  return 'no error';
};

describe('checkpoint integrity', () => {
  it('a good checkpoint loads with no skips, and every file is in the manifest', async () => {
    const { dir, second } = await twoCheckpoints();
    const skipped: string[] = [];
    const ckpt = readLatestCheckpoint(dir, (c) => skipped.push(c));
    expect(ckpt?.path).toBe(second);
    expect(ckpt?.trainer.epoch).toBe(2);
    expect(ckpt?.optimizer.length).toBeGreaterThan(1);
    expect(skipped).toEqual([]);
    const manifest = JSON.parse(readFileSync(path.join(second, 'manifest.json'), 'utf8')) as {
      sha256: Record<string, string>;
    };
    expect(Object.keys(manifest.sha256).sort()).toEqual(['extras.bin', 'optimizer.bin', 'state.json', 'weights.bin']);
    expect(readdirSync(second).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it.each(['weights.bin', 'optimizer.bin'])(
    '16 flipped floats in %s fall back to the previous checkpoint, naming the bad one',
    async (file) => {
      const { dir, first, second } = await twoCheckpoints();
      const buf = readFileSync(path.join(second, file));
      for (let i = 0; i < 16 * 4 && i < buf.length; i += 4) buf.writeFloatLE(buf.readFloatLE(i) + 1, i);
      writeFileSync(path.join(second, file), buf);
      const skipped: [string, string][] = [];
      const ckpt = readLatestCheckpoint(dir, (c, why) => skipped.push([c, why]));
      expect(ckpt?.path).toBe(first);
      expect(ckpt?.trainer.epoch).toBe(1);
      expect(skipped).toHaveLength(1);
      expect(skipped[0]?.[0]).toBe(second);
      expect(skipped[0]?.[1]).toMatch(
        new RegExp(`^${file.replace('.', '\\.')} has SHA-256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}$`),
      );
    },
  );

  it('an edited epoch in state.json is caught', async () => {
    const { dir, first, second } = await twoCheckpoints();
    const state = path.join(second, 'state.json');
    writeFileSync(state, readFileSync(state, 'utf8').replace('"epoch":2', '"epoch":7'));
    expect(readLatestCheckpoint(dir)?.path).toBe(first);
  });

  it('a deleted LATEST beside checkpoints is FLEET_ERR_CHECKPOINT, not a fresh start', async () => {
    const { dir } = await twoCheckpoints();
    rmSync(path.join(dir, 'LATEST'));
    expect(code(() => readLatestCheckpoint(dir))).toMatch(
      /^FLEET_ERR_CHECKPOINT: Expected .*LATEST beside the checkpoints in .*Received: 2 checkpoint folder\(s\) and no LATEST$/,
    );
  });

  it('with every checkpoint bad, FLEET_ERR_CHECKPOINT lists each and why; an empty folder is a fresh start', async () => {
    const { dir, first, second } = await twoCheckpoints();
    rmSync(path.join(first, 'manifest.json'));
    writeFileSync(path.join(second, 'extras.bin'), 'x');
    expect(code(() => readLatestCheckpoint(dir))).toMatch(
      new RegExp(
        /^FLEET_ERR_CHECKPOINT: Expected a checkpoint whose files match its manifest .*/.source +
          /Received: none \(ckpt-2-.*extras\.bin has SHA-256.*; ckpt-1-.*no readable manifest\.json/.source,
      ),
    );
    const empty = mkdtempSync(path.join(os.tmpdir(), 'tf-ckpt-empty-'));
    dirs.push(empty);
    expect(readLatestCheckpoint(empty)).toBeUndefined();
  });
});
