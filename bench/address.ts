// `npm run bench -- address [--runs 5]`
// What decided which address paths are ip-address's and which are hand-written (issue 12,
// docs/architecture.md "Addresses"). Each case runs the same inputs through
// bgp/codec/address.ts and through ip-address alone, in ns per operation:
//   ipv4-parse  : dotted quad -> number/bytes (every FIB change, every IPAM block, next hops)
//   ipv6-parse  : canonical IPv6 text -> 16 bytes (what the FIB reads back once per route)
//   ipv6-quad   : IPv6 with an embedded dotted quad (::ffff:a.b.c.d); the module hands these to
//                 ip-address, so the two should cost about the same
//   ipv4-cidr   : 'a.b.c.d/len' -> network and length (the IPAM block path, issue 17)
//   ipv6-cidr   : 'x::/len' -> network bytes and length
//   ipv6-format : 16 bytes -> RFC 5952 text (the RIB's and the FIB's prefixes, logs)
// A path stays hand-written only where ip-address costs at least KEEP_RATIO times as much: that
// is each case's target. Rounds alternate the two sides so machine noise hits both; the median
// of each round's ratio decides (a ratio within one run survives a busy machine better than ns).

import { Address4, Address6 } from 'ip-address';
import { formatIpv6, ipv4Number, parseCidr, parseIpv6 } from '../bgp/codec/address.js';
import { prng } from './prng.js';
import { ResultRecorder, type TargetVerdict } from './result.js';

const N = 2000; // distinct inputs per case
const KEEP_RATIO = 2;

interface Case {
  name: string;
  /** Whether the module's path for this case is hand-written (else it is ip-address's too). */
  handWritten: boolean;
  module: (i: number) => unknown;
  ipAddress: (i: number) => unknown;
}

function inputs(): Case[] {
  const r = prng(2026);
  const v4 = Array.from({ length: N }, () => Math.floor(r() * 2 ** 32));
  const v4Text = v4.map((n) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`);
  const v6Bytes = Array.from({ length: N }, () => {
    const b = Buffer.alloc(16);
    b.writeUInt32BE(0x20010db8, 0);
    b.writeUInt16BE(Math.floor(r() * 65536), 4);
    b.writeUInt16BE(Math.floor(r() * 65536), 6);
    if (r() < 0.5) b.writeUInt16BE(Math.floor(r() * 65536), 14);
    return b;
  });
  const v6Text = v6Bytes.map((b) => formatIpv6(b));
  const quadText = v4Text.map((t) => `::ffff:${t}`);
  const cidr4 = v4.map((n, i) => {
    const len = 16 + (i % 17);
    const net = len === 32 ? n : (n & ((0xffffffff << (32 - len)) >>> 0)) >>> 0;
    return `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${len}`;
  });
  const cidr6 = v6Bytes.map((b, i) => `${formatIpv6(Buffer.concat([b.subarray(0, 8), Buffer.alloc(8)]))}/${48 + (i % 17)}`);
  const v6Arrays = v6Bytes.map((b) => [...b]);
  return [
    { name: 'ipv4-parse', handWritten: true, module: (i) => ipv4Number(v4Text[i]), ipAddress: (i) => new Address4(v4Text[i]).toArray() },
    { name: 'ipv6-parse', handWritten: true, module: (i) => parseIpv6(v6Text[i]), ipAddress: (i) => new Address6(v6Text[i]).toByteArray() },
    { name: 'ipv6-quad', handWritten: false, module: (i) => parseIpv6(quadText[i]), ipAddress: (i) => new Address6(quadText[i]).toByteArray() },
    {
      name: 'ipv4-cidr',
      handWritten: true,
      module: (i) => parseCidr(cidr4[i]),
      ipAddress: (i) => {
        const a = new Address4(cidr4[i]);
        return [a.startAddress().bigInt(), a.subnetMask, a.correctForm() !== a.startAddress().correctForm()];
      },
    },
    {
      name: 'ipv6-cidr',
      handWritten: true,
      module: (i) => parseCidr(cidr6[i]),
      ipAddress: (i) => {
        const a = new Address6(cidr6[i]);
        return [a.startAddress().toByteArray(), a.subnetMask, a.bigInt() !== a.startAddress().bigInt()];
      },
    },
    { name: 'ipv6-format', handWritten: true, module: (i) => formatIpv6(v6Bytes[i]), ipAddress: (i) => Address6.fromByteArray(v6Arrays[i]).correctForm() },
  ];
}

/** ns per call of `fn` over all N inputs, `reps` times. */
function timeNs(fn: (i: number) => unknown, reps: number): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < reps; k++) for (let i = 0; i < N; i++) if (fn(i)) sink++;
  const ns = Number(process.hrtime.bigint() - t0) / (reps * N);
  if (sink < 0) console.log(sink); // keeps the calls from being optimised away
  return ns;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface AddressCaseResult {
  name: string;
  handWritten: boolean;
  moduleNs: number;
  ipAddressNs: number;
  /** Median over rounds of ipAddressNs / moduleNs within the round. */
  ipAddressOverModule: number;
  rounds: { moduleNs: number; ipAddressNs: number }[];
}

export function runAddressBench(runs = 5): AddressCaseResult[] {
  const cases = inputs();
  for (const c of cases) {
    // Warm both sides so the rounds measure optimised code.
    timeNs(c.module, 20);
    timeNs(c.ipAddress, 5);
  }
  return cases.map((c) => {
    const rounds: AddressCaseResult['rounds'] = [];
    for (let r = 0; r < runs; r++) {
      const moduleNs = timeNs(c.module, 50);
      const ipAddressNs = timeNs(c.ipAddress, 10);
      rounds.push({ moduleNs, ipAddressNs });
    }
    return {
      name: c.name,
      handWritten: c.handWritten,
      moduleNs: median(rounds.map((x) => x.moduleNs)),
      ipAddressNs: median(rounds.map((x) => x.ipAddressNs)),
      ipAddressOverModule: median(rounds.map((x) => x.ipAddressNs / x.moduleNs)),
      rounds,
    };
  });
}

/** `npm run bench -- address [--runs 5]`: the result goes through bench/result.ts. */
export async function main(argv: string[]): Promise<number> {
  const rec = new ResultRecorder('address', argv);
  const i = argv.indexOf('--runs');
  const runs = i >= 0 ? Number(argv[i + 1]) : 5;
  const res = runAddressBench(runs);
  for (const c of res) {
    console.log(
      `${c.name.padEnd(12)} module ${c.moduleNs.toFixed(0).padStart(6)} ns  ip-address ${c.ipAddressNs.toFixed(0).padStart(6)} ns  ratio ${c.ipAddressOverModule.toFixed(1)}x  (${c.handWritten ? 'hand-written' : 'ip-address'})`,
    );
  }
  const targets: TargetVerdict[] = res
    .filter((c) => c.handWritten)
    .map((c) => ({
      name: `${c.name} hand-written path earns its place`,
      goal: `ip-address costs >= ${KEEP_RATIO}x the module's hand-written path`,
      measured: `${c.ipAddressOverModule.toFixed(1)}x (${c.moduleNs.toFixed(0)} ns vs ${c.ipAddressNs.toFixed(0)} ns)`,
      met: c.ipAddressOverModule >= KEEP_RATIO,
    }));
  rec.finish({ runs, cases: res }, targets, { suffix: `-r${runs}`, problems: runs < 3 ? ['fewer than 3 rounds'] : [] });
  return 0;
}
