// The parts of prom-client that ternd uses, loaded file by file (issue 18). prom-client's index
// also loads its Pushgateway (http, https and so TLS, zlib), its cluster aggregator, and, through
// the process-CPU default metric, @opentelemetry/api (51 modules, used only for exemplars, which
// ternd never enables): all resident in every node for nothing. Here the registry, the three
// metric types and the default metrics come from their own files, and the three process CPU
// counters are counted here, under the same names and help texts, without OpenTelemetry.
// test/control/prom.test.ts checks that the default metrics are exactly prom-client's own set,
// so an upgrade that moves or adds a file fails a test rather than a scrape.
import type * as Prom from 'prom-client';

// Deep paths, which prom-client's types do not name: typed as the index's classes they are.
export const Registry = require('prom-client/lib/registry') as typeof Prom.Registry;
export const Counter = require('prom-client/lib/counter') as typeof Prom.Counter;
export const Gauge = require('prom-client/lib/gauge') as typeof Prom.Gauge;
export const Histogram = require('prom-client/lib/histogram') as typeof Prom.Histogram;
export type Registry = Prom.Registry;

type DefaultMetric = (registry: Prom.Registry, config: { eventLoopMonitoringPrecision: number }) => void;

/** prom-client 15's default metrics (lib/defaultMetrics.js) but processCpuTotal, in its order. */
const DEFAULT_METRIC_FILES = [
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  // prom-client registers this one only where node has process.getActiveResourcesInfo.
  ...(typeof process.getActiveResourcesInfo === 'function' ? ['processResources'] : []),
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
];

/** process_cpu_{user,system}_seconds_total and process_cpu_seconds_total, as prom-client names them. */
function processCpu(registry: Prom.Registry): void {
  let last = process.cpuUsage();
  const registers = [registry];
  // Registered user, system, total: prom-client's order, so /metrics reads the same.
  const user: Prom.Counter = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    // One collect sets all three from the same reading, so they always add up.
    collect() {
      const now = process.cpuUsage();
      const u = (now.user - last.user) / 1e6;
      const s = (now.system - last.system) / 1e6;
      last = now;
      user.inc(u);
      system.inc(s);
      total.inc(u + s);
    },
  });
  const system = new Counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', registers });
  const total = new Counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', registers });
}

/**
 * The process_* and nodejs_* metrics of prom-client's collectDefaultMetrics, on `registry`.
 * `eventLoopMonitoringPrecision` is the lag histogram's tick in ms.
 */
export function collectDefaultMetrics(registry: Prom.Registry, eventLoopMonitoringPrecision: number): void {
  const config = { register: registry, eventLoopMonitoringPrecision };
  processCpu(registry);
  for (const file of DEFAULT_METRIC_FILES) (require(`prom-client/lib/metrics/${file}`) as DefaultMetric)(registry, config);
}
