// `npm run bench -- smart-buffer [--runs 5]`
// What decided where smart-buffer is used (issue 12, docs/architecture.md "Buffers"):
//   nlri : the UPDATE hot path's inner loop, one IPv4 /24 NLRI (length octet + 3 address octets)
//          at a time into a 4096-byte message, hand-indexed Buffer vs SmartBuffer's running
//          offset. Measured in ns per prefix; a million-route ingest or dump runs this a million
//          times per peer.
//   open : the cold path smart-buffer now writes, encodeOpen with a typical capability set
//          (what Tern sends to a Calico ToR), in µs per OPEN: paid once per session.
// Rounds alternate the two forms so machine noise hits both; the median of the rounds is shown.

import { SmartBuffer } from 'smart-buffer';
import { encodeOpen } from '../bgp/codec/open.js';
import { CapCode, MsgType, type OpenMessage } from '../bgp/codec/types.js';
import { ResultRecorder } from './result.js';

const PREFIXES = 1000; // /24s per 4096-byte UPDATE: 1000 x 4 octets fits with the header and attributes
const REPEAT = 2000;

function nlriHand(addrs: Uint8Array, out: Buffer): number {
  let pos = 23;
  for (let i = 0; i < PREFIXES; i++) {
    out[pos++] = 24;
    out[pos++] = addrs[i * 3];
    out[pos++] = addrs[i * 3 + 1];
    out[pos++] = addrs[i * 3 + 2];
  }
  return pos;
}

function nlriSmart(addrs: Uint8Array, out: SmartBuffer): number {
  out.writeOffset = 23;
  for (let i = 0; i < PREFIXES; i++) {
    out
      .writeUInt8(24)
      .writeUInt8(addrs[i * 3])
      .writeUInt8(addrs[i * 3 + 1])
      .writeUInt8(addrs[i * 3 + 2]);
  }
  return out.writeOffset;
}

function timeNs(fn: () => void, ops: number): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / ops;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface SmartBufferResult {
  nlriHandNsPerPrefix: number;
  nlriSmartNsPerPrefix: number;
  nlriSmartOverHand: number;
  openUsPerMessage: number;
  rounds: { nlriHand: number; nlriSmart: number; openUs: number }[];
}

export function runSmartBufferBench(runs = 5): SmartBufferResult {
  const addrs = new Uint8Array(PREFIXES * 3);
  for (let i = 0; i < PREFIXES; i++) {
    addrs[i * 3] = 10;
    addrs[i * 3 + 1] = (i >> 8) & 255;
    addrs[i * 3 + 2] = i & 255;
  }
  const hand = Buffer.alloc(4096);
  const smart = SmartBuffer.fromSize(4096);
  smart.writeBuffer(Buffer.alloc(4096)); // writeOffset may only move within what was written
  const open: OpenMessage = {
    type: MsgType.OPEN,
    version: 4,
    myAs: 64512,
    holdTime: 90,
    bgpId: '198.18.0.1',
    otherParams: [],
    capabilities: [
      { code: CapCode.MULTIPROTOCOL, afi: 1, safi: 1 },
      { code: CapCode.MULTIPROTOCOL, afi: 2, safi: 1 },
      { code: CapCode.ROUTE_REFRESH },
      { code: CapCode.ENHANCED_ROUTE_REFRESH },
      { code: CapCode.AS4, asn: 64512 },
      {
        code: CapCode.GRACEFUL_RESTART,
        restarting: false,
        notification: true,
        restartTime: 120,
        families: [
          { afi: 1, safi: 1, forwardingPreserved: true },
          { afi: 2, safi: 1, forwardingPreserved: true },
        ],
      },
      { code: CapCode.ADD_PATH, families: [{ afi: 1, safi: 1, sendReceive: 3 }] },
      { code: CapCode.FQDN, hostname: 'node-a', domain: '' },
    ],
  };
  // Warm both forms up so the rounds measure optimised code.
  for (let i = 0; i < 200; i++) {
    nlriHand(addrs, hand);
    nlriSmart(addrs, smart);
    encodeOpen(open);
  }
  if (nlriHand(addrs, hand) !== nlriSmart(addrs, smart) || !hand.subarray(23, 23 + PREFIXES * 4).equals(smart.toBuffer().subarray(23, 23 + PREFIXES * 4))) {
    throw new Error('the two NLRI writers disagree: the comparison would be meaningless');
  }
  const rounds: SmartBufferResult['rounds'] = [];
  for (let r = 0; r < runs; r++) {
    const h = timeNs(() => {
      for (let k = 0; k < REPEAT; k++) nlriHand(addrs, hand);
    }, REPEAT * PREFIXES);
    const s = timeNs(() => {
      for (let k = 0; k < REPEAT; k++) nlriSmart(addrs, smart);
    }, REPEAT * PREFIXES);
    const o =
      timeNs(() => {
        for (let k = 0; k < 20_000; k++) encodeOpen(open);
      }, 20_000) / 1000;
    rounds.push({ nlriHand: h, nlriSmart: s, openUs: o });
  }
  const nlriHandNsPerPrefix = median(rounds.map((r) => r.nlriHand));
  const nlriSmartNsPerPrefix = median(rounds.map((r) => r.nlriSmart));
  return {
    nlriHandNsPerPrefix,
    nlriSmartNsPerPrefix,
    nlriSmartOverHand: median(rounds.map((r) => r.nlriSmart / r.nlriHand)),
    openUsPerMessage: median(rounds.map((r) => r.openUs)),
    rounds,
  };
}

/** `npm run bench -- smart-buffer [--runs 5]`: the result goes through bench/result.ts. */
export async function main(argv: string[]): Promise<number> {
  const rec = new ResultRecorder('smart-buffer', argv);
  const i = argv.indexOf('--runs');
  const runs = i >= 0 ? Number(argv[i + 1]) : 5;
  const res = runSmartBufferBench(runs);
  console.log(JSON.stringify(res, null, 2));
  rec.finish(res, [], { suffix: `-r${runs}` });
  return 0;
}

if (require.main === module) void main(process.argv.slice(2)).then((c) => process.exit(c));
