// Decision process tests: one row per step of RFC 4271 §9.1.2.2 (plus RFC 4456 §9 and
// RFC 5004), then OpenBGPD's rde_decide_test idea: every insertion order gives the same best.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttrStore } from '../../bgp/rib/attr-store.js';
import { compare, select, Step, type Candidate, type DecisionOptions } from '../../bgp/rib/decision.js';
import { AsPathSegmentType, type PathAttributes } from '../../bgp/codec/types.js';
import { seq } from './helpers.js';

const store = new AttrStore();
const OPTS: DecisionOptions = { defaultLocalPref: 100, alwaysCompareMed: false, medMissingAsWorst: false, preferOldestEbgp: false, maxPaths: 1 };

let n = 0;
function cand(a: PathAttributes = {}, c: Partial<Candidate> = {}): Candidate {
  n++;
  const attrs: PathAttributes = { origin: 0, asPath: seq(65001, 65100), nextHop: `198.18.1.${n}`, ...a };
  return {
    attr: store.intern(attrs, attrs.nextHop),
    local: false,
    ebgp: false,
    reachable: true,
    igpCost: 0,
    routerId: 1000 + n,
    peerKey: `c612${n.toString(16).padStart(4, '0')}`,
    pathId: 0,
    age: n,
    ...c,
  };
}

/** The row: `win` must beat `lose` at `step`, pairwise both ways and in select(). */
function row(name: string, step: Step, win: Candidate, lose: Candidate, o: DecisionOptions = OPTS): void {
  test(name, () => {
    const v = compare(win, lose, o);
    assert.equal(v.step, step, v.reason);
    assert.equal(v.winner, 0);
    const r = compare(lose, win, o);
    assert.equal(r.step, step);
    assert.equal(r.winner, 1);
    assert.ok(v.reason.length > 0);
    assert.equal(select([lose, win], o).best, 1);
    assert.equal(select([win, lose], o).best, 0);
  });
}

row(
  'step 0 (Tern, like FRR weight): a locally originated route wins over a higher LOCAL_PREF',
  Step.LOCAL_ORIGIN,
  cand({}, { local: true }),
  cand({ localPref: 500 }),
);
row('step 1, RFC 4271 §9.1.2.1: an unresolvable NEXT_HOP loses whatever its LOCAL_PREF', Step.NEXT_HOP, cand(), cand({ localPref: 500 }, { reachable: false }));
row('step 2, RFC 4271 §9.1.1: higher LOCAL_PREF wins', Step.LOCAL_PREF, cand({ localPref: 200 }), cand({ localPref: 100, asPath: [] }));
row('step 2: a missing LOCAL_PREF counts as the default (100) against 50', Step.LOCAL_PREF, cand(), cand({ localPref: 50 }));
row('step 3, RFC 4271 §9.1.2.2 a: shorter AS_PATH wins', Step.AS_PATH, cand({ asPath: seq(1) }), cand({ asPath: seq(1, 2), origin: 0 }));
row(
  'step 3: an AS_SET counts as one (RFC 4271 §9.1.2.2 a)',
  Step.AS_PATH,
  cand({
    asPath: [
      { type: AsPathSegmentType.AS_SEQUENCE, asns: [1] },
      { type: AsPathSegmentType.AS_SET, asns: [5, 6, 7] },
    ],
  }),
  cand({ asPath: seq(1, 2, 3) }),
);
row(
  'step 3: confederation segments count zero (RFC 5065 §5.3)',
  Step.AS_PATH,
  cand({
    asPath: [
      { type: AsPathSegmentType.AS_CONFED_SEQUENCE, asns: [64512, 64513, 64514] },
      { type: AsPathSegmentType.AS_SEQUENCE, asns: [1] },
    ],
  }),
  cand({ asPath: seq(1, 2) }),
);
row('step 4, RFC 4271 §9.1.2.2 b: lower ORIGIN wins (IGP over INCOMPLETE)', Step.ORIGIN, cand({ origin: 0 }), cand({ origin: 2, med: 0 }));
row('step 5, RFC 4271 §9.1.2.2 c: lower MED wins between routes from the same neighbour AS', Step.MED, cand({ med: 10 }), cand({ med: 20 }, { ebgp: true }));
row('step 5: a missing MED is 0 and beats 5 (RFC 4271 §9.1.2.2 c)', Step.MED, cand({}), cand({ med: 5 }));
row('step 5: medMissingAsWorst makes a missing MED lose', Step.MED, cand({ med: 5 }), cand({}), { ...OPTS, medMissingAsWorst: true });
row(
  'step 5: always-compare-med compares MED across neighbour ASes',
  Step.MED,
  cand({ asPath: seq(65002, 7), med: 1 }),
  cand({ asPath: seq(65003, 7), med: 9 }, { ebgp: true }),
  { ...OPTS, alwaysCompareMed: true },
);
row(
  'step 5 skipped across neighbour ASes by default: eBGP decides (RFC 4271 §9.1.2.2 c, d)',
  Step.EBGP,
  cand({ asPath: seq(65002, 7), med: 9 }, { ebgp: true }),
  cand({ asPath: seq(65003, 7), med: 1 }),
);
row('step 6, RFC 4271 §9.1.2.2 d: eBGP over iBGP', Step.EBGP, cand({}, { ebgp: true }), cand({}, { routerId: 1 }));
row('step 7, RFC 4271 §9.1.2.2 e: lower IGP cost to the next hop wins', Step.IGP_COST, cand({}, { igpCost: 1 }), cand({}, { igpCost: 5, routerId: 1 }));
row(
  'step 8, RFC 5004 §2: the oldest eBGP path wins when enabled',
  Step.OLDEST,
  cand({}, { ebgp: true, age: 1, routerId: 9999 }),
  cand({}, { ebgp: true, age: 2, routerId: 1 }),
  {
    ...OPTS,
    preferOldestEbgp: true,
  },
);
row('step 9, RFC 4271 §9.1.2.2 f: lower router ID wins', Step.ROUTER_ID, cand({}, { routerId: 5 }), cand({}, { routerId: 6 }));
row(
  'step 9, RFC 4456 §9: ORIGINATOR_ID stands in for the router ID',
  Step.ROUTER_ID,
  cand({ originatorId: '0.0.0.1' }, { routerId: 900 }),
  cand({}, { routerId: 5 }),
);
row(
  'step 10, RFC 4456 §9: shorter CLUSTER_LIST wins',
  Step.CLUSTER_LIST,
  cand({ originatorId: '0.0.0.7', clusterList: ['1.1.1.1'] }),
  cand({ originatorId: '0.0.0.7', clusterList: ['1.1.1.1', '2.2.2.2'] }),
);
row(
  'step 11, RFC 4271 §9.1.2.2 g: lower peer address wins',
  Step.PEER_ADDRESS,
  cand({}, { routerId: 5, peerKey: 'c6120001' }),
  cand({}, { routerId: 5, peerKey: 'c6120002' }),
);
row(
  'step 12, RFC 7911: lower path identifier from the same peer wins',
  Step.PATH_ID,
  cand({}, { routerId: 5, peerKey: 'aa', pathId: 1 }),
  cand({}, { routerId: 5, peerKey: 'aa', pathId: 2 }),
);

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

test('every insertion order gives the same best, MED cycle included (RFC 4271 §9.1.2.2 c; OpenBGPD rde_decide_test)', () => {
  // The classic intransitive MED triangle: A beats B on MED (same AS 1), B beats C on router
  // ID, C beats A on router ID (different ASes: MED not compared). A pairwise sort would
  // depend on arrival order; the RFC's set rule does not.
  const a = cand({ asPath: seq(1, 9), med: 10 }, { routerId: 30 });
  const b = cand({ asPath: seq(1, 9), med: 20 }, { routerId: 10 });
  const c = cand({ asPath: seq(2, 9), med: 0 }, { routerId: 20 });
  const d = cand({ asPath: seq(3, 9, 9) }, { routerId: 1 });
  const e = cand({ asPath: seq(1, 9), med: 10 }, { routerId: 40, reachable: false });
  const all = [a, b, c, d, e];
  const bests = new Set<Candidate>();
  for (const p of permutations(all)) bests.add(p[select(p, OPTS).best]);
  assert.equal(bests.size, 1);
  // B is removed by A's lower MED; C (router ID 20) then beats A (30).
  assert.deepEqual([...bests], [c]);
});

test('multipath: paths equal through the IGP-cost step (RFC 4271 §9.1.2.2 e) form the ECMP set, capped at maxPaths', () => {
  const p1 = cand({ asPath: seq(7, 8) }, { routerId: 3 });
  const p2 = cand({ asPath: seq(7, 8) }, { routerId: 1 });
  const p3 = cand({ asPath: seq(7, 8) }, { routerId: 2 });
  const worse = cand({ asPath: seq(7, 8), localPref: 50 });
  const o = { ...OPTS, maxPaths: 2 };
  const sel = select([p1, p2, worse, p3], o);
  assert.equal(sel.best, 1); // lowest router ID first
  assert.deepEqual(sel.multipath, [1, 3]); // p2 then p3, p1 cut by the cap, worse excluded
  assert.deepEqual(select([p1, p2, worse, p3], { ...o, maxPaths: 8 }).multipath, [1, 3, 0]);
});

test('no eligible path: select returns -1 (RFC 4271 §9.1.2.1)', () => {
  assert.deepEqual(select([cand({}, { reachable: false })], OPTS), { best: -1, multipath: [] });
});
