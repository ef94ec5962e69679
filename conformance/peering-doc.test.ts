// docs/peering.md cannot drift from the suite (issue 17): its BGPPeer, BIRD and FRR blocks are
// regenerated with the functions the session conformance tests run (lab/tor.ts, birdConfig,
// frrConfig) and must equal the doc. No router needed: this compares text, and runs everywhere.
// To update the doc after changing a generator: node dist/conformance/peering-doc.js --write
import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { DOC, EXAMPLE, blockInDoc, fenced, peeringBlocks } from './peering-doc.js';

test('docs/peering.md embeds exactly the BGPPeer, BIRD and FRR configs the conformance generators produce', () => {
  const doc = fs.readFileSync(DOC, 'utf8');
  for (const [name, block] of peeringBlocks()) {
    const inDoc = blockInDoc(doc, name);
    assert.ok(inDoc !== undefined, `docs/peering.md has no generated block ${name}`);
    assert.equal(inDoc, fenced(block), `docs/peering.md block ${name} differs from the generator: run node dist/conformance/peering-doc.js --write`);
  }
});

test('the doc example is what it says: MD5 and GTSM on both sides, the node and ToR addresses and ASes', () => {
  const b = peeringBlocks();
  const peer = parseAllDocuments(b.get('tern-bgppeer')![1])[0].toJS() as { spec: Record<string, unknown> };
  assert.deepEqual(peer.spec, { node: EXAMPLE.node, peerIP: EXAMPLE.torAddr, asNumber: EXAMPLE.torAs, password: EXAMPLE.password, ttlSecurity: 1 });
  const bird = b.get('bird-tor')![1];
  assert.match(bird, new RegExp(`neighbor ${EXAMPLE.nodeAddr.replace(/\./g, '\\.')} as ${EXAMPLE.nodeAs};`));
  assert.match(bird, new RegExp(`password "${EXAMPLE.password}";`));
  assert.match(bird, /ttl security on;/);
  assert.match(bird, /graceful restart on;/);
  const frr = b.get('frr-tor')![1];
  assert.match(frr, new RegExp(`neighbor ${EXAMPLE.nodeAddr.replace(/\./g, '\\.')} password ${EXAMPLE.password}`));
  assert.match(frr, /ttl-security hops 1/);
  assert.match(frr, /^ bgp graceful-restart$/m);
});
