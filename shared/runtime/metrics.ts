/**
 * Every Prometheus metric tensorfleet exports, declared in one place with base units in the names,
 * and the tiny HTTP server that exposes a registry. Names follow Prometheus conventions.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';

/** Metric names, so tests, dashboards and alerts use the same strings. */
export const METRIC = {
  samplesPerSecond: 'tensorfleet_training_samples_per_second',
  samplesTotal: 'tensorfleet_training_samples_total',
  loss: 'tensorfleet_loss',
  metric: 'tensorfleet_metric',
  roundDuration: 'tensorfleet_round_duration_seconds',
  bytesSent: 'tensorfleet_bytes_sent_total',
  bytesReceived: 'tensorfleet_bytes_received_total',
  workersConnected: 'tensorfleet_workers_connected',
  workerUp: 'tensorfleet_worker_up',
  rejectedMessages: 'tensorfleet_rejected_messages_total',
  rounds: 'tensorfleet_rounds_total',
  stragglers: 'tensorfleet_straggler_drops_total',
  epoch: 'tensorfleet_epoch',
  tensors: 'tensorfleet_tf_tensors',
  tensorBytes: 'tensorfleet_tf_memory_bytes',
  backend: 'tensorfleet_backend_info',
} as const;

/** The metrics of one process (coordinator or worker), on their own registry. */
export interface FleetMetrics {
  readonly registry: client.Registry;
  readonly samplesPerSecond: client.Gauge;
  readonly samplesTotal: client.Counter;
  readonly loss: client.Gauge<'scope' | 'split'>;
  readonly metric: client.Gauge<'name' | 'scope' | 'split'>;
  readonly roundDuration: client.Histogram<'phase'>;
  /** By the role of the other end: `coordinator` or `worker`. */
  readonly bytesSent: client.Counter<'peer'>;
  readonly bytesReceived: client.Counter<'peer'>;
  readonly workersConnected: client.Gauge;
  readonly workerUp: client.Gauge<'worker'>;
  readonly rejectedMessages: client.Counter<'code'>;
  readonly rounds: client.Counter;
  readonly stragglers: client.Counter;
  readonly epoch: client.Gauge;
}

/** Creates a registry with tensorfleet's metrics, default process metrics, and tf.memory() gauges. */
export function createMetrics(
  role: 'coordinator' | 'worker',
  backend: string,
  memory: () => { numTensors: number; numBytes: number },
): FleetMetrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ role });
  client.collectDefaultMetrics({ register: registry });
  // prom-client names these three gauges *_total, which promtool rejects (a _total suffix means a
  // counter); the same counts remain in the nodejs_active_* gauges by type.
  for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
    registry.removeSingleMetric(n);
  const r = [registry];
  new client.Gauge({
    name: METRIC.backend,
    help: 'Compute backend in use (value is always 1).',
    labelNames: ['backend'],
    registers: r,
  }).set({ backend }, 1);
  new client.Gauge({
    name: METRIC.tensors,
    help: 'Live tensors, from tf.memory().numTensors.',
    registers: r,
    collect() {
      this.set(memory().numTensors);
    },
  });
  new client.Gauge({
    name: METRIC.tensorBytes,
    help: 'Bytes held by tensors, from tf.memory().numBytes.',
    registers: r,
    collect() {
      this.set(memory().numBytes);
    },
  });
  return {
    registry,
    samplesPerSecond: new client.Gauge({
      name: METRIC.samplesPerSecond,
      help: 'Training samples per second over the last round.',
      registers: r,
    }),
    samplesTotal: new client.Counter({ name: METRIC.samplesTotal, help: 'Training samples processed.', registers: r }),
    loss: new client.Gauge({
      name: METRIC.loss,
      help: 'Loss, per round or per epoch.',
      labelNames: ['scope', 'split'],
      registers: r,
    }),
    metric: new client.Gauge({
      name: METRIC.metric,
      help: 'Compiled metric values, per round or per epoch.',
      labelNames: ['name', 'scope', 'split'],
      registers: r,
    }),
    roundDuration: new client.Histogram({
      name: METRIC.roundDuration,
      help: 'Duration of a training round by phase: total, compute, communication, aggregation.',
      labelNames: ['phase'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    }),
    bytesSent: new client.Counter({
      name: METRIC.bytesSent,
      help: 'Bytes sent over ZeroMQ, by the role of the receiving end (peer="coordinator" or "worker").',
      labelNames: ['peer'],
      registers: r,
    }),
    bytesReceived: new client.Counter({
      name: METRIC.bytesReceived,
      help: 'Bytes received over ZeroMQ, by the role of the sending end (peer="coordinator" or "worker").',
      labelNames: ['peer'],
      registers: r,
    }),
    workersConnected: new client.Gauge({
      name: METRIC.workersConnected,
      help: 'Workers currently connected and healthy.',
      registers: r,
    }),
    workerUp: new client.Gauge({
      name: METRIC.workerUp,
      help: 'Per worker: 1 while healthy, 0 once lost or finished.',
      labelNames: ['worker'],
      registers: r,
    }),
    rejectedMessages: new client.Counter({
      name: METRIC.rejectedMessages,
      help: 'Inbound messages rejected by validation, by error code.',
      labelNames: ['code'],
      registers: r,
    }),
    rounds: new client.Counter({ name: METRIC.rounds, help: 'Training rounds completed.', registers: r }),
    stragglers: new client.Counter({
      name: METRIC.stragglers,
      help: 'Workers left out of a round for missing its deadline; their share moved to faster workers.',
      registers: r,
    }),
    epoch: new client.Gauge({ name: METRIC.epoch, help: 'Current epoch (1-based).', registers: r }),
  };
}

/** Serves `registry` at /metrics on host:port (port 0 picks a free one); resolves with the bound port. */
export async function serveMetrics(
  registry: client.Registry,
  host: string,
  port: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('try /metrics\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(String(err.message)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return { port: bound, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
