// `npm run bench -- codec [--n 1000000] [--runs 5] [--only mixed-v4,...]`
// Decode and encode rates of the wire codec on realistic UPDATE streams, in prefixes/s and
// ns/prefix. Workloads:
//   packed-v4 : IPv4 /24s packed ~1000 per UPDATE, one attribute set (a route reflector dump)
//   mixed-v4  : full-table-like, ~10 prefixes per UPDATE, AS paths of 2-7, some communities
//   packed-v6 : IPv6 /48s via MP_REACH_NLRI, packed
//   mixed-v6  : IPv6 /32-/48 via MP_REACH_NLRI, ~10 per UPDATE
// Each is decoded with decodeMessage (plus a pass reading every prefix in place through the
// PrefixList, as the RIB does) and encoded with packUpdates from Prefix objects.

import * as os from 'node:os';
import { decodeMessage, encodeAttributes, packUpdates } from '../bgp/codec/index.js';
import {
  AFI_IPV4,
  AFI_IPV6,
  DEFAULT_CONTEXT,
  type Family,
  type PathAttributes,
  type Prefix,
  type SessionContext,
  type UpdateMessage,
} from '../bgp/codec/types.js';
import { ResultRecorder, type TargetVerdict } from './result.js';
import { prng as rng } from './prng.js';

interface Group {
  attrs: PathAttributes;
  prefixes: Prefix[];
}

interface Workload {
  name: string;
  family: Family;
  groups: Group[];
  prefixes: number;
  messages: Buffer[];
}

function realisticAttrs(r: () => number, family: Family, i: number): PathAttributes {
  const hops = 2 + Math.floor(r() * 6); // 2..7
  const asns = [64512 + (i % 1000)];
  for (let h = 1; h < hops; h++) asns.push(r() < 0.2 ? 4200000000 + Math.floor(r() * 1e6) : 1 + Math.floor(r() * 64000));
  const a: PathAttributes = { origin: r() < 0.9 ? 0 : 2, asPath: [{ type: 2, asns }] };
  if (family === 'ipv4') a.nextHop = `198.18.${(i >> 8) & 255}.${i & 255}`;
  if (r() < 0.3) a.med = Math.floor(r() * 1000);
  if (r() < 0.6) {
    const n = 1 + Math.floor(r() * 6);
    a.communities = Array.from({ length: n }, () => ((asns[0] << 16) | Math.floor(r() * 65535)) >>> 0);
  }
  if (r() < 0.1) a.largeCommunities = [{ globalAdmin: 4200000000, local1: 1, local2: Math.floor(r() * 100) }];
  return a;
}

function v4(n: number, len: number): Prefix {
  const addr = Buffer.allocUnsafe(4).fill(0); // pooled, as parsePrefix allocates
  // Distinct /24 blocks from 10.0.0.0 upwards (wrapping), masked to the prefix length.
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  addr.writeUInt32BE((((0x0a000000 + n * 256) % 2 ** 32) & mask) >>> 0);
  return { afi: AFI_IPV4, len, addr };
}

function v6(n: number, len: number): Prefix {
  const addr = Buffer.allocUnsafe(16).fill(0);
  addr.writeUInt32BE(0x20010db8, 0);
  addr.writeUInt32BE((n << 8) >>> 0, 4); // /48s and shorter under 2001:db8::/32
  if (len < 48) addr.fill(0, 4 + Math.ceil((len - 32) / 8));
  return { afi: AFI_IPV6, len, addr };
}

function buildWorkload(name: string, family: Family, n: number, perUpdate: number, ctx: SessionContext, seed: number): Workload {
  const r = rng(seed);
  const groups: Group[] = [];
  let made = 0;
  let idx = 0;
  while (made < n) {
    const k = perUpdate >= 100 ? perUpdate : Math.max(1, Math.round(perUpdate * (0.5 + r())));
    const prefixes: Prefix[] = [];
    for (let j = 0; j < k && made < n; j++, made++, idx++) {
      if (family === 'ipv4') prefixes.push(perUpdate >= 100 ? v4(idx, 24) : v4(idx, r() < 0.6 ? 24 : 20 + Math.floor(r() * 4)));
      else prefixes.push(perUpdate >= 100 ? v6(idx, 48) : v6(idx, r() < 0.7 ? 48 : 44));
    }
    groups.push({ attrs: perUpdate >= 100 ? realisticAttrs(rng(7), family, 0) : realisticAttrs(r, family, groups.length), prefixes });
  }
  const messages: Buffer[] = [];
  for (const g of groups) messages.push(...encodeGroup(g, family, ctx));
  return { name, family, groups, prefixes: made, messages };
}

function encodeGroup(g: Group, family: Family, ctx: SessionContext): Buffer[] {
  const attrs = encodeAttributes(g.attrs, ctx);
  return packUpdates({ attrs, family, reach: g.prefixes, nextHop: family === 'ipv6' ? { global: '2001:db8::1', linkLocal: 'fe80::1' } : undefined }, ctx);
}

/**
 * Best of `runs` timings of fn: wall-clock ns, and process CPU ns (user + system, all threads).
 * On a shared machine CPU time is the steadier figure: waiting for a core is not counted.
 */
function time(runs: number, fn: () => number): { ns: number; cpuNs: number; check: number } {
  let best = Infinity;
  let bestCpu = Infinity;
  let check = 0;
  for (let i = 0; i < 3; i++) fn(); // warm up: let the JIT settle before measuring
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    check = fn();
    const dt = Number(process.hrtime.bigint() - t0);
    const c = process.cpuUsage(c0);
    best = Math.min(best, dt);
    bestCpu = Math.min(bestCpu, (c.user + c.system) * 1000);
  }
  return { ns: best, cpuNs: bestCpu, check };
}

function decodeAll(w: Workload, ctx: SessionContext, touch: boolean): number {
  let count = 0;
  for (const m of w.messages) {
    const u = decodeMessage(m, ctx) as UpdateMessage;
    const list = w.family === 'ipv4' ? u.nlri : u.mpReach!.nlri;
    if (!touch) {
      count += list.length;
      continue;
    }
    // Read each prefix in place as the RIB does (length and first address byte).
    const b = list.buf;
    for (let i = 0; i < list.length; i++) count += list.len(i) + b[list.offset(i)] > -1 ? 1 : 0;
  }
  return count;
}

export async function main(argv: string[]): Promise<number> {
  let n = 1_000_000;
  let runs = 5;
  let only: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--n') n = Number(argv[++i]);
    else if (argv[i] === '--runs') runs = Number(argv[++i]);
    else if (argv[i] === '--only') only = (argv[++i] ?? '').split(',');
    else {
      console.error('usage: codec [--n 1000000] [--runs 5] [--only packed-v4,mixed-v4,packed-v6,mixed-v6]');
      return 2;
    }
  }
  const rec = new ResultRecorder('codec', argv);
  const ctx: SessionContext = { ...DEFAULT_CONTEXT };
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  console.log(
    `codec bench: ${n} prefixes per workload, best of ${runs}; node ${process.version}; ${os.cpus().length} x ${cpu}; load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}; ${new Date().toISOString()}`,
  );
  const specs: [string, Family, number, number][] = [
    ['packed-v4', 'ipv4', 1000, 1],
    ['mixed-v4', 'ipv4', 10, 2],
    ['packed-v6', 'ipv6', 1000, 3],
    ['mixed-v6', 'ipv6', 10, 4],
  ];
  const rows: string[][] = [['workload', 'UPDATEs', 'pfx/UPDATE', 'op', 'wall ms', 'wall ns/pfx', 'cpu ms', 'cpu ns/pfx', 'Mpfx/s (cpu)']];
  const data: { workload: string; updates: number; prefixes: number; op: string; wallMs: number; cpuMs: number; cpuNsPerPrefix: number }[] = [];
  const row = (w: Workload, op: string, t: { ns: number; cpuNs: number }): void => {
    const f = (x: number, d = 1): string => x.toFixed(d);
    data.push({
      workload: w.name,
      updates: w.messages.length,
      prefixes: w.prefixes,
      op,
      wallMs: t.ns / 1e6,
      cpuMs: t.cpuNs / 1e6,
      cpuNsPerPrefix: t.cpuNs / w.prefixes,
    });
    rows.push([
      w.name,
      String(w.messages.length),
      f(w.prefixes / w.messages.length),
      op,
      f(t.ns / 1e6),
      f(t.ns / w.prefixes),
      f(t.cpuNs / 1e6),
      f(t.cpuNs / w.prefixes),
      f((w.prefixes / t.cpuNs) * 1e3, 2),
    ]);
  };
  for (const [name, family, per, seed] of specs) {
    if (only && !only.includes(name)) continue;
    // One workload alive at a time, so the heap (and GC work) is that of one stream.
    const w = buildWorkload(name, family, n, per, ctx, seed);
    const d = time(runs, () => decodeAll(w, ctx, false));
    if (d.check !== w.prefixes) throw new Error(`${w.name}: decoded ${d.check} prefixes, expected ${w.prefixes}`);
    row(w, 'decode', d);
    const dt = time(runs, () => decodeAll(w, ctx, true));
    row(w, 'decode+read', dt);
    const e = time(runs, () => {
      let bytes = 0;
      for (const g of w.groups) for (const m of encodeGroup(g, w.family, ctx)) bytes += m.length;
      return bytes;
    });
    row(w, 'encode', e);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((x, c) => (c < 1 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  '));
  const packed = data.find((d) => d.workload === 'packed-v4' && d.op === 'decode');
  const mixed = data.find((d) => d.workload === 'mixed-v4' && d.op === 'decode');
  const targets: TargetVerdict[] = [
    {
      name: 'packed UPDATE decode',
      goal: 'under 10 ns per prefix (CPU, best of runs)',
      measured: packed ? `${packed.cpuNsPerPrefix.toFixed(1)} ns/prefix` : 'not run (--only)',
      met: packed && packed.prefixes >= 1_000_000 ? packed.cpuNsPerPrefix < 10 : null,
    },
    {
      name: 'mixed full-table decode',
      goal: '1M prefixes in under 0.3 s (wall, best of runs)',
      measured: mixed ? `${(mixed.wallMs / 1000).toFixed(3)} s for ${mixed.prefixes} prefixes` : 'not run (--only)',
      met: mixed && mixed.prefixes >= 1_000_000 ? mixed.wallMs < 300 : null,
    },
  ];
  rec.finish({ prefixesPerWorkload: n, bestOf: runs, rows: data }, targets, { suffix: `-n${n}` });
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((c) => process.exit(c));
}
