// Issue 16: Calico's newest BGPFilter matches and operations against a real BIRD 2 peer (eBGP),
// checked on the wire. Calico's meaning (api bgpfilter.go, confd template_funcs.go): an export
// rule's `prependASPath: [65001, 65002]` runs in BIRD's export filter, before BIRD prepends the
// local AS towards an eBGP peer, so the peer receives "64512 65001 65002"; `addCommunity` adds a
// standard (RFC 1997) or large (RFC 8092) community; an import rule matching a community rejects
// that route, one matching the AS path prefix tags the route, and a route no rule matches is
// accepted (Calico's default on import). Route priority (Calico v3.32+, confd
// template_funcs.go): an import rule's `setPriority: 512` is LOCAL_PREF 2^31-1-512 and the
// kernel route's metric 512 (krt_metric = 2^31-1 - bgp_local_pref), a route without one keeps
// the FIB's metric (32); an export rule with `priority: 1024` matches this node's own block (the
// normal route priority Calico's export filter gives a local route).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairLab, TERND, startBird, birdRoutes, startTernd, bgpctl, waitBirdEstablished, conformanceGate, waitFor, routesInNs } from './lab/index.js';

const NEEDS = ['root', 'ip', 'bird', 'birdc', 'ternd'] as const;

interface RibRow {
  prefix: string;
  peer: string;
  communities?: string[];
  flags: { filtered: boolean };
}

test("BGPFilter operations and community/AS-path matches seen by BIRD and in Tern's RIB (RFC 1997, RFC 8092, RFC 4271 §5.1.2)", async (t) => {
  if (!conformanceGate(t, [...NEEDS], TERND)) return;
  const [tern4, bird4] = ['198.18.117.1', '198.18.117.2'];
  const { lab, hostA: ternHost, hostB: birdHost } = await pairLab(t, 'ti16f', ['tern', 'bird'], { v4: `${tern4}/24`, v4b: `${bird4}/24` });
  await startBird(lab, birdHost, {
    routerId: bird4,
    static4: [{ prefix: '198.19.117.0/24', attrs: ['bgp_community.add((65117,666));'] }, { prefix: '198.19.118.0/24' }, { prefix: '198.19.119.0/24' }],
    neighbors: [{ name: 'tern4', localAddr: bird4, localAs: 65117, neighborAddr: tern4, neighborAs: 64512, ipv4: {} }],
  });
  const node = 'ti16f-node';
  const yaml = [
    'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 64512, nodeToNodeMeshEnabled: false}',
    `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${node}}\nspec: {bgp: {ipv4Address: ${tern4}/24}}`,
    'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pods}\nspec: {cidr: 10.244.0.0/16}',
    `apiVersion: crd.projectcalico.org/v1\nkind: IPAMBlock\nmetadata: {name: 10-244-117-0-26}\nspec: {cidr: 10.244.117.0/26, affinity: "host:${node}"}`,
    [
      'apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: upstream}\nspec:',
      '  exportV4:',
      '    - action: Accept',
      '      matchOperator: In',
      '      cidr: 10.244.0.0/16',
      '      priority: 1024',
      '      operations:',
      '        - addCommunity: {value: "64512:100"}',
      '        - addCommunity: {value: "64512:1:2"}',
      '        - prependASPath: {prefix: [65001, 65002]}',
      '  importV4:',
      '    - {action: Reject, communities: {values: ["65117:666"]}}',
      '    - action: Accept',
      '      asPathPrefix: [65117]',
      '      matchOperator: Equal',
      '      cidr: 198.19.118.0/24',
      '      operations: [{addCommunity: {value: "64512:7"}}]',
      '    - {action: Accept, matchOperator: Equal, cidr: 198.19.119.0/24, operations: [{setPriority: {value: 512}}]}',
    ].join('\n'),
    `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: upstream}\nspec:\n  node: ${node}\n  peerIP: ${bird4}\n  asNumber: 65117\n  keepaliveTime: 1s\n  filters: [upstream]`,
  ].join('\n---\n');
  await startTernd(lab, ternHost, { configYaml: yaml, node, fib: 'kernel', args: ['--probes', 'off', '--connect-retry', '1'] });
  await waitBirdEstablished(lab, birdHost, 'tern4', 20_000);

  // Export: what BIRD received for the node's block.
  const got = await waitFor('BIRD has the block', 20_000, async () =>
    (await birdRoutes(lab, birdHost, { proto: 'tern4' })).find((r) => r.prefix === '10.244.117.0/26'),
  );
  assert.deepEqual(got.asPath, [64512, 65001, 65002], "prepend after our own AS, in the order listed; the rule's priority 1024 matched our own block");
  assert.deepEqual(got.communities, ['64512,100']);
  assert.deepEqual(got.largeCommunities, ['64512,1,2']);

  // Import: the community-matched route is rejected, the AS-path-matched one tagged.
  const rows = await waitFor('Tern has both routes from BIRD', 20_000, async () => {
    const r = (await bgpctl(lab, ternHost, 'show', 'rib', '--in')) as RibRow[];
    return r.filter((x) => x.prefix === '198.19.117.0/24' || x.prefix === '198.19.118.0/24').length === 2 ? r : undefined;
  });
  const by = new Map(rows.filter((x) => x.prefix.startsWith('198.19.11')).map((x) => [x.prefix, x]));
  assert.equal(by.get('198.19.117.0/24')?.flags.filtered, true, 'rejected by the community rule');
  const loc = (await bgpctl(lab, ternHost, 'show', 'rib', '198.19.118.0/24')) as RibRow[];
  assert.deepEqual(loc[0]?.communities, ['64512:7'], 'tagged by the AS path prefix rule');

  // Priority: the elevated route is in Tern's RIB with LOCAL_PREF 2^31-1-512 and in the kernel at
  // metric 512; the one without setPriority at the FIB's metric.
  const kernel = await waitFor('both routes in the kernel', 20_000, async () => {
    const r = await routesInNs(lab, ternHost, { proto: '201', family: 'ipv4' });
    return r.some((x) => x.dst === '198.19.119.0/24') && r.some((x) => x.dst === '198.19.118.0/24') && r;
  });
  assert.deepEqual(
    kernel.filter((x) => x.dst === '198.19.119.0/24').map((x) => [x.metric, x.gateway]),
    [[512, bird4]],
  );
  assert.deepEqual(
    kernel.filter((x) => x.dst === '198.19.118.0/24').map((x) => [x.metric, x.gateway]),
    [[32, bird4]],
  );
  const elevated = (await bgpctl(lab, ternHost, 'show', 'rib', '198.19.119.0/24')) as (RibRow & { localPref?: number })[];
  assert.equal(elevated[0]?.localPref, 2147483647 - 512);
  const fib = (await bgpctl(lab, ternHost, 'show', 'fib')) as { prefix: string; status: string; metric?: number; kernelMetric?: number }[];
  assert.deepEqual(
    fib.filter((r) => r.prefix === '198.19.119.0/24').map((r) => [r.status, r.metric, r.kernelMetric]),
    [['ok', 512, 512]],
    'bgpctl show fib',
  );
});
