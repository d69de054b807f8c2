/** `tensorfleet inspect` and `tensorfleet convert`, run as real processes through bin/tensorfleet.mjs. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from '../../../helpers/procs.ts';
import { fixture, scratch } from '../../../fixtures/saving/helpers.ts';

const tmp = scratch();
afterAll(() => tmp.cleanup());

async function cli(...args: string[]) {
  const p = startCli(args);
  const { code } = await p.exited;
  return { code, out: p.stdout, err: p.stderr };
}

describe('tensorfleet inspect / convert', () => {
  it('inspect prints the architecture summary and weight shapes', async () => {
    const r = await cli('inspect', fixture('keras3.8.0_masking_lstm1.keras'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Format: Keras 3 archive \(\.keras\) \(written by Keras 3\.8\.0\)/);
    expect(r.out).toMatch(/lstm \(LSTM\)\s+\[2,1\]\s+16/);
    expect(r.out).toMatch(/lstm\/recurrent_kernel\s+\[1, 4\]/);
  });

  it('inspect lists a weights-only file', async () => {
    const r = await cli('inspect', fixture('keras2.3.1_dense16x32_relu_weights.h5'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/legacy Keras HDF5 weights[\s\S]*dense\/kernel:0\s+\[16, 32\]/);
  });

  it('convert .h5 -> .keras -> tfjs directory keeps the model', async () => {
    const keras = path.join(tmp.dir, 'relu.keras');
    const dir = path.join(tmp.dir, 'relu-tfjs');
    expect((await cli('convert', fixture('keras2.3.1_dense16x32_relu_model.h5'), keras)).code).toBe(0);
    const r = await cli('convert', keras, dir);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/converted .*relu\.keras \(keras, Keras 3\.\d+\.\d+\) -> .*relu-tfjs/);
    expect(existsSync(path.join(dir, 'model.json')) && existsSync(path.join(dir, 'weights.bin'))).toBe(true);
    const i = await cli('inspect', dir);
    expect(i.out).toMatch(/dense \(Dense\)\s+\[None,32\]\s+544[\s\S]*Training config: .*rmsprop/);
  });

  it('bad input exits 1 with a typed error naming the file', async () => {
    const r = await cli('inspect', fixture('SOURCES.md'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/FLEET_ERR_FORMAT: Expected .*SOURCES\.md to be a Keras HDF5 file/);
  });
});
