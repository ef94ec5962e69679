// Next-hop resolution: Calico's IPIP cross-subnet rule (felix / calico BIRD templates: a next
// hop on a connected subnet goes direct, any other IPv4 next hop through the tunnel with
// onlink), link-down withdrawal, and IPv6 link-local next hops (RFC 4291 §2.5.6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp, formatIp } from '../../bgp/codec/address.js';
import { canonicalPrefix } from '../../fib/prefix.js';
import { Topology, isSpec, resolveRoute, type ResolveOptions } from '../../fib/resolve.js';

function lab(): Topology {
  const t = new Topology();
  t.setLink(1, 'lo', true);
  t.setLink(3, 'eth0', true);
  t.setLink(4, 'tunl0', true); // stands in for the IPIP device (no ipip module on the test hosts)
  t.setLink(5, 'eth1', true);
  t.setAddr(3, parseIp('198.18.0.1')!, 24, true);
  t.setAddr(4, parseIp('10.244.7.1')!, 32, true); // Calico's /32 on tunl0: no subnet
  t.setAddr(5, parseIp('2001:db8:1::1')!, 64, true);
  return t;
}
const cross: ResolveOptions = { tunnelDevice: 'tunl0', ipipMode: 'cross-subnet' };

test('cross-subnet: a next hop on a connected subnet goes direct, without onlink', () => {
  const r = resolveRoute('unicast', [{ gateway: '198.18.0.2' }], 4, lab(), cross);
  assert.ok(isSpec(r));
  assert.deepEqual(
    r.hops.map((h) => [formatIp(h.gateway!), h.ifindex, h.onlink]),
    [['198.18.0.2', 3, false]],
  );
});

test('cross-subnet: any other IPv4 next hop goes through the tunnel with onlink', () => {
  const r = resolveRoute('unicast', [{ gateway: '198.19.5.5' }], 4, lab(), cross);
  assert.ok(isSpec(r));
  assert.deepEqual(
    r.hops.map((h) => [h.ifindex, h.onlink]),
    [[4, true]],
  );
});

test('ipipMode always tunnels even connected next hops; never does not tunnel at all', () => {
  const a = resolveRoute('unicast', [{ gateway: '198.18.0.2' }], 4, lab(), { ...cross, ipipMode: 'always' });
  assert.ok(isSpec(a) && a.hops[0].ifindex === 4 && a.hops[0].onlink);
  const n = resolveRoute('unicast', [{ gateway: '198.19.5.5' }], 4, lab(), { ...cross, ipipMode: 'never' });
  assert.ok(!isSpec(n) && n.error.startsWith('ENETUNREACH'));
});

test('a next hop whose interface is down is dropped; with none left the route is withdrawn', () => {
  const t = lab();
  const ecmp = [{ gateway: '198.18.0.2' }, { gateway: '2001:db8:1::2' }, { gateway: '198.19.5.5' }];
  t.setLink(3, 'eth0', false);
  const r = resolveRoute('unicast', ecmp.slice(0, 1), 4, t, cross);
  // eth0 down: its subnet is not connected any more, so 198.18.0.2 now goes via the tunnel.
  assert.ok(isSpec(r) && r.hops[0].ifindex === 4);
  t.setLink(4, 'tunl0', false);
  const gone = resolveRoute('unicast', ecmp.slice(0, 1), 4, t, cross);
  assert.ok(!isSpec(gone), 'no usable next hop: withdraw');
  const explicit = resolveRoute('unicast', [{ gateway: '198.18.0.2', dev: 'eth0' }], 4, t, cross);
  assert.ok(!isSpec(explicit) && explicit.error.startsWith('ENETDOWN'));
});

test('ECMP keeps the usable next hops, sorted, with weights; a single hop gets weight 1', () => {
  const t = lab();
  t.setAddr(3, parseIp('198.18.0.1')!, 24, true);
  const r = resolveRoute('unicast', [{ gateway: '198.18.0.3', weight: 3 }, { gateway: '198.18.0.2' }, { gateway: '198.18.0.2' }], 4, t, cross);
  assert.ok(isSpec(r));
  assert.equal(r.key, 'unicast:198.18.0.2@3*1,198.18.0.3@3*3');
  const one = resolveRoute('unicast', [{ gateway: '198.18.0.3', weight: 7 }], 4, t, cross);
  assert.ok(isSpec(one) && one.hops[0].weight === 1);
});

test('IPv6: link-local next hops need their interface; global ones resolve on the connected /64', () => {
  const t = lab();
  const ll = resolveRoute('unicast', [{ gateway: 'fe80::2', dev: 'eth1' }], 6, t, cross);
  assert.ok(isSpec(ll) && ll.hops[0].ifindex === 5 && !ll.hops[0].onlink);
  const bare = resolveRoute('unicast', [{ gateway: 'fe80::2' }], 6, t, cross);
  assert.ok(!isSpec(bare) && bare.error.includes('needs an interface'));
  const g = resolveRoute('unicast', [{ gateway: '2001:db8:1::2' }], 6, t, cross);
  assert.ok(isSpec(g) && g.hops[0].ifindex === 5);
  const far = resolveRoute('unicast', [{ gateway: '2001:db8:9::2' }], 6, t, cross);
  assert.ok(!isSpec(far), 'no IPv6 over the IPIP tunnel');
  const wrong = resolveRoute('unicast', [{ gateway: '198.18.0.2' }], 6, t, cross);
  assert.ok(!isSpec(wrong) && wrong.error.startsWith('EAFNOSUPPORT'));
});

test('the topology generation changes only when something resolution depends on changes', () => {
  const t = lab();
  const g = t.generation;
  assert.equal(t.setLink(3, 'eth0', true), false);
  assert.equal(t.setAddr(3, parseIp('198.18.0.1')!, 24, true), false);
  assert.equal(t.generation, g);
  assert.equal(t.setAddr(3, parseIp('198.18.0.1')!, 24, false), true);
  assert.ok(t.generation > g);
  assert.equal(t.connected(parseIp('198.18.0.2')!), undefined, 'subnet gone with the address');
});

test('prefix text: host bits cleared, RFC 5952 IPv6, junk refused', () => {
  assert.equal(canonicalPrefix('10.244.1.7/26'), '10.244.1.0/26');
  assert.equal(canonicalPrefix('2001:DB8:0:0:1::/64'), '2001:db8::/64');
  assert.equal(canonicalPrefix('2001:db8::1:0:0:1/128'), '2001:db8::1:0:0:1/128');
  assert.equal(canonicalPrefix('10.244.1.0/33'), undefined);
  assert.equal(canonicalPrefix('10.244.1/24'), undefined);
  assert.equal(canonicalPrefix('fe80::1%eth0/64'), 'fe80::/64');
});

// Calico's bird.cfg sets `gateway recursive` on its BGP sessions: with IPIP off, a route to a node
// in another L3 subnet is installed through the underlay route that reaches that node. Tern asks
// the kernel (RTM_GETROUTE fibmatch) and feeds the answer in as topo.recursive.
test('ipipMode never: a next hop on no connected subnet resolves through the underlay route (BIRD gateway recursive)', () => {
  const never: ResolveOptions = { ...cross, ipipMode: 'never' };
  const t = lab();
  const pending = resolveRoute('unicast', [{ gateway: '198.19.5.5' }], 4, t, never);
  assert.ok(!isSpec(pending) && /ENETUNREACH.*resolving it recursively/.test(pending.error), 'unknown yet: withdrawn, and asked for');
  assert.deepEqual([...t.unresolved], ['198.19.5.5']);
  const g0 = t.generation;
  assert.equal(t.setRecursive(new Map([['198.19.5.5', { gateway: parseIp('198.18.0.254')!, ifindex: 3, onlink: false }]])), true);
  assert.ok(t.generation > g0, 'a new answer invalidates cached resolutions');
  assert.deepEqual([...t.unresolved], []);
  const viaRouter = resolveRoute('unicast', [{ gateway: '198.19.5.5' }], 4, t, never);
  assert.ok(isSpec(viaRouter));
  assert.deepEqual(
    viaRouter.hops.map((h) => [formatIp(h.gateway!), h.ifindex, h.onlink]),
    [['198.18.0.254', 3, false]],
    'the underlay gateway, as the kernel cannot recurse',
  );
  assert.equal(t.setRecursive(new Map(t.recursive)), false, 'the same answers change nothing');
  // A device route (no gateway) puts the next hop itself on that link; an onlink underlay
  // gateway (`default via 169.254.1.1 dev eth0 onlink`) stays onlink.
  t.setRecursive(
    new Map([
      ['198.19.5.5', { ifindex: 5, onlink: false }],
      ['198.19.6.6', { gateway: parseIp('169.254.1.1')!, ifindex: 3, onlink: true }],
    ]),
  );
  const dev = resolveRoute('unicast', [{ gateway: '198.19.5.5' }], 4, t, never);
  assert.ok(isSpec(dev) && dev.hops[0].ifindex === 5 && dev.hops[0].onlink && formatIp(dev.hops[0].gateway!) === '198.19.5.5');
  const onlink = resolveRoute('unicast', [{ gateway: '198.19.6.6' }], 4, t, never);
  assert.ok(isSpec(onlink) && onlink.hops[0].onlink && formatIp(onlink.hops[0].gateway!) === '169.254.1.1');
  // No route (or only Tern's own): withdrawn, and not asked for again until the underlay changes.
  t.setRecursive(new Map([['198.19.5.5', null]]));
  const none = resolveRoute('unicast', [{ gateway: '198.19.5.5' }], 4, t, never);
  assert.ok(!isSpec(none) && /no route of the kernel \(other than Tern's\)/.test(none.error));
  assert.deepEqual([...t.unresolved], []);
  // The underlay interface going down drops the hop like any other.
  t.setRecursive(new Map([['198.19.5.5', { gateway: parseIp('198.18.0.254')!, ifindex: 3, onlink: false }]]));
  t.setLink(3, 'eth0', false);
  assert.ok(!isSpec(resolveRoute('unicast', [{ gateway: '198.19.5.5' }], 4, t, never)));
});

test('recursion only where no tunnel applies: IPIP cross-subnet keeps its tunnel rule, IPv6 recurses', () => {
  const t = lab();
  t.setLink(4, 'tunl0', false);
  const v4 = resolveRoute('unicast', [{ gateway: '198.19.5.5' }], 4, t, cross);
  assert.ok(!isSpec(v4) && /tunnel tunl0 is not up/.test(v4.error), 'an IPIP pool must not leak unencapsulated');
  assert.deepEqual([...t.unresolved], []);
  const v6 = resolveRoute('unicast', [{ gateway: '2001:db8:9::9' }], 6, t, cross);
  assert.ok(!isSpec(v6));
  assert.deepEqual([...t.unresolved], ['2001:db8:9::9']);
});
