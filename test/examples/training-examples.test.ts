/** The guide's training examples run end to end with `tensorfleet local`, at a small size. */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runToEnd, startCli } from '../helpers/procs.ts';
import { ENTRY, nodeArgs } from '../../api/launcher.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ex = (f: string) => path.join(ROOT, 'examples', f);

async function local(job: string, extra: string[]) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'tf-example-'));
  const p = startCli([
    'local',
    '--workers',
    '2',
    '--backend',
    'cpu',
    '--metrics-port',
    '0',
    '--out',
    out,
    ...extra,
    job,
  ]);
  const { code } = await p.exited;
  return { code, out, stdout: p.stdout, stderr: p.stderr };
}

describe('training examples', () => {
  it('basic-training prints Keras progress and writes history.json', async () => {
    const r = await local(ex('basic-training.ts'), ['--epochs', '2']);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(
      /Epoch 1\/2\n.*32\/32 \[=+\] - .*loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy/,
    );
    const history = JSON.parse(readFileSync(path.join(r.out, 'history.json'), 'utf8')) as {
      epoch: number[];
      history: Record<string, number[]>;
    };
    expect(history.epoch).toEqual([0, 1]);
    expect(Object.keys(history.history).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
  });

  it('training-callbacks stops early, checkpoints and logs for TensorBoard', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'tf-cb-'));
    const p = await runToEnd(
      process.execPath,
      nodeArgs(ENTRY, [
        'local',
        '--workers',
        '2',
        '--backend',
        'cpu',
        '--metrics-port',
        '0',
        '--epochs',
        '12',
        ex('training-callbacks.ts'),
      ]),
      { cwd },
    );
    expect(p.status, p.stderr.slice(-2000)).toBe(0);
    expect(p.stdout).toMatch(/early stopping/);
    expect(existsSync(path.join(cwd, 'runs/training-callbacks/best_model/model.json'))).toBe(true);
    expect(
      readdirSync(path.join(cwd, 'runs/training-callbacks/logs/train')).some((f) =>
        f.startsWith('events.out.tfevents'),
      ),
    ).toBe(true);
  });

  it("evaluate-predict prints the guide's lines", async () => {
    const p = await runToEnd(
      process.execPath,
      ['--import', 'tsx', ex('evaluate-predict.ts'), '--epochs', '1', '--backend', 'cpu'],
      { cwd: ROOT },
    );
    expect(p.status, p.stderr.slice(-2000)).toBe(0);
    expect(p.stdout).toMatch(
      /Test accuracy: \d\.\d{4}\nTest loss: \d\.\d{4}\nPredictions shape: \[100, 10\]\nPredicted classes: \[(\d, ){9}\d\]/,
    );
  });
});
