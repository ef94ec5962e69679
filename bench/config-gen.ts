// Generators of large Calico model files, for bench/config-load.ts and the tests that check a
// large file loads (issue 17: a 50 MB file of 248k IPAMBlocks did not start within 60 s).
// The shapes are what `calicoctl get -o yaml` / `kubectl get ipamblocks -o yaml` print, with
// the fields a real cluster fills in, so the byte count per block matches the incident's file.

/** Header resources: the global BGPConfiguration, one pool, and the node `node-0` that loads it. */
function header(asNumber: number): string[] {
  return [
    `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  asNumber: ${asNumber}\n  nodeToNodeMeshEnabled: false\n`,
    'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pods\nspec:\n  cidr: 10.0.0.0/8\n  blockSize: 26\n  ipipMode: Never\n  natOutgoing: true\n',
    'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: node-0\nspec:\n  bgp:\n    ipv4Address: 198.18.0.1/24\n',
  ];
}

/**
 * `blocks` /26 IPAMBlocks of 10.0.0.0/8 spread over `nodes` nodes (block i belongs to node
 * i % nodes; node-0's are the ones this node originates). ~200 bytes per block. `flow` writes
 * each block in flow style (`{apiVersion: ..., spec: {...}}`), which the fast reader leaves to
 * the yaml package: the slowest way a valid file can be read.
 */
export function ipamBlocksYaml(blocks: number, nodes = 1000, flow = false): string {
  const docs = header(64512);
  for (let i = 0; i < blocks; i++) {
    const cidr = `10.${(i >> 10) & 255}.${(i >> 2) & 255}.${(i & 3) * 64}/26`;
    if (flow) {
      docs.push(
        `{apiVersion: crd.projectcalico.org/v1, kind: IPAMBlock, metadata: {name: 10-${(i >> 10) & 255}-${(i >> 2) & 255}-${(i & 3) * 64}-26}, spec: {cidr: ${cidr}, affinity: "host:node-${i % nodes}", strictAffinity: false, deleted: false}}\n`,
      );
      continue;
    }
    docs.push(
      `apiVersion: crd.projectcalico.org/v1\nkind: IPAMBlock\nmetadata:\n  name: 10-${(i >> 10) & 255}-${(i >> 2) & 255}-${(i & 3) * 64}-26\n` +
        `spec:\n  cidr: ${cidr}\n  affinity: host:node-${i % nodes}\n  strictAffinity: false\n  deleted: false\n  unallocated: []\n  attributes: []\n`,
    );
  }
  return docs.join('---\n');
}

/** `peers` global BGPPeers (every one active on every node), at 198.19.x.y, AS 65000+. */
export function bgpPeersYaml(peers: number): string {
  const docs = header(64512);
  for (let i = 0; i < peers; i++) {
    docs.push(
      `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: peer-${i}\nspec:\n  peerIP: 198.19.${i >> 8}.${i & 255}\n  asNumber: ${65000 + (i % 500)}\n`,
    );
  }
  return docs.join('---\n');
}

/** Issue 17's alias bomb ("billion laughs"): nine levels of nine aliases, 9^9 strings once expanded, ~1.2 KB. */
export function aliasBomb(): string {
  const lines = [
    'apiVersion: projectcalico.org/v3',
    'kind: BGPConfiguration',
    'metadata:',
    '  name: default',
    '  annotations:',
    '    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ];
  const names = 'abcdefghi';
  for (let i = 1; i < names.length; i++)
    lines.push(
      `    ${names[i]}: &${names[i]} [${Array(9)
        .fill(`*${names[i - 1]}`)
        .join(',')}]`,
    );
  lines.push('spec:', '  asNumber: 64512', '');
  return lines.join('\n');
}
