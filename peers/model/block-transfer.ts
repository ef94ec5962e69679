/**
 * IPAM blocks across the parser thread's boundary (issue 17): the most numerous resource by far
 * (250k in a large cluster), so they travel packed instead of as an object graph.
 *  - numbers in one Uint32Array whose buffer is transferred, not copied: per block its line,
 *    affinity node (index into `nodes`, or NONE), flags, prefix length, network address, and
 *    where its name ends in `names` and its prefix's text in `texts` (slicing a text is cheaper
 *    than printing an address again);
 *  - names as one string, each block's end offset among its words (a name is sliced out of it
 *    as its block is built, within the slices below);
 *  - affinity node names once each (a cluster has thousands of nodes, not 250k);
 *  - the rare allocations in use on a node as a short list.
 * Unpacking runs in slices that yield to the event loop, so a reload of a 250k-block file never
 * holds keepalives, probes and bgpctl for more than a slice (SLICE_MS).
 */
import type { IpamBlock } from '../types.js';
import type { Cidr } from './net.js';
import { NO_ALLOCATIONS } from './kinds-ipam.js';

export interface PackedBlocks {
  count: number;
  /** WORDS words per block (see pack). Its buffer is in the postMessage transfer list. */
  words: Uint32Array;
  /** Every block's name, one after the other. */
  names: string;
  /** Every block's canonical prefix text (Cidr.text), one after the other. */
  texts: string;
  nodes: string[];
  /** [block index, [ordinal, node][]] for the blocks with addresses in use on a node. */
  allocations: [number, [number, string][]][];
}

const WORDS = 10;
const NONE = 0xffffffff;
const DELETED = 1;
const IPV6 = 2;
/** Longest stretch of unpacking between two turns of the event loop. */
export const SLICE_MS = 10;

export function packBlocks(blocks: readonly IpamBlock[]): PackedBlocks {
  const p = new BlockPacker(blocks.length);
  for (const b of blocks) p.add(b);
  return p.finish();
}

/**
 * Packs blocks one at a time as the parser decodes them, so the parser thread never holds a
 * block's objects (issue 17: 250k blocks were ~9 objects each for the whole read, and marking
 * them again and again was a third of the parse).
 */
export class BlockPacker {
  private words: Uint32Array;
  private count = 0;
  private nameEnd = 0;
  private textEnd = 0;
  private readonly names: string[] = [];
  private readonly texts: string[] = [];
  private readonly nodeIndex = new Map<string, number>();
  private readonly nodes: string[] = [];
  private readonly allocations: PackedBlocks['allocations'] = [];

  constructor(expected = 1024) {
    this.words = new Uint32Array(Math.max(expected, 16) * WORDS);
  }

  add(b: IpamBlock): void {
    if ((this.count + 1) * WORDS > this.words.length) {
      const bigger = new Uint32Array(this.words.length * 2);
      bigger.set(this.words);
      this.words = bigger;
    }
    const words = this.words;
    let node = NONE;
    if (b.affinityNode !== undefined) {
      node = this.nodeIndex.get(b.affinityNode) ?? this.nodes.length;
      if (node === this.nodes.length) {
        this.nodeIndex.set(b.affinityNode, node);
        this.nodes.push(b.affinityNode);
      }
    }
    const o = this.count * WORDS;
    words[o] = b.line;
    words[o + 1] = node;
    words[o + 2] = (b.deleted ? DELETED : 0) | (b.cidr.family === 'ipv6' ? IPV6 : 0);
    words[o + 3] = b.cidr.len;
    // The network address as four 32-bit words, most significant first (IPv4: the last one).
    if (b.cidr.family === 'ipv4') words[o + 7] = Number(b.cidr.net);
    else {
      let net = b.cidr.net;
      for (let w = 7; w >= 4; w--) {
        words[o + w] = Number(net & 0xffffffffn);
        net >>= 32n;
      }
    }
    this.names.push(b.name);
    this.nameEnd += b.name.length;
    words[o + 8] = this.nameEnd;
    this.texts.push(b.cidr.text);
    this.textEnd += b.cidr.text.length;
    words[o + 9] = this.textEnd;
    if (b.allocationNodes.size) this.allocations.push([this.count, [...b.allocationNodes]]);
    this.count++;
  }

  finish(): PackedBlocks {
    return {
      count: this.count,
      words: this.words.slice(0, this.count * WORDS),
      names: this.names.join(''),
      texts: this.texts.join(''),
      nodes: this.nodes,
      allocations: this.allocations,
    };
  }
}

/**
 * The blocks packBlocks packed, equal to the originals (test/peers/block-transfer.test.ts), built
 * a slice at a time, each into `index` by name when given. `previous` (the last read's
 * `index`) lends its objects: a block
 * read again unchanged is the same object, one whose line or affinity moved keeps its Cidr, so a
 * reload of a large, mostly unchanged file allocates little on this thread and the collector
 * has little new to mark (issue 17: collector pauses of 100+ ms during such a reload).
 * Blocks are never mutated after parsing, so sharing them between models is safe.
 */
export async function unpackBlocks(p: PackedBlocks, previous?: ReadonlyMap<string, IpamBlock>, index?: Map<string, IpamBlock>): Promise<IpamBlock[]> {
  const alloc = new Map(p.allocations);
  const out: IpamBlock[] = new Array<IpamBlock>(p.count);
  const w = p.words;
  let sliceStart = performance.now();
  let nameStart = 0;
  let textStart = 0;
  for (let i = 0; i < p.count; i++) {
    // Checking the clock costs more than a block: look every 1024 blocks.
    if ((i & 1023) === 0 && performance.now() - sliceStart > SLICE_MS) {
      await new Promise((r) => setImmediate(r));
      sliceStart = performance.now();
    }
    const o = i * WORDS;
    const flags = w[o + 2];
    const len = w[o + 3];
    const name = p.names.slice(nameStart, w[o + 8]);
    nameStart = w[o + 8];
    const textFrom = textStart;
    textStart = w[o + 9];
    const a = alloc.get(i);
    const affinityNode = w[o + 1] === NONE ? undefined : p.nodes[w[o + 1]];
    const deleted = (flags & DELETED) !== 0;
    const before = previous?.get(name);
    let cidr: Cidr | undefined = before && sameCidr(before.cidr, w, o) ? before.cidr : undefined;
    if (cidr && before!.line === w[o] && before!.affinityNode === affinityNode && before!.deleted === deleted && !a && before!.allocationNodes.size === 0) {
      out[i] = before!;
      index?.set(name, before!);
      continue;
    }
    if (!cidr && flags & IPV6) {
      const net = (BigInt(w[o + 4]) << 96n) | (BigInt(w[o + 5]) << 64n) | (BigInt(w[o + 6]) << 32n) | BigInt(w[o + 7]);
      cidr = { family: 'ipv6', net, len, text: p.texts.slice(textFrom, textStart) };
    } else if (!cidr) {
      cidr = { family: 'ipv4', net: BigInt(w[o + 7]), len, text: p.texts.slice(textFrom, textStart) };
    }
    out[i] = { name, line: w[o], cidr, affinityNode, deleted, allocationNodes: a ? new Map(a) : NO_ALLOCATIONS };
    index?.set(name, out[i]);
  }
  return out;
}

/** Whether `c` is the prefix packed at word `o` (no BigInt made for an IPv4 one). */
function sameCidr(c: Cidr, w: Uint32Array, o: number): boolean {
  if (c.len !== w[o + 3] || (c.family === 'ipv6') !== ((w[o + 2] & IPV6) !== 0)) return false;
  if (c.family === 'ipv4') return Number(c.net) === w[o + 7];
  return c.net === ((BigInt(w[o + 4]) << 96n) | (BigInt(w[o + 5]) << 64n) | (BigInt(w[o + 6]) << 32n) | BigInt(w[o + 7]));
}
