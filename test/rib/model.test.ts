// Randomised end-to-end check of the Adj-RIB-Out machinery (RFC 4271 §9.2, RFC 4456, RFC 7911):
// peers announce, withdraw, flap and read their output at random moments, in random slices;
// at the end, what each peer rebuilt from the UPDATEs it received must equal the Adj-RIB-Out
// the RIB says it has for it. And, against an independent reference (test/rib/reference.ts,
// written from RFC 4271 §9.1.2.2 / §9.2 and RFC 4456, sharing no code with bgp/rib; issue 15:
// the RIB must not be its own oracle): every prefix's best path is the reference's, and every
// non-add-path peer received exactly the prefixes the reference says it should, with the
// AS_PATH the reference's best path gives.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrs, ctx, decodeOut, makeRib, seq, up, upd } from './helpers.js';
import { parsePrefix } from '../../bgp/codec/prefix.js';
import type { PathAttributes, Prefix, SessionContext } from '../../bgp/codec/types.js';
import { referenceAdvertise, referenceBest, type RefPath, type RefPeer } from './reference.js';

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
    // The reference's view of the world: every path each peer announced and has not withdrawn.
    const refPeers = new Map<string, RefPeer>();
    const paths = new Map<string, Map<string, RefPath>>(); // prefix -> peer id -> path
    let e2Filter: ((x: Prefix) => boolean) | undefined;
    const learn = (id: string, a: PathAttributes | null, reach: string[], withdraw: string[]) => {
      for (const w of withdraw) paths.get(w)?.delete(id);
      if (!a) return;
      for (const pr of reach) {
        if (!paths.has(pr)) paths.set(pr, new Map());
        paths.get(pr)!.set(id, { peer: refPeers.get(id)!, asPath: a.asPath ?? [], origin: a.origin ?? 0, localPref: a.localPref, med: a.med });
      }
    };
    const forget = (id: string) => {
      for (const m of paths.values()) m.delete(id);
    };
    const add = (id: string, asn: number, rr: boolean, c: SessionContext = ctx()) => {
      const address = `198.18.0.${10 + peers.length}`;
      refPeers.set(id, { id, asn, routerId: address, address, rrClient: rr });
      up(rib, { id, address, asn, routeReflectorClient: rr }, undefined, c);
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
        if (r(6) === 0) {
          const pr = prefixes[12 + r(2)];
          rib.ingest(p.id, upd({ ...a, nextHop: `2001:db8::${10 + peers.indexOf(p)}` }, [pr]));
          learn(p.id, a, [pr], []);
        } else {
          const two = [prefixes[r(12)], prefixes[r(12)]];
          rib.ingest(p.id, upd(a, two));
          learn(p.id, a, two, []);
        }
      } else if (op < 7) {
        const pr = prefixes[r(14)];
        rib.ingest(p.id, upd(null, [], [pr]));
        learn(p.id, null, [], [pr]);
      } else if (op < 8 && p.id !== 'ap') {
        rib.peerDown(p.id);
        forget(p.id);
        views.get(p.id)!.clear(); // the session's routes are gone on both sides
        rib.peerUp(p.id, p.c, { routerId: `198.18.0.${10 + peers.indexOf(p)}`, families: ['ipv4', 'ipv6'] });
      } else if (op < 9) {
        now += r(40);
        rib.flush(now);
      } else if (op === 9 && r(10) === 0 && p.id === 'e2') {
        // RFC 2918 §1 soft reconfiguration: export rules change under a live session.
        e2Filter = r(2) ? (x: Prefix) => x.len !== 24 || x.addr[2] % 2 === 0 : undefined;
        rib.setPolicies('e2', { exportFilter: e2Filter });
      } else if (op === 9 && r(8) === 0) {
        // RFC 2918 route refresh, or RFC 4724: the session drops and comes back with GR.
        if (r(2)) rib.routeRefresh(p.id, 'ipv4');
        else if (p.id !== 'ap') {
          rib.peerDown(p.id, true);
          views.get(p.id)!.clear();
          rib.peerUp(p.id, p.c, { routerId: `198.18.0.${10 + peers.indexOf(p)}`, families: ['ipv4', 'ipv6'] });
          rib.sweepStale(p.id, 'ipv4');
          // IPv4 stale paths are swept; IPv6 ones stay (stale, still candidates) until swept.
          for (const [pr, m] of paths) if (!pr.includes(':')) m.delete(p.id);
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
    // ... and with the independent reference: the same best path (by its peer) ...
    const me = { localAs: 65000, clusterId: '198.18.255.100' };
    const refBest = new Map<string, RefPath | undefined>();
    for (const pr of prefixes) {
      const cands = [...(paths.get(pr)?.values() ?? [])];
      const ref = referenceBest(cands, me);
      refBest.set(pr, ref);
      const got = rib.lookup(pr).find((x) => x.best);
      assert.equal(
        got?.peer,
        ref?.peer.id,
        `${pr}: best path from ${got?.peer}, the reference (RFC 4271 §9.1.2.2) says ${ref?.peer.id} among ${cands.map((c) => `${c.peer.id} lp=${c.localPref} len=${c.asPath.reduce((n, sg) => n + sg.asns.length, 0)} med=${c.med}`).join(', ')}`,
      );
    }
    // ... and the same Adj-RIB-Out for every peer without add-path (RFC 4271 §9.2, RFC 4456 §6).
    const seqOf = (a: PathAttributes['asPath']): number[] => (a ?? []).flatMap((sg) => sg.asns);
    for (const p of peers) {
      if (p.id === 'ap') continue; // add-path sends more than the best path; covered above
      const to = refPeers.get(p.id)!;
      const want = new Map<string, number[]>();
      for (const pr of prefixes) {
        const b = refBest.get(pr);
        if (!b || !referenceAdvertise(b, to, me)) continue;
        if (p.id === 'e2' && e2Filter && !pr.includes(':') && !e2Filter(parsePrefix(pr))) continue;
        // RFC 4271 §5.1.2: our AS prepended towards eBGP, the path unchanged towards iBGP.
        want.set(pr, [...(to.asn !== 65000 ? [65000] : []), ...seqOf(b.asPath)]);
      }
      const got = new Map(rib.adjRibOut(p.id).map((e) => [e.prefix, seqOf(e.attrs.asPath)]));
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `peer ${p.id}: Adj-RIB-Out prefixes differ from the reference`);
      assert.deepEqual([...views.get(p.id)!.keys()].sort(), [...want.keys()].sort(), `peer ${p.id}: received prefixes differ from the reference`);
      for (const [pr, asns] of want) assert.deepEqual(got.get(pr), asns, `peer ${p.id} ${pr}: AS_PATH`);
    }
  });
}
