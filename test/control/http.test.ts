// /livez, /readyz and /metrics on 127.0.0.1 with an ephemeral port (issue 7): Kubernetes probes
// need 200 vs 503 with reasons; Prometheus needs the text exposition format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/control/metrics.js';
import { parseListenAddress, startHttpProbes } from '../../src/control/http.js';
import { FakeDaemon, quietLog } from './fake-daemon.js';

async function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

test('/livez and /readyz answer 200 or 503 with a JSON body of reasons', async (t) => {
  const fake = new FakeDaemon();
  const probes = await startHttpProbes(fake, { host: '127.0.0.1', port: 0, metrics: new Metrics({ defaultMetrics: false }) }, quietLog);
  t.after(() => probes.close());
  assert.ok(probes.port > 0);
  const live = await get(probes.port, '/livez');
  assert.equal(live.status, 200);
  assert.deepEqual(JSON.parse(live.body), { live: true, reasons: [] });
  const ready = await get(probes.port, '/readyz');
  assert.equal(ready.status, 200);
  assert.match(ready.type, /^application\/json/);
  assert.equal(JSON.parse(ready.body).ready, true);
  fake.healthView = { ...fake.healthView, ready: false, reasons: ['session 127.0.0.4 is Idle for 95s (grace 60s)'] };
  const notReady = await get(probes.port, '/readyz');
  assert.equal(notReady.status, 503);
  assert.deepEqual(JSON.parse(notReady.body).reasons, ['session 127.0.0.4 is Idle for 95s (grace 60s)']);
  assert.equal((await get(probes.port, '/livez')).status, 200, 'not ready is still live: no restart loop');
  fake.health = () => {
    throw new Error('event loop wedged');
  };
  const dead = await get(probes.port, '/livez');
  assert.equal(dead.status, 503);
  assert.match(JSON.parse(dead.body).reasons[0], /event loop wedged/);
  assert.equal((await get(probes.port, '/nope')).status, 404);
  assert.equal((await get(probes.port, '/readyz', 'POST')).status, 405);
  const head = await get(probes.port, '/readyz', 'HEAD');
  assert.equal(head.status, 503);
  assert.equal(head.body, '');
});

test('/metrics exposes per-peer state, messages, prefixes, RIB sizes, FIB ops and decision latency', async (t) => {
  const fake = new FakeDaemon();
  const metrics = new Metrics();
  const probes = await startHttpProbes(fake, { host: '127.0.0.1', port: 0, metrics }, quietLog);
  t.after(() => probes.close());
  metrics.fibOps.inc({ op: 'add' }, 3);
  metrics.fibErrors.inc({ op: 'add', reason: 'EEXIST' });
  metrics.decisionLatency.observe(0.002);
  metrics.sessionTransitions.inc({ peer: '127.0.0.2', state: 'Established' });
  const r = await get(probes.port, '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  const has = (re: RegExp): void => assert.match(r.body, re);
  has(/^tern_bgp_peer_state\{peer="127\.0\.0\.2",asn="64512",kind="mesh"\} 6$/m);
  has(/^tern_bgp_peer_state\{peer="2001:db8::9",asn="65002",kind="selector"\} 3$/m);
  has(/^tern_bgp_peer_up\{peer="127\.0\.0\.4",asn="64512",kind="rr-client"\} 0$/m);
  has(/^# TYPE tern_bgp_messages_received_total counter$/m);
  has(/^tern_bgp_messages_received_total\{peer="127\.0\.0\.3"\} 98765$/m);
  has(/^tern_bgp_messages_sent_total\{peer="127\.0\.0\.3"\} 4321$/m);
  has(/^tern_bgp_prefixes_received\{peer="127\.0\.0\.3"\} 120$/m);
  has(/^tern_bgp_prefixes_accepted\{peer="127\.0\.0\.3"\} 118$/m);
  has(/^tern_bgp_prefixes_sent\{peer="127\.0\.0\.3"\} 4$/m);
  has(/^tern_bgp_peer_uptime_seconds\{peer="127\.0\.0\.2"\} 372[34](\.\d+)?$/m);
  has(/^tern_bgp_peer_uptime_seconds\{peer="127\.0\.0\.4"\} 0$/m);
  has(/^tern_rib_routes\{table="in",family="ipv4"\} 3$/m);
  has(/^tern_fib_routes 1$/m);
  has(/^tern_fib_coupled 1$/m);
  has(/^tern_fib_operations_total\{op="add"\} 3$/m);
  has(/^tern_fib_errors_total\{op="add",reason="EEXIST"\} 1$/m);
  has(/^tern_decision_duration_seconds_bucket\{le="0\.005"\} 1$/m);
  has(/^tern_decision_duration_seconds_count 1$/m);
  has(/^tern_bgp_session_transitions_total\{peer="127\.0\.0\.2",state="Established"\} 1$/m);
  has(/^tern_build_info\{version="0\.1\.0-fake"\} 1$/m);
  // RFC 5880 §4.1 state numbering, §6.8.4 detection time, from the BFD worker's view.
  has(/^tern_bfd_session_state\{peer="127\.0\.0\.2"\} 3$/m);
  has(/^tern_bfd_detection_time_seconds\{peer="127\.0\.0\.2"\} 0\.3$/m);
  has(/^tern_bfd_up_transitions\{peer="127\.0\.0\.2"\} 2$/m);
  has(/^nodejs_eventloop_lag_p99_seconds /m);
  // Scrape twice: counters read from the daemon are absolute, never doubled.
  const again = await get(probes.port, '/metrics');
  assert.match(again.body, /^tern_bgp_messages_received_total\{peer="127\.0\.0\.3"\} 98765$/m);
});

test('listen addresses for probes parse host:port, [v6]:port and :port', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9179'), { host: '127.0.0.1', port: 9179 });
  assert.deepEqual(parseListenAddress('[::1]:9179'), { host: '::1', port: 9179 });
  assert.deepEqual(parseListenAddress(':9179'), { host: '0.0.0.0', port: 9179 });
  assert.throws(() => parseListenAddress('127.0.0.1'), /bad listen address/);
  assert.throws(() => parseListenAddress('127.0.0.1:70000'), /bad listen address/);
});
