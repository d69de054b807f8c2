/**
 * Coordinator restart: SIGKILL the coordinator mid-epoch, start it again with --resume; the workers
 * rejoin by themselves and the run ends with exactly the weights of an uninterrupted run (cpu backend).
 * Bit-identical holds because the checkpoint carries the weights, the optimizer's slots and its
 * accumulated beta powers, the data order (seed, epoch, step) and the running sums, and the shards of
 * each round are reduced in the same order.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { loadModel } from '../../shared/io/saving/index.ts';
import { JOBS } from '../helpers/local.ts';
import { freePort, killAll, startCli, waitFor, type Proc, workerArgs, coordinatorArgs } from '../helpers/procs.ts';

const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));
beforeAll(async () => {
  await selectBackend('cpu');
});

function coordinator(job: string, endpoint: string, out: string, extra: string[] = []): Proc {
  const p = startCli(
    coordinatorArgs(endpoint, 2, [
      '--heartbeat-interval',
      '0.2',
      '--verbose',
      '2',
      '--checkpoint-every',
      '3',
      '--out',
      out,
      ...extra,
      path.join(JOBS, job),
    ]),
  );
  procs.push(p);
  return p;
}

async function run(job: string, kill: boolean): Promise<{ out: string; log: string }> {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const out = mkdtempSync(path.join(os.tmpdir(), 'tf-resume-'));
  const first = coordinator(job, endpoint, out);
  await waitFor(first, /listening on/);
  for (let i = 0; i < 2; i++) procs.push(startCli(workerArgs(endpoint)));
  if (!kill) {
    expect((await first.exited).code, first.stderr.slice(-2000)).toBe(0);
    return { out, log: first.stderr };
  }
  await waitFor(first, /Epoch 3\/6/);
  await new Promise((r) => setTimeout(r, 400)); // mid-epoch, a few rounds after the last checkpoint
  first.child.kill('SIGKILL');
  await first.exited;
  expect(existsSync(path.join(out, 'checkpoints', 'LATEST'))).toBe(true);
  const second = coordinator(job, endpoint, out, ['--resume']);
  const { code } = await second.exited;
  expect(code, second.stderr.slice(-2000)).toBe(0);
  return { out, log: second.stderr };
}

describe('coordinator killed and resumed', () => {
  it.each([
    ['resume.ts', 'a dense model'],
    ['resume-sync-bn.ts', 'synchronized BatchNormalization'],
  ])('%s (%s) ends with bit-identical weights and the same history as an uninterrupted run', async (job) => {
    const calm = await run(job, false);
    const resumed = await run(job, true);
    expect(resumed.log).toMatch(/resumed from .*ckpt-\d+-\d+-\d+: epoch [3-6], step \d+/);
    expect(resumed.log).toMatch(/the coordinator does not know this worker|worker \d joined/);
    const a = (await loadModel(path.join(calm.out, 'model.keras'))).model.getWeights();
    const b = (await loadModel(path.join(resumed.out, 'model.keras'))).model.getWeights();
    expect(b.length).toBe(a.length);
    a.forEach((t, i) => expect(Array.from(b[i]!.dataSync())).toEqual(Array.from(t.dataSync())));
    tf.dispose([...a, ...b]);
    const history = (dir: string) =>
      JSON.parse(readFileSync(path.join(dir, 'history.json'), 'utf8')) as { history: Record<string, number[]> };
    expect(history(resumed.out).history).toEqual(history(calm.out).history);
  });
});
