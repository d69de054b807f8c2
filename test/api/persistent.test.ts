/**
 * A cluster that lives across calls: local() keeps its worker processes for fit, evaluate, predict and a
 * second fit (which continues the first); cluster({ bind }) runs the same calls on workers started with
 * `tensorfleet worker --connect`; a custom loss travels by its module's export.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cluster, local, type Cluster } from '../../api/cluster.ts';
import { selectBackend } from '../../shared/runtime/backend/select.ts';
import { FleetError } from '../../shared/runtime/errors.ts';
import { smallModel, tensors } from '../helpers/data.ts';
import { freePort, killAll, startCli, type Proc } from '../helpers/procs.ts';
import { maxRelativeDiff } from '../helpers/weights.ts';
import { doubledCrossentropyPlusMae } from '../fixtures/modules/custom-loss.ts';

const LOSS_MODULE = path.resolve(import.meta.dirname, '../fixtures/modules/custom-loss.ts');
const ADAM = { optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] };
const procs: Proc[] = [];
const open: Cluster[] = [];

beforeAll(async () => {
  await selectBackend('cpu');
});

afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
  killAll(procs.splice(0));
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

describe('local(): one set of worker processes for every call', () => {
  it('runs fit, evaluate, predict and fit again on the same workers; the second fit continues the first', async () => {
    const c = await local({ workers: 2, backend: 'cpu' });
    open.push(c);
    const pids = c.workerPids;
    expect(pids).toHaveLength(2);
    const { x, y } = tensors(128);
    const args = { batchSize: 32, shuffle: false, verbose: 0 as const, compile: ADAM };
    const model = smallModel();
    const first = await c.fit(model, x, y, { ...args, epochs: 2 });
    expect(c.workerPids).toEqual(pids);
    const [loss] = await c.evaluate(model, x, y);
    expect(c.workerPids).toEqual(pids);
    const pred = await c.predict(model, x);
    expect(maxAbsDiff(pred, model.predict(x) as tf.Tensor)).toBeLessThan(1e-5);
    expect(c.workerPids).toEqual(pids);
    const second = await c.fit(model, x, y, { ...args, epochs: 2 });
    expect(c.workerPids).toEqual(pids);

    // One fit of 4 epochs on a fresh copy: the two fits of 2 end at the same weights (Adam's state kept).
    const whole = smallModel();
    const all = await c.fit(whole, x, y, { ...args, epochs: 4 });
    expect(maxRelativeDiff(model, whole)).toBeLessThan(1e-5);
    const losses = [...(first.history['loss'] ?? []), ...(second.history['loss'] ?? [])];
    (all.history['loss'] ?? []).forEach((l, i) => expect(losses[i]).toBeCloseTo(l, 5));
    // The second fit starts about where the first ended (evaluate ran on the weights in between).
    expect(Math.abs((second.history['loss']?.[0] ?? 0) - (loss ?? 0))).toBeLessThan(0.05);

    const children = c.workerPids;
    await c.close();
    open.length = 0;
    expect(children).toEqual(pids);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    await expect(c.fit(model, x, y)).rejects.toThrow(/Expected an open cluster for fit/);
  });
});

describe('cluster({ bind }): workers started anywhere', () => {
  it('runs fit, evaluate and predict on two `tensorfleet worker` processes, equal to local()', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const starting = cluster({ bind: endpoint, workers: 2, backend: 'cpu' });
    for (let i = 0; i < 2; i++) {
      procs.push(startCli(['worker', '--connect', endpoint, '--backend', 'cpu', '--metrics-port', '0', '--quiet']));
    }
    const remote = await starting;
    open.push(remote);
    expect(remote.workerPids.sort()).toEqual(procs.map((p) => p.child.pid).sort());
    const near = await local({ workers: 2, backend: 'cpu' });
    open.push(near);

    const { x, y } = tensors(96, 3);
    const args = { epochs: 2, batchSize: 16, seed: 5, verbose: 0 as const, validationSplit: 0.25, compile: ADAM };
    const a = smallModel();
    const b = smallModel();
    const ha = await remote.fit(a, x, y, args);
    const hb = await near.fit(b, x, y, args);
    expect(maxRelativeDiff(a, b)).toBeLessThan(1e-5);
    (hb.history['val_loss'] ?? []).forEach((v, i) => expect(ha.history['val_loss']?.[i]).toBeCloseTo(v, 5));
    const ea = await remote.evaluate(a, x, y);
    const eb = await near.evaluate(b, x, y);
    ea.forEach((v, i) => expect(v).toBeCloseTo(eb[i] ?? NaN, 5));
    expect(maxAbsDiff(await remote.predict(a, x), await near.predict(b, x))).toBeLessThan(1e-5);

    await remote.close();
    const exits = await Promise.all(procs.map((p) => p.exited));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
  });

  it("takes the CLI's join token; a custom loss and the arrays travel to the worker by message", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-cluster-token-'));
    const token = path.join(dir, 'join.token');
    writeFileSync(token, 'a-join-token-of-32-characters-ok\n', { mode: 0o600 });
    try {
      const endpoint = `tcp://127.0.0.1:${await freePort()}`;
      const opts = { workers: 1, backend: 'cpu' as const, joinTokenFile: token, modules: [LOSS_MODULE] };
      const starting = cluster({ bind: endpoint, ...opts });
      const flags = ['--backend', 'cpu', '--metrics-port', '0', '--join-token-file', token];
      procs.push(startCli(['worker', '--connect', endpoint, ...flags]));
      const c = await starting;
      open.push(c);
      const { x, y: labels } = tensors(64);
      const y = tf.oneHot(tf.cast(labels, 'int32'), 4);
      const model = smallModel();
      const reference = smallModel();
      const compile = { optimizer: tf.train.sgd(0.1), loss: doubledCrossentropyPlusMae };
      await c.fit(model, x, y, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0, compile });
      reference.compile({ optimizer: tf.train.sgd(0.1), loss: doubledCrossentropyPlusMae });
      await reference.fit(x, y, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
      expect(maxRelativeDiff(model, reference)).toBeLessThan(1e-5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a non-loopback bind without CURVE unless told insecure', async () => {
    const err = await cluster({ bind: 'tcp://0.0.0.0:5555', workers: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FleetError);
    const why = /Expected curveSecretKey .* or insecure: true .*Received: bind tcp:\/\/0\.0\.0\.0:5555 without CURVE/;
    expect((err as FleetError).message).toMatch(why);
  });
});

describe('a custom loss in the programmatic API', () => {
  it("reaches the workers by its module's export and trains like one-process model.fit", async () => {
    const c = await local({ workers: 2, backend: 'cpu', modules: [LOSS_MODULE] });
    open.push(c);
    const { x, y: labels } = tensors(128);
    const y = tf.oneHot(tf.cast(labels, 'int32'), 4);
    const model = smallModel();
    const reference = smallModel();
    const compile = { optimizer: tf.train.sgd(0.1), loss: doubledCrossentropyPlusMae };
    await c.fit(model, x, y, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0, compile });
    reference.compile({ optimizer: tf.train.sgd(0.1), loss: doubledCrossentropyPlusMae });
    await reference.fit(x, y, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
    expect(maxRelativeDiff(model, reference)).toBeLessThan(1e-5);
    expect(maxRelativeDiff(smallModel(), reference)).toBeGreaterThan(1e-3);
    const [loss] = await c.evaluate(model, x, y, { compile: { optimizer: 'sgd', loss: doubledCrossentropyPlusMae } });
    expect(loss).toBeCloseTo((reference.evaluate(x, y, { batchSize: 128 }) as tf.Scalar).dataSync()[0] as number, 4);
  });

  it('refuses a loss function that no module in `modules` exports', async () => {
    const c = await local({ workers: 1, backend: 'cpu' });
    open.push(c);
    const { x, y } = tensors(32);
    const mine = (t: tf.Tensor, p: tf.Tensor) => tf.metrics.meanSquaredError(t, p);
    const compile = { optimizer: 'sgd', loss: mine };
    const err = await c.fit(smallModel(), x, y, { compile }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as FleetError).code).toBe('FLEET_ERR_LOSS');
    expect((err as FleetError).message).toMatch(/custom loss function "mine" to be exported .*Received: modules \[\]/);
  });
});
