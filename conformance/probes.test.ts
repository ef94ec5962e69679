// Issue 7 in the lab: ternd's /readyz, /livez and /metrics scraped inside a namespace while it
// peers with a real BIRD 2. Readiness is Calico's -bird-ready analogue: ready only when every
// planned session is Established or still within its grace period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Lab, pairLab, TERND, BGPCTL, startBird, startTernd, waitBirdEstablished, conformanceGate, waitFor, run, type CalicoModel } from './lab/index.js';

const NET = 71;
const TERN4 = `198.18.${NET}.1`;
const BIRD4 = `198.18.${NET}.2`;
const PROBES = '127.0.0.1:9179';

/** GET a probe URL from inside the namespace (the probe listens on the namespace's loopback). */
async function get(lab: Lab, host: string, urlPath: string): Promise<{ status: number; body: string }> {
  const script = `require('http').get('http://${PROBES}${urlPath}', (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => { process.stdout.write(JSON.stringify({ status: r.statusCode, body: b })); }); }).on('error', (e) => { process.stdout.write(JSON.stringify({ status: 0, body: e.message })); });`;
  const r = await lab.exec(host, process.execPath, ['-e', script]);
  return JSON.parse(r.stdout) as { status: number; body: string };
}

/** One sample value from the Prometheus text format. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      (m[2] ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => kv.split('=').map((x) => x.replace(/^"|"$/g, '')) as [string, string]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

test('probes and metrics against a real BIRD peer (readiness follows the session; metrics count it)', { timeout: 90_000 }, async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'ternd'], TERND)) return;
  const { lab, hostA: ternHost, hostB: birdHost } = await pairLab(t, 'tpr', ['tern', 'bird'], { v4: `${TERN4}/24`, v4b: `${BIRD4}/24` });
  const node = 'tpr-node';
  const model: CalicoModel = {
    asNumber: 64512,
    nodes: [{ name: node, ipv4Address: `${TERN4}/24` }],
    peers: [{ name: 'tor', node, peerIP: BIRD4, asNumber: 65001, keepaliveTime: '1s' }],
    pools: { pods: '10.244.0.0/16' },
    extraDocs: [
      { apiVersion: 'crd.projectcalico.org/v1', kind: 'IPAMBlock', metadata: { name: 'b1' }, spec: { cidr: `10.244.${NET}.0/26`, affinity: `host:${node}` } },
    ],
  };
  // The ToR is not there yet: a short grace lets /readyz turn red without a long wait.
  const tern = await startTernd(lab, ternHost, { configYaml: model, node, args: ['--probes', PROBES, '--ready-grace', '2', '--connect-retry', '1'] });

  await t.test('/livez answers; /readyz is 503 and names the missing session once the grace period is over', async () => {
    assert.equal((await get(lab, ternHost, '/livez')).status, 200);
    const r = await waitFor('readyz 503', 15_000, async () => {
      const x = await get(lab, ternHost, '/readyz');
      return x.status === 503 ? x : undefined;
    });
    assert.match(r.body, new RegExp(BIRD4.replace(/\./g, '\\.')));
    const health = await run(process.execPath, [BGPCTL, '-s', tern.controlSocket, 'health']);
    assert.equal(health.code, 1, 'bgpctl health exits 1 when not ready (exec probe)');
  });

  await t.test('with BIRD up the session establishes, /readyz is 200 and bgpctl health exits 0', async () => {
    await startBird(lab, birdHost, {
      routerId: BIRD4,
      static4: [{ prefix: '198.19.71.0/24' }, { prefix: '198.19.72.0/24' }],
      neighbors: [{ name: 'tern4', localAddr: BIRD4, localAs: 65001, neighborAddr: TERN4, neighborAs: 64512, ipv4: {} }],
    });
    await waitBirdEstablished(lab, birdHost, 'tern4', 20_000);
    await waitFor('readyz 200', 15_000, async () => (await get(lab, ternHost, '/readyz')).status === 200);
    assert.equal((await run(process.execPath, [BGPCTL, '-s', tern.controlSocket, 'health'])).code, 0);
  });

  await t.test('/metrics: peer state Established, prefixes in and out, RIB sizes, session transitions', async () => {
    const text = await waitFor('metrics with 2 prefixes from BIRD', 15_000, async () => {
      const m = (await get(lab, ternHost, '/metrics')).body;
      return metric(m, 'tern_bgp_prefixes_received', { peer: BIRD4 }) === 2 ? m : undefined;
    });
    assert.equal(metric(text, 'tern_bgp_peer_state', { peer: BIRD4 }), 6, 'RFC 4271 state 6 = Established');
    assert.equal(metric(text, 'tern_bgp_peer_up', { peer: BIRD4 }), 1);
    assert.equal(metric(text, 'tern_bgp_prefixes_sent', { peer: BIRD4 }), 1, 'our one IPAM block');
    assert.ok((metric(text, 'tern_rib_routes', { table: 'loc', family: 'ipv4' }) ?? 0) >= 3);
    assert.ok((metric(text, 'tern_bgp_session_transitions_total', { peer: BIRD4, state: 'Established' }) ?? 0) >= 1);
    assert.ok((metric(text, 'tern_bgp_messages_received_total', { peer: BIRD4 }) ?? 0) > 0);
  });
});
