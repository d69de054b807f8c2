/** Comparing model weights in tests. */
import type * as tf from '@tensorflow/tfjs';

/** Largest per-tensor relative difference: max|a-b| / max(|b|, 1e-12), over all weights. */
export function maxRelativeDiff(a: tf.LayersModel, b: tf.LayersModel): number {
  const wa = a.getWeights();
  const wb = b.getWeights();
  if (wa.length !== wb.length) throw new Error(`weight counts differ: ${wa.length} vs ${wb.length}`);
  let worst = 0;
  wa.forEach((t, i) => {
    const x = t.dataSync();
    const y = (wb[i] as tf.Tensor).dataSync();
    let diff = 0;
    let scale = 1e-12;
    for (let j = 0; j < x.length; j++) {
      diff = Math.max(diff, Math.abs((x[j] as number) - (y[j] as number)));
      scale = Math.max(scale, Math.abs(y[j] as number));
    }
    worst = Math.max(worst, diff / scale);
  });
  return worst;
}
