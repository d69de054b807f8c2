/** EpochMetrics: the epoch number and each epoch's logs as Prometheus gauges. */
import type { Callback, Logs } from '../../shared/model/callbacks.ts';
import type { FleetMetrics } from '../../shared/runtime/metrics.ts';

/**
 * Sets `epoch` as each epoch begins and the epoch-scope loss and metric gauges as it ends. The trainer
 * adds it after the user's callbacks, so a `learning_rate` they add to the logs is exported too.
 */
export class EpochMetrics implements Callback {
  constructor(private readonly metrics: FleetMetrics) {}

  onEpochBegin(epoch: number): void {
    this.metrics.epoch.set(epoch + 1);
  }

  onEpochEnd(_epoch: number, logs: Logs): void {
    for (const [k, v] of Object.entries(logs)) {
      const split = k.startsWith('val_') ? 'validation' : 'train';
      const name = k.replace(/^val_/, '');
      if (name === 'loss') this.metrics.loss.set({ scope: 'epoch', split }, v);
      else this.metrics.metric.set({ name, scope: 'epoch', split }, v);
    }
  }
}
