/**
 * Loads the built package in a fresh node process, as a training process would, and reports what
 * it linked against. A fresh process matters: the dynamic loader resolves libtensorflow and every
 * C API symbol only then, and a missing one shows up as "undefined symbol: TFE_…".
 */
import { exec, tail } from './exec.ts';

/** What the fresh process saw. */
export type Verification =
  | { readonly ok: true; readonly tfBackend: string; readonly tfVersion: string; readonly seconds: number }
  | { readonly ok: false; readonly reason: string };

/** Imports `pkg` from `root` in a child node, runs a matmul on it, and reads TF_Version from the binding. */
export async function verifyNative(root: string, pkg: string): Promise<Verification> {
  const report =
    "console.log('@@' + JSON.stringify({ tfBackend: tf.getBackend(), " +
    "tfVersion: tf.backend().binding?.TF_Version ?? 'unknown', seconds: (performance.now() - t0) / 1000 }));";
  const script = `
    const t0 = performance.now();
    const tf = await import(${JSON.stringify(pkg)});
    const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[1, 0], [0, 1]])).dataSync();
    if (Array.from(y).join(',') !== '1,2,3,4') throw new Error('matMul gave ' + Array.from(y));
    ${report}
  `;
  // TF_CPP_MIN_LOG_LEVEL=2 keeps TensorFlow's start-up banner out of the answer.
  const result = await exec(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    env: { TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  const line = result.stdout.split('\n').find((l) => l.startsWith('@@'));
  if (result.code !== 0 || line === undefined) return { ok: false, reason: `exit ${result.code}: ${tail(result, 8)}` };
  const seen = JSON.parse(line.slice(2)) as { tfBackend: string; tfVersion: string; seconds: number };
  if (seen.tfBackend !== 'tensorflow')
    return { ok: false, reason: `tf.getBackend() is ${JSON.stringify(seen.tfBackend)}, not "tensorflow"` };
  return { ok: true, ...seen };
}
