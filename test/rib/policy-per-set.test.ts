// A policy's per-set answer (rib-types.ts SetPolicyFn, issue 18): the RIB asks it once per
// attribute set instead of calling the PolicyFn per prefix, and applies the answer to every
// prefix carrying the set, exactly as the per-prefix calls would have (import: RFC 4271 §9.1.1;
// export: RFC 4271 §9.2).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrs, drain, makeRib, summary, up, upd } from './helpers.js';
import type { PathAttributes, Prefix } from '../../bgp/codec/types.js';
import type { PolicyFn, PolicyResult, SetPolicyFn } from '../../bgp/rib/rib-types.js';

/** A policy whose per-prefix and per-set forms give `answer`; counts the calls of each. */
function counted(answer: (a: PathAttributes) => PolicyResult | undefined, perPrefix: (p: Prefix, a: PathAttributes) => PolicyResult) {
  const calls = { prefix: 0, set: 0 };
  const perSet: SetPolicyFn = (_family, a) => {
    calls.set++;
    return answer(a());
  };
  const fn: PolicyFn = Object.assign(
    (p: Prefix, a: PathAttributes): PolicyResult => {
      calls.prefix++;
      return perPrefix(p, a);
    },
    { perSet },
  );
  return { fn, calls };
}

const ten = Array.from({ length: 10 }, (_, i) => `10.1.${i}.0/24`);

test('RFC 4271 §9.1.1 import: a per-set reject filters every prefix of the UPDATE with one call, and the PolicyFn is never called', () => {
  const rib = makeRib();
  const imp = counted(
    (a) => (a.communities?.includes(666) ? 'reject' : 'accept'),
    () => assert.fail('per-prefix import policy called despite a per-set answer'),
  );
  const src = up(rib, { asn: 65009, importPolicy: imp.fn });
  rib.ingest(src, upd(attrs({ communities: [666] }), ten));
  rib.ingest(src, upd(attrs({ communities: [1] }), ['10.2.0.0/16', '10.3.0.0/16']));
  assert.deepEqual(
    rib
      .flush(0)
      .map((c) => c.prefix)
      .sort(),
    ['10.2.0.0/16', '10.3.0.0/16'],
  );
  assert.equal(imp.calls.set, 2, 'one call per UPDATE (attribute set)');
  assert.equal(rib.adjRibIn(src, 'ipv4', 'pre').length, 12, 'the pre-policy Adj-RIB-In keeps the rejected routes (RFC 7313 §1)');
  assert.equal(rib.adjRibIn(src, 'ipv4', 'post').length, 2);
  assert.match(rib.lookup('10.1.3.0/24')[0].reason ?? '', /policy/);
});

test('RFC 4271 §9.2 export: a per-set edit is applied to every prefix of the set, asked once per set for the group', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const exp = counted(
    (a) => ({ ...a, communities: [0xfde80001] }),
    () => assert.fail('per-prefix export policy called despite a per-set answer'),
  );
  const dst = up(rib, { asn: 65001, exportPolicy: exp.fn });
  drain(rib, dst);
  rib.ingest(src, upd(attrs(), ten.slice(0, 5)));
  rib.ingest(src, upd(attrs(), ten.slice(5)));
  rib.flush(0);
  const got = drain(rib, dst);
  assert.deepEqual(summary(got).nlri, [...ten].sort());
  for (const g of got) assert.deepEqual(g.attrs.communities, [0xfde80001]);
  assert.equal(exp.calls.set, 1, 'the two UPDATEs carry one attribute set: one answer, memoised with the export');
  assert.equal(rib.adjRibOut(dst).length, 10);
});

test('RFC 4271 §9.2 export: without a per-set answer (undefined) the PolicyFn decides per prefix', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const exp = counted(
    () => undefined,
    (p) => (p.addr[2] % 2 === 0 ? 'accept' : 'reject'),
  );
  const dst = up(rib, { asn: 65001, exportPolicy: exp.fn });
  drain(rib, dst);
  rib.ingest(src, upd(attrs(), ten));
  rib.flush(0);
  assert.deepEqual(summary(drain(rib, dst)).nlri, ['10.1.0.0/24', '10.1.2.0/24', '10.1.4.0/24', '10.1.6.0/24', '10.1.8.0/24']);
  assert.equal(exp.calls.prefix, 10);
});

test('RFC 4271 §9.2 export: a per-set reject withdraws what the group had and sends nothing new', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const exp = counted(
    (a) => (a.communities?.includes(5) ? 'reject' : 'accept'),
    () => assert.fail('per-prefix export policy called despite a per-set answer'),
  );
  const dst = up(rib, { asn: 65001, exportPolicy: exp.fn });
  drain(rib, dst);
  rib.ingest(src, upd(attrs(), ten));
  rib.flush(0);
  assert.equal(summary(drain(rib, dst)).nlri.length, 10);
  rib.ingest(src, upd(attrs({ communities: [5] }), ten));
  rib.flush(0);
  const s = summary(drain(rib, dst));
  assert.deepEqual(s.withdrawn, [...ten].sort());
  assert.deepEqual(s.nlri, []);
  assert.equal(rib.adjRibOut(dst).length, 0);
});
