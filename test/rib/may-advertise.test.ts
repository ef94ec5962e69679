// mayAdvertise as a truth table (issue 12): every source kind x target kind x route reflector on
// or off, written out row by row from the RFC sentences (not computed), then every well-known
// community over every row. A change to the export rules shows up as the exact row it changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mayAdvertise, type ExportSource, type ExportTarget, type LocalSpeaker } from '../../bgp/rib/export.js';
import { LLGR_STALE, NO_ADVERTISE, NO_EXPORT, NO_EXPORT_SUBCONFED } from '../../bgp/codec/communities.js';

type Src = 'local' | 'ebgp' | 'ibgp-client' | 'ibgp-nonclient';
type Dst = 'ebgp' | 'ibgp-client' | 'ibgp-nonclient';

const source: Record<Src, ExportSource> = {
  local: { local: true, ebgp: false, rrClient: false, routerId: '198.18.0.1' },
  ebgp: { local: false, ebgp: true, rrClient: false, routerId: '198.18.0.2' },
  'ibgp-client': { local: false, ebgp: false, rrClient: true, routerId: '198.18.0.3' },
  'ibgp-nonclient': { local: false, ebgp: false, rrClient: false, routerId: '198.18.0.4' },
};
const target: Record<Dst, ExportTarget> = {
  ebgp: { ebgp: true, rrClient: false, nextHopMode: 'Auto' },
  'ibgp-client': { ebgp: false, rrClient: true, nextHopMode: 'Auto' },
  'ibgp-nonclient': { ebgp: false, rrClient: false, nextHopMode: 'Auto' },
};
const speaker = (rr: boolean): LocalSpeaker => ({ localAs: 64512, routerId: '198.18.0.1', clusterId: rr ? '198.18.0.1' : undefined, defaultLocalPref: 100 });

// [source, target, route reflector?, advertised?, the rule]
const TABLE: [Src, Dst, boolean, boolean, string][] = [
  ['local', 'ebgp', false, true, 'RFC 4271 §9.1.3: our own routes go to every peer'],
  ['local', 'ibgp-client', false, true, 'RFC 4271 §9.1.3'],
  ['local', 'ibgp-nonclient', false, true, 'RFC 4271 §9.1.3'],
  ['local', 'ebgp', true, true, 'RFC 4271 §9.1.3'],
  ['local', 'ibgp-client', true, true, 'RFC 4271 §9.1.3'],
  ['local', 'ibgp-nonclient', true, true, 'RFC 4271 §9.1.3'],
  ['ebgp', 'ebgp', false, true, 'RFC 4271 §9.1.3: eBGP-learned routes go to every peer'],
  ['ebgp', 'ibgp-client', false, true, 'RFC 4271 §9.1.3'],
  ['ebgp', 'ibgp-nonclient', false, true, 'RFC 4271 §9.1.3'],
  ['ebgp', 'ebgp', true, true, 'RFC 4271 §9.1.3'],
  ['ebgp', 'ibgp-client', true, true, 'RFC 4271 §9.1.3'],
  ['ebgp', 'ibgp-nonclient', true, true, 'RFC 4271 §9.1.3'],
  ['ibgp-client', 'ebgp', false, true, 'RFC 4271 §9.1.3: anything may go to an external peer'],
  ['ibgp-client', 'ibgp-client', false, false, 'RFC 4271 §9.2: not iBGP to iBGP without reflection'],
  ['ibgp-client', 'ibgp-nonclient', false, false, 'RFC 4271 §9.2'],
  ['ibgp-client', 'ebgp', true, true, 'RFC 4271 §9.1.3'],
  ['ibgp-client', 'ibgp-client', true, true, 'RFC 4456 §6: from a client, reflect to the clients'],
  ['ibgp-client', 'ibgp-nonclient', true, true, 'RFC 4456 §6: from a client, reflect to the non-clients'],
  ['ibgp-nonclient', 'ebgp', false, true, 'RFC 4271 §9.1.3'],
  ['ibgp-nonclient', 'ibgp-client', false, false, 'RFC 4271 §9.2'],
  ['ibgp-nonclient', 'ibgp-nonclient', false, false, 'RFC 4271 §9.2'],
  ['ibgp-nonclient', 'ebgp', true, true, 'RFC 4271 §9.1.3'],
  ['ibgp-nonclient', 'ibgp-client', true, true, 'RFC 4456 §6: from a non-client, reflect to the clients'],
  ['ibgp-nonclient', 'ibgp-nonclient', true, false, 'RFC 4456 §6: ... and not to the other non-clients'],
];

test('RFC 4271 §9.1.3, §9.2, RFC 4456 §6: mayAdvertise, every source x target x reflector row', () => {
  assert.equal(TABLE.length, 4 * 3 * 2, 'every combination has a row');
  assert.equal(new Set(TABLE.map(([s, d, rr]) => `${s} ${d} ${rr}`)).size, TABLE.length, 'no row twice');
  for (const [s, d, rr, want, why] of TABLE) {
    assert.equal(mayAdvertise(source[s], target[d], {}, speaker(rr)), want, `${s} -> ${d}${rr ? ' (RR)' : ''}: ${why}`);
  }
});

test('RFC 1997 §2, RFC 9494 §4.5: the well-known communities over every row', () => {
  for (const [s, d, rr, base] of TABLE) {
    const row = `${s} -> ${d}${rr ? ' (RR)' : ''}`;
    const may = (c: number) => mayAdvertise(source[s], target[d], { communities: [0xfde80001, c] }, speaker(rr));
    assert.equal(may(NO_ADVERTISE), false, `${row}: NO_ADVERTISE goes to no peer`);
    // NO_EXPORT and NO_EXPORT_SUBCONFED: not outside the AS (Tern has no confederations, so the
    // AS is the confederation), otherwise as without them.
    assert.equal(may(NO_EXPORT), d === 'ebgp' ? false : base, `${row}: NO_EXPORT`);
    assert.equal(may(NO_EXPORT_SUBCONFED), d === 'ebgp' ? false : base, `${row}: NO_EXPORT_SUBCONFED`);
    // LLGR_STALE: only to peers that announced LLGR, and Tern sends them to nobody.
    assert.equal(may(LLGR_STALE), false, `${row}: LLGR_STALE`);
    // Any other community changes nothing.
    assert.equal(may(0xfde80002), base, `${row}: an ordinary community`);
  }
});
