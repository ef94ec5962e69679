// src/control/prom.ts loads prom-client file by file so that an idle node does not keep
// @opentelemetry/api, the Pushgateway (http, https, zlib) and the cluster aggregator (issue 18).
// What must not change: /metrics shows exactly the default metrics prom-client itself registers
// (stock Node.js dashboards read them), in the same order with the same help and type, and the
// process CPU counters count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as promClient from 'prom-client';
import { Registry, collectDefaultMetrics } from '../../src/control/prom.js';

test("issue 18: the default metrics are prom-client's own collectDefaultMetrics set, in order, same help and type", async () => {
  const theirs = new promClient.Registry();
  promClient.collectDefaultMetrics({ register: theirs, eventLoopMonitoringPrecision: 100 });
  const ours = new Registry();
  collectDefaultMetrics(ours, 100);
  const shape = async (r: promClient.Registry) => (await r.getMetricsAsJSON()).map((m) => `${m.name} ${m.type} ${m.help}`);
  const want = await shape(theirs);
  assert.ok(want.length >= 20, `prom-client registered ${want.length} default metrics`);
  assert.deepEqual(await shape(ours), want);
});

test('issue 18: process CPU counters add up and grow with CPU spent', async () => {
  const r = new Registry();
  collectDefaultMetrics(r, 100);
  const read = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const line of (await r.metrics()).split('\n')) {
      const m = /^(process_cpu_\w+) (\S+)$/.exec(line);
      if (m) out[m[1]] = Number(m[2]);
    }
    return out;
  };
  const before = await read();
  const until = process.cpuUsage().user + 50_000; // spend 50 ms of user CPU
  while (process.cpuUsage().user < until) {
    /* busy on purpose */
  }
  const after = await read();
  assert.ok(after.process_cpu_user_seconds_total - before.process_cpu_user_seconds_total >= 0.05, JSON.stringify({ before, after }));
  assert.ok(Math.abs(after.process_cpu_seconds_total - after.process_cpu_user_seconds_total - after.process_cpu_system_seconds_total) < 1e-6);
});

test('issue 18: Metrics with default metrics loads neither @opentelemetry/api nor the Pushgateway', () => {
  // A fresh process: this test file itself loaded prom-client's index above.
  const script = `
    const { Metrics } = require(${JSON.stringify(require.resolve('../../src/control/metrics.js'))});
    const m = new Metrics();
    m.registry.metrics().then((text) => {
      const loaded = Object.keys(require.cache).filter((f) => /@opentelemetry|prom-client\\/(index|lib\\/pushgateway|lib\\/cluster)\\.js$/.test(f));
      process.stdout.write(JSON.stringify({ loaded, cpu: /^process_cpu_seconds_total /m.test(text), lag: /^nodejs_eventloop_lag_seconds /m.test(text) }));
      process.exit(0);
    });`;
  const got = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
  assert.deepEqual(got, { loaded: [], cpu: true, lag: true });
});
