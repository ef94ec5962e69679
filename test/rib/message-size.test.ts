// RFC 8654 §4: a route whose UPDATE would exceed a peer's maximum message size is not sent to
// that peer (4096 octets without the Extended Message capability), and is withdrawn there if
// it had an older version. Issue 15: a 3,000-ASN AS_PATH accepted from a peer with extended
// messages was re-advertised as 12 KB UPDATEs to peers without them, which reset the session.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrs, ctx, decodeOut, drain, LOCAL_AS, makeRib, seq, summary, up, upd } from './helpers.js';

const longPath = () => seq(...Array.from({ length: 3000 }, (_, i) => 4200000000 + i));

test('RFC 8654 §4: a route too large for a peer without extended messages is withdrawn there, counted, and still sent to peers with them', () => {
  const rib = makeRib();
  const ext = ctx({ extendedMessage: true });
  const src = up(rib, { asn: 65009 }, undefined, ext);
  const fast = up(rib, { asn: 65001 }); // eBGP, 4-octet, next-hop-self: the byte-level export
  const general = up(rib, { asn: LOCAL_AS }); // iBGP: decode, transform, encode
  const big = up(rib, { asn: 65002 }, undefined, ext);
  for (const p of [src, fast, general, big]) rib.takeOutput(p);
  // The short version first: everybody has it.
  rib.ingest(src, upd(attrs({ asPath: seq(65009) }), ['10.9.0.0/16']));
  rib.ingest(src, upd(attrs({ asPath: seq(65009), nextHop: '2001:db8::9' }), ['2001:db8:9::/48']));
  rib.flush(0);
  for (const [p, c] of [
    [fast, ctx()],
    [general, ctx()],
    [big, ext],
  ] as const) {
    assert.deepEqual(summary(drain(rib, p, c)).nlri, ['10.9.0.0/16', '2001:db8:9::/48']);
  }
  // Then the same prefixes with a 3,000-ASN AS_PATH (12 KB of attributes).
  rib.ingest(src, upd(attrs({ asPath: longPath() }), ['10.9.0.0/16']));
  rib.ingest(src, upd(attrs({ asPath: longPath(), nextHop: '2001:db8::9' }), ['2001:db8:9::/48']));
  rib.flush(0);
  for (const p of [fast, general]) {
    const out = rib.takeOutput(p);
    for (const b of out) assert.ok(b.length <= 4096, `${p}: a ${b.length}-byte message to a peer without extended messages`);
    const s = summary(decodeOut(out));
    assert.deepEqual(s, { nlri: [], withdrawn: ['10.9.0.0/16', '2001:db8:9::/48'] }, `${p}: the long route counts as withdrawn`);
    assert.equal(rib.peerCounters(p)['message-too-large'] >= 2, true, `${p}: counted`);
  }
  const outBig = rib.takeOutput(big);
  assert.ok(
    outBig.some((b) => b.length > 4096 && b.length <= 65535),
    'the peer with extended messages gets it in one large UPDATE',
  );
  assert.deepEqual(summary(decodeOut(outBig, ext)).nlri, ['10.9.0.0/16', '2001:db8:9::/48']);
  assert.equal(rib.peerCounters(big)['message-too-large'], 0);
  const notices = rib.takeNotices();
  assert.ok(notices.some((n) => n.peer === fast && n.reason === 'message-too-large' && n.prefix === '10.9.0.0/16'));
  assert.ok(notices.some((n) => n.peer === general && n.reason === 'message-too-large' && n.prefix === '2001:db8:9::/48'));
  // A peer coming up later without extended messages is not sent it in its initial dump either.
  const late = up(rib, { asn: 65003 });
  const dump = rib.takeOutput(late);
  for (const b of dump) assert.ok(b.length <= 4096);
  assert.deepEqual(summary(decodeOut(dump)).nlri, []);
  // Back to a short path: announced again to everyone.
  rib.ingest(src, upd(attrs({ asPath: seq(65009, 65010) }), ['10.9.0.0/16']));
  rib.flush(0);
  for (const p of [fast, general, late]) assert.deepEqual(summary(drain(rib, p)).nlri, ['10.9.0.0/16']);
});

test('RFC 8654 §4: peers that differ in the Extended Message capability never share an update group', () => {
  const rib = makeRib();
  up(rib, { asn: 65001 });
  up(rib, { asn: 65002 }, undefined, ctx({ extendedMessage: true }));
  assert.equal(rib.stats().updateGroups, 2);
});
