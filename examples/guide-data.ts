/** The Keras guide's random data: x uniform in [0, 1) with 784 features, y integer classes 0-9. */
import type { ArrayData } from '../index.ts';
import { seededRandom } from '../shared/runtime/rng.ts';

/** `np.random.random((n, 784))` and `np.random.randint(0, 10, (n,))`, from a seed. */
export function randomData(n: number, seed: number): ArrayData {
  const rand = seededRandom(seed);
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = rand();
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.floor(rand() * 10);
  return { x, xShape: [n, 784], y, yShape: [n] };
}
