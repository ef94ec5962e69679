// Route origination (blocks, borrowed addresses, services, communities) and how learned
// routes are installed (Calico bird_ipam.cfg.template: IPIP Always / CrossSubnet, VXLAN to Felix).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { encapsulationFor, loadModelFile, localSubnets, originatedRoutes } from '../../peers/index.js';
import { model, node, res } from './helpers.js';

const FIXTURE = join(__dirname, '../../../test/fixtures/cluster-full.yaml');
const ipam = (kind: string, name: string, spec: Record<string, unknown>) => res(kind, name, spec).replace('projectcalico.org/v3', 'crd.projectcalico.org/v1');

test("fixture node-a: affine blocks (a disabled pool's too), confirmed affinities, borrowed /32, services; not pending blocks", () => {
  const { model: m } = loadModelFile(FIXTURE);
  const r = originatedRoutes(m, 'node-a');
  assert.deepEqual(
    r.map((x) => [x.prefix, x.origin, x.fib]),
    [
      ['10.244.0.0/26', 'block', 'blackhole'],
      ['10.250.0.0/26', 'block', 'blackhole'],
      ['10.244.1.0/26', 'block', 'blackhole'],
      ['10.244.0.69/32', 'borrowed', 'none'],
      ['10.96.0.0/12', 'service-cluster-ip', 'none'],
      ['198.19.10.0/24', 'service-external-ip', 'none'],
      ['198.19.20.0/24', 'service-loadbalancer-ip', 'none'],
    ],
  );
  assert.ok(!r.some((x) => x.prefix === '10.244.2.0/26'), 'pending BlockAffinity is not advertised');
  // Issue 16: Calico's export filter ignores `disabled` (only disableBGPExport rejects); the
  // pool migration procedure disables the old pool while its pods still run.
  assert.equal(r.find((x) => x.prefix === '10.250.0.0/26')?.pool, 'old-pool');
  // prefixAdvertisements: 10.244.0.0/16 -> pods (64512:100) and 65000:7; 10.96.0.0/12 -> large 64512:1:2.
  const blk = r[0];
  assert.deepEqual(blk.communities, [64512 * 65536 + 100, 65000 * 65536 + 7]);
  assert.equal(blk.pool, 'pods-v4');
  assert.deepEqual(r[4].largeCommunities, [{ globalAdmin: 64512, local1: 1, local2: 2 }]);
  assert.deepEqual(r[5].communities, []);
  // node-b owns 10.244.0.64/26; the address borrowed by node-a stays inside the block it advertises.
  assert.deepEqual(
    originatedRoutes(m, 'node-b')
      .filter((x) => x.origin === 'block')
      .map((x) => x.prefix),
    ['10.244.0.64/26'],
  );
});

test('a block named by both IPAMBlock and BlockAffinity is advertised once', () => {
  const m = model(
    node('n1', { v4: '198.18.1.1/24' }),
    res('IPPool', 'p', { cidr: '10.244.0.0/16' }),
    ipam('IPAMBlock', 'b', { cidr: '10.244.0.0/26', affinity: 'host:n1' }),
    ipam('BlockAffinity', 'a', { node: 'n1', cidr: '10.244.0.0/26', state: 'confirmed', deleted: 'false' }),
    ipam('BlockAffinity', 'gone', { node: 'n1', cidr: '10.244.0.128/26', state: 'confirmed', deleted: 'true' }),
    ipam('BlockAffinity', 'going', { node: 'n1', cidr: '10.244.0.192/26', state: 'pendingDeletion' }),
  );
  assert.deepEqual(
    originatedRoutes(m, 'n1').map((x) => x.prefix),
    ['10.244.0.0/26'],
  );
});

test('disableBGPExport pools are not advertised; a block in no pool is (calico_aggr accepts every confirmed affine block)', () => {
  const m = model(
    node('n1', { v4: '198.18.1.1/24' }),
    res('IPPool', 'quiet', { cidr: '10.244.0.0/16', disableBGPExport: true }),
    res('IPPool', 'off', { cidr: '10.245.0.0/16', disabled: true }),
    ipam('IPAMBlock', 'b1', { cidr: '10.244.0.0/26', affinity: 'host:n1' }),
    ipam('IPAMBlock', 'b2', { cidr: '10.99.0.0/26', affinity: 'host:n1' }),
    ipam('IPAMBlock', 'b3', { cidr: '10.245.0.0/26', affinity: 'host:n1' }),
    ipam('IPAMBlock', 'b4', { cidr: '10.245.1.7/32', affinity: 'host:n1' }),
  );
  assert.deepEqual(
    originatedRoutes(m, 'n1').map((x) => [x.prefix, x.fib, x.pool]),
    [
      ['10.99.0.0/26', 'blackhole', undefined],
      ['10.245.0.0/26', 'blackhole', 'off'],
      // bird_aggr.cfg.template: no blackhole for a host-sized block (Felix's workload route).
      ['10.245.1.7/32', 'none', 'off'],
    ],
  );
});

test('per-node prefixAdvertisements replace the global ones; excluded nodes do not advertise services', () => {
  const m = model(
    res('BGPConfiguration', 'default', {
      serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
      prefixAdvertisements: [{ cidr: '10.96.0.0/12', communities: ['1:1'] }],
    }),
    res('BGPConfiguration', 'node.n2', { prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['2:2'] }] }),
    node('n1', { v4: '198.18.1.1/24' }),
    node('n2', { v4: '198.18.1.2/24' }),
    node('n3', { v4: '198.18.1.3/24', labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' } }),
  );
  assert.deepEqual(originatedRoutes(m, 'n1')[0].communities, [65537]);
  assert.deepEqual(originatedRoutes(m, 'n2')[0].communities, [2 * 65536 + 2]);
  assert.deepEqual(originatedRoutes(m, 'n3'), []);
});

test('IPv6 blocks are advertised as /122 prefixes', () => {
  const m = model(
    node('n1', { v6: '2001:db8::1/64' }),
    res('IPPool', 'v6', { cidr: 'fd00:10:244::/56' }),
    ipam('IPAMBlock', 'b', { cidr: 'fd00:10:244::40/122', affinity: 'host:n1' }),
  );
  assert.deepEqual(
    originatedRoutes(m, 'n1').map((x) => [x.prefix, x.family]),
    [['fd00:10:244::40/122', 'ipv6']],
  );
});

const ENCAP = model(
  node('n1', { v4: '198.18.1.10/24' }),
  res('IPPool', 'always', { cidr: '10.1.0.0/16', ipipMode: 'Always' }),
  res('IPPool', 'cross', { cidr: '10.2.0.0/16', ipipMode: 'CrossSubnet' }),
  res('IPPool', 'never', { cidr: '10.3.0.0/16' }),
  res('IPPool', 'vxlan', { cidr: '10.4.0.0/16', vxlanMode: 'Always' }),
);
const SUBNETS = localSubnets(ENCAP, 'n1');

test('localSubnets come from the Node address', () => {
  assert.deepEqual(SUBNETS, ['198.18.1.0/24']);
});

test('encapsulation: IPIP Always goes via tunl0 onlink', () => {
  assert.deepEqual(encapsulationFor(ENCAP, '10.1.5.0/26', '198.18.1.11', SUBNETS), {
    install: true,
    mode: 'ipip',
    device: 'tunl0',
    onlink: true,
    nextHop: '198.18.1.11',
    pool: 'always',
    reason: 'IPPool always ipipMode Always',
  });
});

test('encapsulation: CrossSubnet is direct inside our subnet, tunnelled outside it', () => {
  const inside = encapsulationFor(ENCAP, '10.2.5.0/26', '198.18.1.11', SUBNETS);
  assert.equal(inside.mode, 'direct');
  assert.equal(inside.install, true);
  const outside = encapsulationFor(ENCAP, '10.2.5.0/26', '198.18.2.11', SUBNETS);
  assert.equal(outside.mode, 'ipip');
  assert.ok(outside.install && outside.mode === 'ipip' && outside.device === 'tunl0' && outside.onlink);
});

test('encapsulation: Never and prefixes outside every pool are direct; VXLAN is left to Felix', () => {
  assert.equal(encapsulationFor(ENCAP, '10.3.5.0/26', '198.18.2.11', SUBNETS).mode, 'direct');
  const ext = encapsulationFor(ENCAP, '203.0.113.0/24', '198.18.2.11', SUBNETS);
  assert.deepEqual([ext.mode, ext.install, 'pool' in ext], ['direct', true, false]);
  const vx = encapsulationFor(ENCAP, '10.4.5.0/26', '198.18.1.11', SUBNETS);
  assert.deepEqual([vx.install, vx.mode], [false, 'vxlan']);
  assert.throws(() => encapsulationFor(ENCAP, 'nonsense', '198.18.1.1', SUBNETS), /not a valid CIDR/);
});
