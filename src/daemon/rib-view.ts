// `bgpctl show rib` rows and per-peer prefix counts, from the RIB's read-only views
// (bgp/rib/show.ts). Rows are produced lazily so a full table streams to the client.
import type { RibEntryView } from '../../bgp/rib/rib-types.js';
import { formatAsPath, formatCommunity } from '../../bgp/codec/format.js';
import type { Family, PathAttributes } from '../../bgp/codec/types.js';
import { formatIp, maskInPlace, parseIp } from '../../bgp/codec/address.js';
import type { RibQuery, RibRowView } from '../control/api.js';
import type { DaemonView } from './view.js';
import { attributeFilter, prefixFilter, withinOf } from './rib-filter.js';

const ORIGIN: Record<number, 'i' | 'e' | '?'> = { 0: 'i', 1: 'e', 2: '?' };

function attrColumns(
  a: PathAttributes,
): Pick<RibRowView, 'localPref' | 'med' | 'asPath' | 'origin' | 'communities' | 'largeCommunities' | 'originatorId' | 'clusterList'> {
  return {
    localPref: a.localPref,
    med: a.med,
    asPath: a.asPath ? formatAsPath(a.asPath) : '',
    origin: ORIGIN[a.origin ?? 2] ?? '?',
    communities: a.communities?.map(formatCommunity),
    largeCommunities: a.largeCommunities?.map((l) => `${l.globalAdmin}:${l.local1}:${l.local2}`),
    originatorId: a.originatorId,
    clusterList: a.clusterList,
  };
}

function entryRow(v: RibEntryView, detail: boolean): RibRowView {
  const row: RibRowView = {
    prefix: v.prefix,
    family: v.family,
    pathId: v.pathId || undefined,
    flags: { valid: v.valid, best: v.best, multipath: v.multipath, ibgp: v.ibgp, stale: v.stale, filtered: v.filtered },
    nextHop: v.nextHop,
    ...attrColumns(v.attrs),
    peer: v.peer,
  };
  if (detail && v.reason) row.reason = { step: stepOf(v.reason), text: v.reason };
  return row;
}

/** The decision code names steps "N name: words"; keep the number for the JSON field. */
function stepOf(reason: string): number {
  const m = /^(\d+)/.exec(reason);
  return m ? Number(m[1]) : 0;
}

function* longestMatch(d: DaemonView, addr: string): Generator<RibEntryView> {
  const v6 = addr.includes(':');
  for (let len = v6 ? 128 : 32; len >= 0; len--) {
    const text = `${maskAddress(addr, len, v6)}/${len}`;
    const paths = d.rib.lookup(text);
    if (paths.length) {
      yield* paths;
      return;
    }
  }
}

function maskAddress(addr: string, len: number, v6: boolean): string {
  const b = parseIp(addr) ?? Buffer.alloc(v6 ? 16 : 4);
  maskInPlace(b, len);
  return formatIp(b);
}

export function* ribRows(d: DaemonView, q: RibQuery): Generator<RibRowView> {
  const keep = attributeFilter(q, d.local.asNumber);
  for (const r of unfilteredRows(d, q)) if (!keep || keep(r)) yield r;
}

/** Loc-RIB paths for a prefix query: the exact prefix (or longest match), or with `longer` /
 * `shorter` every prefix inside it / covering it. */
function locRibByPrefix(d: DaemonView, q: RibQuery & { prefix: string }): Iterable<RibEntryView> {
  if (!q.prefix.includes('/')) return longestMatch(d, q.prefix);
  if (q.match === 'longer') {
    const fam: Family = q.prefix.includes(':') ? 'ipv6' : 'ipv4';
    const inside = withinOf(q.prefix);
    return d.rib.dumpLocRib(fam).filter((v) => inside(v.prefix));
  }
  if (q.match === 'shorter') return coveringPrefixes(d, q.prefix);
  return d.rib.lookup(q.prefix);
}

/** The prefix and every less specific prefix that covers it, most specific first. */
function* coveringPrefixes(d: DaemonView, prefix: string): Generator<RibEntryView> {
  const [addr, lenText] = prefix.split('/');
  const v6 = addr.includes(':');
  for (let len = Number(lenText); len >= 0; len--) yield* d.rib.lookup(`${maskAddress(addr, len, v6)}/${len}`);
}

function* unfilteredRows(d: DaemonView, q: RibQuery): Generator<RibRowView> {
  const family = q.family as Family | undefined;
  const detail = !!q.detail;
  const peerId = q.neighbor
    ? [...d.peers.values()].find((e) => e.id === q.neighbor || e.cfg.peerAddress === q.neighbor || e.cfg.key === q.neighbor)?.id
    : undefined;
  const prefixOk = prefixFilter(q);
  if (q.view === 'out') {
    for (const e of d.peers.values()) {
      if (peerId && e.id !== peerId) continue;
      for (const o of d.rib.adjRibOut(e.id, family)) {
        if (prefixOk && !prefixOk(o.prefix)) continue;
        yield {
          prefix: o.prefix,
          family: o.family,
          pathId: o.pathId || undefined,
          flags: { valid: true, best: true, multipath: false, ibgp: false, stale: false, filtered: false },
          nextHop: o.nextHop,
          ...attrColumns(o.attrs),
          peer: e.id,
        };
      }
    }
    return;
  }
  if (q.view === 'in') {
    for (const e of d.peers.values()) {
      if (peerId && e.id !== peerId) continue;
      for (const v of d.rib.adjRibIn(e.id, family, 'pre')) {
        if (prefixOk && !prefixOk(v.prefix)) continue;
        yield entryRow(v, detail);
      }
    }
    return;
  }
  // Loc-RIB: a prefix shows every path with --detail or when asked by prefix, else the selected ones.
  const source: Iterable<RibEntryView> = q.prefix ? locRibByPrefix(d, { ...q, prefix: q.prefix }) : d.rib.dumpLocRib(family);
  for (const group of byPrefix(source)) {
    // `=` marks an ECMP set (RFC 4271 §9.1.4 ties kept for the FIB): only with two or more paths.
    const ecmp = group.filter((v) => v.multipath).length > 1;
    for (const v of group) {
      if (peerId && v.peer !== peerId) continue;
      if (family && v.family !== family) continue;
      // Under longer/shorter many prefixes are listed: only the selected paths, as a table.
      if (q.match && q.match !== 'exact' && !detail && !v.best && !v.multipath) continue;
      yield entryRow({ ...v, multipath: ecmp && v.multipath }, detail || (!!q.prefix && (q.match ?? 'exact') === 'exact'));
    }
  }
}

/** The views come prefix by prefix; hand them on one prefix at a time. */
function* byPrefix(views: Iterable<RibEntryView>): Generator<RibEntryView[]> {
  let group: RibEntryView[] = [];
  for (const v of views) {
    if (group.length && (group[0].prefix !== v.prefix || group[0].family !== v.family)) {
      yield group;
      group = [];
    }
    group.push(v);
  }
  if (group.length) yield group;
}

export interface PeerCounts {
  received: number;
  accepted: number;
  sent: number;
  stale: number;
}

/** Prefix counts of one peer, per family or in total: received, accepted by policy, sent, stale. */
export function peerCounts(d: DaemonView, peerId: string, family?: Family): PeerCounts {
  return { ...d.rib.pathCounts(peerId, family), sent: d.rib.adjRibOutCount(peerId, family) };
}
