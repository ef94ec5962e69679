// The generated config blocks of docs/peering.md: the doc's example ToR peering rendered by the
// same functions the session conformance tests use (lab/tor.ts, birdConfig, frrConfig), so a
// change to what the suite runs changes the doc, or peering-doc.test.ts fails.
//   npm run build && node dist/conformance/peering-doc.js --write   rewrites the blocks in place
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { birdConfig } from './lab/bird.js';
import { frrConfig } from './lab/frr.js';
import { birdTorNeighbor, frrTorNeighbor, ternTorPeer, torGracefulRestart, type TorPeering } from './lab/tor.js';

export const DOC = path.resolve(__dirname, '..', '..', 'docs', 'peering.md');

/** The doc's example: node-a in rack 10 and its ToR, MD5 and GTSM on, graceful restart on. */
export const EXAMPLE: TorPeering = {
  node: 'node-a',
  nodeAddr: '198.18.10.11',
  nodeAs: 64512,
  name: 'rack10-tor',
  torAddr: '198.18.10.1',
  torAs: 65010,
  password: 'rack10-md5-secret',
  gtsm: true,
};

/** Block name -> [fence language, text]. */
export function peeringBlocks(p: TorPeering = EXAMPLE): Map<string, [string, string]> {
  const { name, ...spec } = ternTorPeer(p);
  const bgpPeer = stringify({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec });
  const bird = birdConfig({ routerId: p.torAddr, neighbors: [birdTorNeighbor(p, 'node_a')] }, '/var/log/bird.log');
  const frr = frrConfig(
    { asn: p.torAs, routerId: p.torAddr, gracefulRestart: torGracefulRestart(p), neighbors: [frrTorNeighbor(p)] },
    'rack10-tor',
    '/var/log/frr/bgpd.log',
  );
  return new Map([
    ['tern-bgppeer', ['yaml', bgpPeer]],
    ['bird-tor', ['', bird]],
    ['frr-tor', ['', frr]],
  ]);
}

const begin = (name: string): string => `<!-- generated: ${name} (conformance/peering-doc.ts; edit the generator, not this block) -->`;
const end = (name: string): string => `<!-- end generated: ${name} -->`;

/** The doc's text between a block's markers (the fenced block), or undefined when missing. */
export function blockInDoc(doc: string, name: string): string | undefined {
  const a = doc.indexOf(begin(name));
  const b = doc.indexOf(end(name));
  if (a < 0 || b < a) return undefined;
  return doc.slice(a + begin(name).length, b).replace(/^\n/, '');
}

export const fenced = ([lang, text]: [string, string]): string => '```' + lang + '\n' + text + '```\n';

/** The doc with every block replaced by what the generator gives now. */
export function regenerate(doc: string): string {
  let out = doc;
  for (const [name, block] of peeringBlocks()) {
    const a = out.indexOf(begin(name));
    const b = out.indexOf(end(name));
    if (a < 0 || b < a) throw new Error(`${DOC}: no markers for block ${name}`);
    out = out.slice(0, a) + begin(name) + '\n' + fenced(block) + out.slice(b);
  }
  return out;
}

if (require.main === module && process.argv.includes('--write')) {
  fs.writeFileSync(DOC, regenerate(fs.readFileSync(DOC, 'utf8')));
  process.stdout.write(`${DOC}: generated blocks rewritten\n`);
}
