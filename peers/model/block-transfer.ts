/**
 * IPAM blocks across the parser thread's boundary (issue 17): the most numerous resource by far
 * (250k in a large cluster), so they travel packed instead of as an object graph.
 *  - numbers in one Uint32Array whose buffer is transferred, not copied: per block its line,
 *    affinity node (index into `nodes`, or NONE), flags, prefix length, network address and
 *    where its name ends in `names`;
 *  - names as one string, each block's end offset among its words (a name is sliced out of it
 *    as its block is built, within the slices below);
 *  - affinity node names once each (a cluster has thousands of nodes, not 250k);
 *  - the rare allocations in use on a node as a short list.
 * Unpacking runs in slices that yield to the event loop, so a reload of a 250k-block file never
 * holds keepalives, probes and bgpctl for more than a slice (SLICE_MS).
 */
import type { IpamBlock } from '../types.js';
import { bigintToIp, type Cidr } from './net.js';
import { NO_ALLOCATIONS } from './kinds-ipam.js';

export interface PackedBlocks {
  count: number;
  /** WORDS words per block (see pack). Its buffer is in the postMessage transfer list. */
  words: Uint32Array;
  /** Every block's name, one after the other. */
  names: string;
  nodes: string[];
  /** [block index, [ordinal, node][]] for the blocks with addresses in use on a node. */
  allocations: [number, [number, string][]][];
}

const WORDS = 9;
const NONE = 0xffffffff;
const DELETED = 1;
const IPV6 = 2;
/** Longest stretch of unpacking between two turns of the event loop. */
export const SLICE_MS = 10;

export function packBlocks(blocks: readonly IpamBlock[]): PackedBlocks {
  const words = new Uint32Array(blocks.length * WORDS);
  const nodeIndex = new Map<string, number>();
  const nodes: string[] = [];
  const names: string[] = [];
  let nameEnd = 0;
  const allocations: PackedBlocks['allocations'] = [];
  blocks.forEach((b, i) => {
    names.push(b.name);
    nameEnd += b.name.length;
    let node = NONE;
    if (b.affinityNode !== undefined) {
      node = nodeIndex.get(b.affinityNode) ?? nodes.length;
      if (node === nodes.length) { nodeIndex.set(b.affinityNode, node); nodes.push(b.affinityNode); }
    }
    const o = i * WORDS;
    words[o] = b.line;
    words[o + 1] = node;
    words[o + 2] = (b.deleted ? DELETED : 0) | (b.cidr.family === 'ipv6' ? IPV6 : 0);
    words[o + 3] = b.cidr.len;
    // The network address as four 32-bit words, most significant first (IPv4: the last one).
    let net = b.cidr.net;
    for (let w = 7; w >= 4; w--) { words[o + w] = Number(net & 0xffffffffn); net >>= 32n; }
    words[o + 8] = nameEnd;
    if (b.allocationNodes.size) allocations.push([i, [...b.allocationNodes]]);
  });
  return { count: blocks.length, words, names: names.join(''), nodes, allocations };
}

/** The blocks packBlocks packed, equal to the originals (test/peers/limits.test.ts), built a slice at a time. */
export async function unpackBlocks(p: PackedBlocks): Promise<IpamBlock[]> {
  const alloc = new Map(p.allocations);
  const out: IpamBlock[] = new Array<IpamBlock>(p.count);
  const w = p.words;
  let sliceStart = performance.now();
  let nameStart = 0;
  for (let i = 0; i < p.count; i++) {
    // Checking the clock costs more than a block: look every 1024 blocks.
    if ((i & 1023) === 0 && performance.now() - sliceStart > SLICE_MS) {
      await new Promise((r) => setImmediate(r));
      sliceStart = performance.now();
    }
    const o = i * WORDS;
    const flags = w[o + 2];
    const len = w[o + 3];
    let cidr: Cidr;
    if (flags & IPV6) {
      const net = (BigInt(w[o + 4]) << 96n) | (BigInt(w[o + 5]) << 64n) | (BigInt(w[o + 6]) << 32n) | BigInt(w[o + 7]);
      cidr = { family: 'ipv6', net, len, text: `${bigintToIp('ipv6', net)}/${len}` };
    } else {
      const n = w[o + 7];
      cidr = { family: 'ipv4', net: BigInt(n), len, text: `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${len}` };
    }
    const a = alloc.get(i);
    const name = p.names.slice(nameStart, w[o + 8]);
    nameStart = w[o + 8];
    out[i] = {
      name, line: w[o], cidr,
      affinityNode: w[o + 1] === NONE ? undefined : p.nodes[w[o + 1]],
      deleted: (flags & DELETED) !== 0,
      allocationNodes: a ? new Map(a) : NO_ALLOCATIONS,
    };
  }
  return out;
}
